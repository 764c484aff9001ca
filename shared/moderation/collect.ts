/**
 * Reads what an upload really is and turns it into model inputs by channel: the sniffed kind picks
 * the modality (shared/modalities/registry.ts), which extracts. A post pulls in each medium it
 * references from beside it (in the same bucket, or in the same API request), so they are fused
 * into one verdict.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Uri } from '#shared/contracts/s3-uri.ts';
import { type ErrorCode, ModerationError } from '#shared/domain/errors.ts';
import type { Engines } from '#shared/engines/engines.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { readObject } from '#shared/ingest/read-object.ts';
import { type ContentKind, type Sniffed, sniff } from '#shared/ingest/sniff.ts';
import { byteSignals } from '#shared/matching/signals.ts';
import { nestedPostError } from '#shared/modalities/post.ts';
import { modalityFor } from '#shared/modalities/registry.ts';
import type { CollectContext, Collected } from '#shared/modalities/types.ts';

/** Where an upload and the media a post references are read from: a bucket, or an API request's parts. */
export interface ObjectSource {
  /** How evidence names the object at `key`. */
  uri(key: string): string;
  /** The object's bytes; a missing one throws a ModerationError with `notFound`. */
  read(key: string, notFound: ErrorCode): Promise<Uint8Array>;
}

/** Objects of one bucket, each read with the object size limit. */
export function s3Objects(s3: S3Client, bucket: string): ObjectSource {
  return {
    uri: (key) => s3Uri({ bucket, key }),
    read: (key, notFound) => readObject(s3, { bucket, key, maxBytes: LIMITS.maxObjectBytes, notFound }),
  };
}

/** The parts of one request, by name (the API's media); evidence names them as they are named here. */
export function inlineObjects(parts: ReadonlyMap<string, Uint8Array>): ObjectSource {
  return {
    uri: (key) => key,
    async read(key, notFound) {
      const bytes = parts.get(key);
      if (!bytes) throw new ModerationError(notFound, `${key} is not part of the request`);
      return bytes;
    },
  };
}

/**
 * The kinds decoded with ffmpeg (and, for speech, PocketSphinx). Animated GIF and WebP are not:
 * sharp decodes their frames (shared/extract/animation.ts).
 */
export const FFMPEG_KINDS: ReadonlySet<ContentKind> = new Set<ContentKind>(['audio', 'video']);

/**
 * Thrown, from the sniffed type alone, when an upload (or a post's medium) needs ffmpeg and this
 * handler forwards such uploads (`MEDIA_DECODING=forward`): nothing has been decoded yet.
 */
export class MediaDecodingDeferral extends Error {
  override name = 'MediaDecodingDeferral';
  constructor(
    readonly kind: ContentKind,
    readonly key: string,
  ) {
    super(`${kind} is decoded by the media function (MEDIA_DECODING=forward)`);
  }
}

export interface CollectOptions {
  objects: ObjectSource;
  key: string;
  /** Side of the image model's square input. */
  imageSize: number;
  /** OCR, speech and ffmpeg, with the audio/video limits of the handler's mode. */
  engines: Engines;
  /** Hash the object (and a post's media) for bank matching. @default true */
  signals?: boolean;
  /**
   * What the caller knows the object is, instead of sniffing it: only for bytes whose kind the
   * caller made (the API's JSON text fields are text, even when they read like a post or SVG).
   * @default sniffed from the bytes
   */
  sniffed?: Sniffed;
  /** Throw `MediaDecodingDeferral` for audio and video instead of decoding them. @default false */
  deferMediaDecoding?: boolean;
}

function contextFor(options: CollectOptions, key: string): CollectContext {
  return {
    source: options.objects.uri(key),
    imageSize: options.imageSize,
    engines: options.engines,
    signals: options.signals !== false,
    key,
    async collectObject(mediaKey) {
      const bytes = await options.objects.read(mediaKey, 'MEDIA_NOT_FOUND');
      const sniffed = await sniff(bytes);
      if (sniffed.kind === 'post') throw nestedPostError(mediaKey);
      deferIfDecoded(options, sniffed, mediaKey);
      return collectLeaf(bytes, sniffed, contextFor(options, mediaKey));
    },
  };
}

/** A post's medium defers the whole post: its one verdict fuses every part. */
function deferIfDecoded(options: CollectOptions, sniffed: Sniffed, key: string): void {
  if (options.deferMediaDecoding && FFMPEG_KINDS.has(sniffed.kind))
    throw new MediaDecodingDeferral(sniffed.kind, key);
}

/** One object's model inputs; any object carries at least its MD5 and SHA-256 (exact-copy banks). */
async function collectLeaf(bytes: Uint8Array, sniffed: Sniffed, ctx: CollectContext): Promise<Collected> {
  const out = await modalityFor(sniffed.kind).collect(bytes, sniffed, ctx);
  if (ctx.signals && !out.signals?.some((s) => s.source === ctx.source))
    out.signals = [...byteSignals(bytes, ctx.source), ...(out.signals ?? [])];
  return out;
}

/** The model inputs of one object's bytes. */
export async function collect(bytes: Uint8Array, options: CollectOptions): Promise<Collected> {
  const sniffed = options.sniffed ?? (await sniff(bytes));
  deferIfDecoded(options, sniffed, options.key);
  return collectLeaf(bytes, sniffed, contextFor(options, options.key));
}
