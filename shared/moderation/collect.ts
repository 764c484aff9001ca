/**
 * Reads what an upload really is and turns it into model inputs by channel: the sniffed kind picks
 * the modality (shared/modalities/registry.ts), which extracts. A post pulls in each medium it
 * references from beside it in the same bucket, so they are fused into one verdict.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Uri } from '#shared/contracts/s3-uri.ts';
import type { Engines } from '#shared/engines/engines.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { readObject } from '#shared/ingest/read-object.ts';
import { type Sniffed, sniff } from '#shared/ingest/sniff.ts';
import { byteSignals } from '#shared/matching/signals.ts';
import { nestedPostError } from '#shared/modalities/post.ts';
import { modalityFor } from '#shared/modalities/registry.ts';
import type { CollectContext, Collected } from '#shared/modalities/types.ts';

export interface CollectOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  /** Side of the image model's square input. */
  imageSize: number;
  /** OCR, speech and ffmpeg, with the audio/video limits of the handler's mode. */
  engines: Engines;
  /** Hash the object (and a post's media) for bank matching. @default true */
  signals?: boolean;
}

function contextFor(options: CollectOptions, key: string): CollectContext {
  const { s3, bucket } = options;
  return {
    source: s3Uri({ bucket, key }),
    imageSize: options.imageSize,
    engines: options.engines,
    signals: options.signals !== false,
    s3,
    bucket,
    key,
    async collectObject(mediaKey) {
      const bytes = await readObject(s3, {
        bucket,
        key: mediaKey,
        maxBytes: LIMITS.maxObjectBytes,
        notFound: 'MEDIA_NOT_FOUND',
      });
      const sniffed = await sniff(bytes);
      if (sniffed.kind === 'post') throw nestedPostError(mediaKey);
      return collectLeaf(bytes, sniffed, contextFor(options, mediaKey));
    },
  };
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
  const sniffed = await sniff(bytes);
  return collectLeaf(bytes, sniffed, contextFor(options, options.key));
}
