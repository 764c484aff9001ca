import type { S3Client } from '@aws-sdk/client-s3';
import { ModerationError } from '#shared/domain/errors.ts';
import { extractImage } from '#shared/extract/image.ts';
import { parsePostManifest, resolveMediaKey } from '#shared/extract/post.ts';
import { extractText, type TextWindow } from '#shared/extract/text.ts';
import { LIMITS, type MediaMode, mediaLimits } from '#shared/ingest/limits.ts';
import { readObject } from '#shared/ingest/read-object.ts';
import { decodeUtf8, type Sniffed, sniff } from '#shared/ingest/sniff.ts';
import { trailingBytes } from '#shared/ingest/trailing.ts';
import {
  collectImageExtras,
  collectMedia,
  defaultMediaDeps,
  type MediaTextItem,
  mergeMedia,
} from './collect-media.ts';

/** A text window to score, and where it came from. */
export interface TextItem {
  source: string;
  window: TextWindow;
}

export interface ImageItem {
  source: string;
  pixels: Uint8Array;
  /** Frame time in a video or animation, ms. */
  timestampMs?: number;
}

/** Everything one upload contributes to the models, by channel, before any inference. */
export interface Collected {
  contentType: string;
  texts: TextItem[];
  images: ImageItem[];
  /** Part of the content went unscored (over a limit, or after the end of an image); see `notes`. */
  partial: boolean;
  /** Why part went unscored, when it was not a size limit (they become verdict reasons). */
  notes?: string[];
  /** Text read from images and video frames: the `ocr` channel (shared/moderation/collect-media.ts). */
  ocr?: MediaTextItem[];
  /** Transcribed speech from audio and video: the `speech` channel. */
  speech?: MediaTextItem[];
  /** Engines that ran in the function (OCR, VAD, speech-to-text) → version, for modelVersions. */
  engines?: Record<string, string>;
}

export interface CollectContext {
  s3: S3Client;
  bucket: string;
  key: string;
  imageSize: number;
  /** Whose audio/video limits apply (shared/ingest/limits.ts). @default 'sync' */
  mediaMode?: MediaMode;
}

const uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

async function collectLeaf(
  bytes: Uint8Array,
  sniffed: Sniffed,
  source: string,
  imageSize: number,
  mediaMode: MediaMode = 'sync',
): Promise<Collected> {
  if (sniffed.kind === 'audio' || sniffed.kind === 'video')
    return collectMedia(bytes, sniffed, source, imageSize, defaultMediaDeps, mediaLimits(mediaMode));
  if (sniffed.kind === 'image') {
    const { pixels } = await extractImage(bytes, imageSize);
    const extras = await collectImageExtras(bytes, source, imageSize);
    // A polyglot (an image with an archive or script after its end): the image is scored, the rest
    // is not, so the verdict can't be `allow` on the image alone.
    const trailing = trailingBytes(bytes, sniffed.mime);
    return mergeMedia(
      {
        contentType: sniffed.mime,
        texts: [],
        images: [{ source, pixels }],
        partial: trailing > 0,
        ...(trailing > 0 && { notes: [`${trailing} bytes after the end of the image were not moderated`] }),
      },
      extras,
    );
  }
  const raw = decodeUtf8(bytes);
  if (raw === undefined) throw new ModerationError('UNREADABLE_TEXT', 'the text is not valid UTF-8');
  const text = extractText(raw);
  return {
    contentType: sniffed.mime,
    texts: text.windows.map((window) => ({ source, window })),
    images: [],
    partial: text.truncated,
  };
}

/**
 * Reads what an upload really is and turns it into model inputs. A post pulls in its caption and
 * each medium it references (from beside it in the same bucket), so they are fused into one verdict.
 */
export async function collect(bytes: Uint8Array, ctx: CollectContext): Promise<Collected> {
  const sniffed = await sniff(bytes);
  const source = uri(ctx.bucket, ctx.key);
  if (sniffed.kind !== 'post') return collectLeaf(bytes, sniffed, source, ctx.imageSize, ctx.mediaMode);

  const manifest = parsePostManifest(decodeUtf8(bytes) ?? '');
  const collected: Collected = {
    contentType: 'application/vnd.moderation.post+json',
    texts: [],
    images: [],
    partial: false,
  };
  if (manifest.text?.trim()) {
    const caption = extractText(manifest.text);
    collected.texts.push(...caption.windows.map((window) => ({ source: `${source}#text`, window })));
    collected.partial ||= caption.truncated;
  }
  const keys = manifest.media.map((ref) => resolveMediaKey(ctx.key, ref));
  const media = await Promise.all(
    keys.map(async (key) => {
      const mediaBytes = await readObject(ctx.s3, {
        bucket: ctx.bucket,
        key,
        maxBytes: LIMITS.maxObjectBytes,
        notFound: 'MEDIA_NOT_FOUND',
      });
      const mediaSniffed = await sniff(mediaBytes);
      if (mediaSniffed.kind === 'post') {
        throw new ModerationError(
          'INVALID_MANIFEST',
          `post media ${key} is itself a post; posts do not nest`,
        );
      }
      return collectLeaf(mediaBytes, mediaSniffed, uri(ctx.bucket, key), ctx.imageSize, ctx.mediaMode);
    }),
  );
  for (const m of media) {
    collected.texts.push(...m.texts);
    collected.images.push(...m.images);
    collected.partial ||= m.partial;
    if (m.notes) collected.notes = [...(collected.notes ?? []), ...m.notes];
    mergeMedia(collected, { ocr: m.ocr, speech: m.speech, engines: m.engines });
  }
  return collected;
}
