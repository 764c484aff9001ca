/**
 * The modalities, in one list: registering a modality here is the only edit besides its own module
 * (docs/ARCHITECTURE.md, "Adding a modality"). Fusion channels come from here: their order is the
 * column order of the fusion model's input, so a new channel goes last and the fusion model is
 * retrained (`npm run train:fusion`) with it.
 */
import type { ContentKind } from '#shared/ingest/sniff.ts';
import { audioModality } from './audio.ts';
import { imageModality } from './image.ts';
import { postModality } from './post.ts';
import { textModality } from './text.ts';
import type { ChannelSpec, Modality } from './types.ts';
import { videoModality } from './video.ts';

export const MODALITIES: readonly Modality[] = [
  textModality,
  imageModality,
  audioModality,
  videoModality,
  postModality,
];

/** Every channel, once, in fusion column order (first appearance in MODALITIES). */
export const CHANNEL_SPECS: readonly ChannelSpec[] = [
  ...new Map(MODALITIES.flatMap((m) => m.channels).map((c) => [c.name, c])).values(),
];

/** Channel names in fusion column order: text, image, ocr, speech. */
export const CHANNELS: readonly string[] = CHANNEL_SPECS.map((c) => c.name);

export class UnknownModalityError extends Error {
  override name = 'UnknownModalityError';
}

/** The modality that takes a sniffed kind. */
export function modalityFor(kind: ContentKind): Modality {
  const found = MODALITIES.find((m) => m.kinds.includes(kind));
  if (!found) {
    throw new UnknownModalityError(
      `no modality takes ${JSON.stringify(kind)}; registered: ${MODALITIES.map((m) => `${m.name} (${m.kinds.join(', ')})`).join(', ')}`,
    );
  }
  return found;
}
