/** Typed text: normalised, cut into windows, each window scored by the text model. */
import { ModerationError } from '#shared/domain/errors.ts';
import type { Category } from '#shared/domain/taxonomy.ts';
import { extractText } from '#shared/extract/text.ts';
import { ACCEPTED_TEXT_ENCODINGS, decodeText } from '#shared/ingest/sniff.ts';
import {
  addItems,
  type Collected,
  defineChannel,
  emptyCollected,
  type Modality,
  textEvidence,
} from './types.ts';

/** What the text model scores; every text channel (typed, OCR, speech) inherits it. */
export const TEXT_MODEL_CATEGORIES: readonly Category[] = [
  'hate',
  'harassment',
  'offensive',
  'violence',
  'sexual',
];

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
    text.windows.map((w) => {
      // The window's text is trimmed: its range is where that trimmed text is (term-list spans add to it).
      const start = text.text.indexOf(w.text, w.start);
      return { source, text: w.text, range: [start, start + w.text.length] as [number, number] };
    }),
  );
  out.partial = text.truncated;
  return out;
}

export const textModality: Modality = {
  name: 'text',
  kinds: ['text'],
  channels: [TEXT_CHANNEL],
  async collect(bytes, sniffed, ctx) {
    // The same decoding sniff used, so the text scored is the text that was recognised.
    const decoded = decodeText(bytes);
    if (!decoded.ok)
      throw new ModerationError(
        'UNREADABLE_TEXT',
        `the text is unreadable (${decoded.reason}); text must be ${ACCEPTED_TEXT_ENCODINGS}`,
      );
    return collectText(decoded.text, ctx.source, sniffed.mime);
  },
};
