/**
 * What a modality is (shared/modalities/registry.ts lists them): the sniffed kinds it takes, how it
 * turns bytes into model inputs, and the fusion channels those inputs belong to, each with how it
 * is scored and what evidence it leaves in the verdict.
 */
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Evidence } from '#shared/domain/verdict.ts';
import type { Engines } from '#shared/engines/engines.ts';
import type { ContentKind, Sniffed } from '#shared/ingest/sniff.ts';
import type { Signal } from '#shared/matching/types.ts';

/** A text to score (typed text window, text read from an image, a stretch of transcript) and where it came from. */
export interface TextItem {
  source: string;
  text: string;
  /** Character range within its text (typed text). */
  range?: [number, number];
  /** Frame time (video, animation) or speech start, ms. */
  timestampMs?: number;
  /** [first, last] frame time the text was seen, or the speech range, ms. */
  timeRangeMs?: [number, number];
}

/** An RGB uint8 image of the image model's input size. */
export interface ImageItem {
  source: string;
  pixels: Uint8Array;
  /** Frame time in a video or animation, ms. */
  timestampMs?: number;
}

/** The model a channel's items go to: items of a `text` channel are TextItems, of an `image` channel ImageItems. */
export type ChannelModel = 'text' | 'image';

export interface ChannelItemOf {
  text: TextItem;
  image: ImageItem;
}

/** One evidence channel of the fusion classifier, whose items go to model `M`. */
export interface ChannelSpecOf<M extends ChannelModel> {
  /** Column name in the fusion model's manifest (`preprocess.channels`). */
  readonly name: string;
  readonly model: M;
  /** Taxonomy categories this channel's model scores; the others stay unscored when only it is present. */
  readonly categories: readonly Category[];
  /** One item's model scores → its evidence scores and what it contributes to the channel. @default as they are */
  readonly score?: (raw: Record<string, number>) => {
    channel: Record<string, number>;
    evidence: Record<string, number>;
  };
  /** The verdict evidence of one item. */
  readonly evidence: (item: ChannelItemOf[M], scores: Record<string, number>) => Evidence;
}

/** Any channel: a text channel or an image channel. */
export type ChannelSpec = { [M in ChannelModel]: ChannelSpecOf<M> }[ChannelModel];

/** Everything one upload contributes to the models, by channel, before any inference. */
export interface Collected {
  contentType: string;
  /** Model inputs by channel name (ImageItems for image channels, TextItems for text ones). */
  channels: Record<string, (TextItem | ImageItem)[]>;
  /** Part of the content went unscored (over a limit, or after the end of an image); see `notes`. */
  partial: boolean;
  /** Why part went unscored, when it was not a size limit (they become verdict reasons). */
  notes?: string[];
  /**
   * Evidence found without the channel's model (speech keyword spotting, shared/speech/keywords.ts),
   * by channel name: its scores are on the verdict's calibrated scale, so they enter the channel's
   * scores by max and floor the fused categories (shared/moderation/score.ts, docs/MEDIA.md).
   */
  spotted?: Record<string, Evidence[]>;
  /** Engines that ran in the function (OCR, VAD, speech-to-text) → version, for modelVersions. */
  engines?: Record<string, string>;
  /** Hashes of the upload for bank matching (shared/matching/signals.ts): of its bytes, image, frames; a post's include its media's. */
  signals?: Signal[];
}

export interface CollectContext {
  /** Where the object is (`s3://bucket/key`, or the API request's part): evidence names it. */
  source: string;
  /** Side of the image model's square input. */
  imageSize: number;
  engines: Engines;
  /** The object's key, for a post to resolve its media beside it. */
  key: string;
  /** Reads another object from beside this one and collects it as a leaf (a post's media). */
  collectObject(key: string): Promise<Collected>;
  /** Hash the upload for bank matching (`Collected.signals`); off when no bank is loaded. @default true */
  signals?: boolean;
}

export interface Modality {
  readonly name: string;
  readonly kinds: readonly ContentKind[];
  /** The channels its inputs can land in, in fusion column order for the ones it introduces. */
  readonly channels: readonly ChannelSpec[];
  collect(bytes: Uint8Array, sniffed: Sniffed, ctx: CollectContext): Promise<Collected>;
}

/** A channel spec with its item type checked against its model. */
export const defineChannel = <M extends ChannelModel>(spec: ChannelSpecOf<M>): ChannelSpecOf<M> => spec;

export function emptyCollected(contentType: string): Collected {
  return { contentType, channels: {}, partial: false };
}

/** Adds items to a channel. */
export function addItems(
  target: Collected,
  channel: ChannelSpec,
  items: readonly (TextItem | ImageItem)[],
): void {
  if (items.length > 0) target.channels[channel.name] = [...(target.channels[channel.name] ?? []), ...items];
}

/** Adds one collection into another (a post and its media, an image and its extra frames). */
export function mergeCollected(target: Collected, extra: Collected): Collected {
  for (const [name, items] of Object.entries(extra.channels)) {
    if (items.length) target.channels[name] = [...(target.channels[name] ?? []), ...items];
  }
  if (extra.partial) target.partial = true;
  if (extra.notes?.length) target.notes = [...(target.notes ?? []), ...extra.notes];
  for (const [name, found] of Object.entries(extra.spotted ?? {})) addSpotted(target, name, found);
  if (extra.engines) target.engines = { ...target.engines, ...extra.engines };
  if (extra.signals?.length) target.signals = [...(target.signals ?? []), ...extra.signals];
  return target;
}

/** Adds evidence a channel's model did not produce (keyword spotting) to that channel. */
export function addSpotted(target: Collected, channel: string, found: readonly Evidence[]): void {
  if (found.length > 0)
    target.spotted = { ...target.spotted, [channel]: [...(target.spotted?.[channel] ?? []), ...found] };
}

/** Records that part of the upload went unscored, and why (it becomes a verdict reason). */
export function unscored(out: Collected, why: string): void {
  out.partial = true;
  out.notes = [...(out.notes ?? []), why];
}

const EXCERPT_CHARS = 280;
/** Combining marks one character may carry (Thai, Vietnamese, pointed Hebrew need up to three; Zalgo stacks dozens). */
const MAX_MARKS = 3;
/** A character and the marks on it (in NFD, so precomposed letters show their marks too). */
const MARKED = /(^|\P{M})(\p{M}+)/gu;
/**
 * Format characters (bidi embeddings, overrides and isolates U+2066–2069, zero-width, tags) and
 * controls, but tab, newline and the joiner inside an emoji sequence (👨‍👩‍👧).
 */
const INVISIBLE_OR_CONTROL =
  /(?![\t\n])(?!(?<=\p{Extended_Pictographic}[\ufe0f\u{1f3fb}-\u{1f3ff}]?)\u200d(?=\p{Extended_Pictographic}))[\p{Cf}\p{Cc}]/gu;

/**
 * What a reviewer reads: the item's text without the noise that hides or reorders it on screen
 * (bidi controls, invisible characters, combining marks stacked past MAX_MARKS), in NFC. Only the evidence
 * is cleaned; the model scored `item.text`, and `range` still points into the original text.
 */
export function cleanExcerpt(text: string): string {
  const clean = text
    .replace(INVISIBLE_OR_CONTROL, '')
    .normalize('NFD')
    // A character under more marks than any script uses is Zalgo: it is shown bare.
    .replace(MARKED, (all, base: string, marks: string) => ([...marks].length > MAX_MARKS ? base : all))
    .normalize('NFC');
  if (clean.length <= EXCERPT_CHARS) return clean;
  // Cut between code points, never inside a surrogate pair.
  const cut = /[\ud800-\udbff]/.test(clean[EXCERPT_CHARS - 1] ?? '') ? EXCERPT_CHARS - 1 : EXCERPT_CHARS;
  return `${clean.slice(0, cut)}…`;
}

/** Evidence of a text item: a clean excerpt, with where (characters) or when (media time) it was. */
export function textEvidence(item: TextItem, scores: Record<string, number>): Evidence {
  return {
    source: item.source,
    excerpt: cleanExcerpt(item.text),
    ...(item.range && { range: [...item.range] as [number, number] }),
    ...(item.timestampMs !== undefined && { timestampMs: item.timestampMs }),
    ...(item.timeRangeMs && { timeRangeMs: [...item.timeRangeMs] as [number, number] }),
    scores,
  };
}
