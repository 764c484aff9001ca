/** Typed text: normalised, cut into windows, each window scored by the text model. */
import { ModerationError } from '#shared/domain/errors.ts';
import type { Category } from '#shared/domain/taxonomy.ts';
import { extractText } from '#shared/extract/text.ts';
import { decodeUtf8 } from '#shared/ingest/sniff.ts';
import {
  addItems,
  type Collected,
  defineChannel,
  emptyCollected,
  type Modality,
  textEvidence,
} from './types.ts';

/** What the text model scores; every text channel (typed, OCR, speech) inherits it. */
export const TEXT_MODEL_CATEGORIES: readonly Category[] = ['hate', 'harassment', 'offensive'];

export const TEXT_CHANNEL = defineChannel({
  name: 'text',
  model: 'text',
  categories: TEXT_MODEL_CATEGORIES,
  evidence: textEvidence,
});

/** The windows of a text as channel items (also a post's caption). */
export function collectText(raw: string, source: string, contentType: string): Collected {
  const text = extractText(raw);
  const out = emptyCollected(contentType);
  addItems(
    out,
    TEXT_CHANNEL,
    text.windows.map((w) => ({ source, text: w.text, range: [w.start, w.end] as [number, number] })),
  );
  out.partial = text.truncated;
  return out;
}

export const textModality: Modality = {
  name: 'text',
  kinds: ['text'],
  channels: [TEXT_CHANNEL],
  async collect(bytes, sniffed, ctx) {
    const raw = decodeUtf8(bytes);
    if (raw === undefined) throw new ModerationError('UNREADABLE_TEXT', 'the text is not valid UTF-8');
    return collectText(raw, ctx.source, sniffed.mime);
  },
};
