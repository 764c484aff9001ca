/**
 * The signals of an upload for bank matching: MD5 and SHA-256 of its bytes (exact copies), and PDQ
 * of its pixels — one hash for a still image, one per sampled frame (with its time) for an animated
 * GIF/WebP or a video. Consecutive frames that hash within `skipWithin` bits of the last frame kept
 * are dropped, so a static shot does not fill the verdict with copies of one hash.
 *
 * Pixels are hashed as decoded, without EXIF rotation or alpha flattening, as the reference hasher
 * does (a rotated copy is found by dihedral hashing, not by guessing the orientation).
 */
import { createHash } from 'node:crypto';
import sharp, { type OutputInfo } from 'sharp';
import { ModerationError } from '#shared/domain/errors.ts';
import { readImageHeader } from '#shared/extract/animation.ts';
import { planImageDecode } from '#shared/extract/decode-budget.ts';
import { extractVideo } from '#shared/extract/video.ts';
import { type ImageLimits, LIMITS, type VideoLimits } from '#shared/ingest/limits.ts';
import { DEFAULT_MEDIA_TOOLS, type MediaTools } from '#shared/media/ffmpeg.ts';
import { type Dihedral, hammingDistance, pdqDihedralHashes, pdqHash } from './pdq.ts';
import type { PdqHash, Signal } from './types.ts';

/** Frames hashing this close to the last frame kept are skipped (PDQ noise between near-identical frames is < 10 bits). */
export const DEFAULT_SKIP_WITHIN = 8;

export interface FrameOptions {
  /** Skip a frame whose PDQ is within this many bits of the last frame kept; -1 keeps every frame. @default DEFAULT_SKIP_WITHIN */
  skipWithin?: number;
}

export interface ImageSignalOptions extends FrameOptions {
  limits?: ImageLimits;
  /** Most frames hashed in an animated GIF/WebP, spread over its running time. @default LIMITS.video.maxAnimationFrames */
  maxAnimationFrames?: number;
}

/** A frame to hash: encoded bytes (PNG from extractVideo, or any format sharp reads) and its time. */
export interface EncodedFrame {
  timestampMs: number;
  png: Uint8Array;
}

/** A decoded frame: interleaved 8-bit pixels. */
export interface DecodedFrame {
  timestampMs: number;
  pixels: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** MD5 and SHA-256 of the bytes. */
export function byteSignals(bytes: Uint8Array, source: string): Signal[] {
  return [
    { signalType: 'md5', signal: createHash('md5').update(bytes).digest('hex'), source },
    { signalType: 'sha256', signal: createHash('sha256').update(bytes).digest('hex'), source },
  ];
}

function decodeError(cause: unknown, limits: ImageLimits): ModerationError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/pixel limit/i.test(message)) {
    return new ModerationError('IMAGE_TOO_MANY_PIXELS', `image exceeds ${limits.maxPixels} pixels`, {
      cause,
    });
  }
  return new ModerationError('IMAGE_DECODE_FAILED', `image could not be decoded: ${message}`, { cause });
}

/** Grey+alpha → grey; everything else as decoded (alpha is ignored by the hasher). */
function asHashable(data: Uint8Array, width: number, height: number, channels: number) {
  if (channels === 2) {
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = data[i * 2] as number;
    return { pixels: grey, channels: 1 as const };
  }
  if (channels === 1 || channels === 3 || channels === 4)
    return { pixels: data, channels: channels as 1 | 3 | 4 };
  throw new ModerationError('IMAGE_DECODE_FAILED', `image decoded to ${channels} channels`);
}

/** Decodes one image (page `page` of an animation) to pixels the hasher takes. */
async function decodeForPdq(bytes: Uint8Array, page: number, limits: ImageLimits) {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, {
      limitInputPixels: limits.maxPixels,
      failOn: 'truncated',
      animated: false,
      page,
    })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw decodeError(cause, limits);
  }
  const { data, info } = decoded;
  const h = asHashable(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    info.width,
    info.height,
    info.channels,
  );
  return { ...h, width: info.width, height: info.height };
}

/** PDQ of one encoded image (page `page` of an animation). */
export async function pdqOfImage(
  bytes: Uint8Array,
  page = 0,
  limits: ImageLimits = LIMITS.image,
): Promise<PdqHash> {
  const d = await decodeForPdq(bytes, page, limits);
  return pdqHash(d.pixels, d.width, d.height, d.channels);
}

/**
 * PDQ of the image's eight rotations and flips (the reference's `--pdqdih`): banking all eight
 * lets a rotated or mirrored re-upload match with its one hash.
 */
export async function pdqDihedralOfImage(
  bytes: Uint8Array,
  limits: ImageLimits = LIMITS.image,
): Promise<{ hashes: Record<Dihedral, string>; quality: number }> {
  const d = await decodeForPdq(bytes, 0, limits);
  return pdqDihedralHashes(d.pixels, d.width, d.height, d.channels);
}

/**
 * A PDQ signal as the reference hasher prints it, `<hash>,<quality>,<path>`, with `#t=<ms>` after
 * the path for a frame of a video or animation (what `npm run hash` prints and banks import).
 */
export function formatPdqLine(signal: Signal, path: string): string {
  const frame = signal.frameMs === undefined ? '' : `#t=${signal.frameMs}`;
  return `${signal.signal},${signal.quality ?? 0},${path}${frame}`;
}

/** Keeps a frame unless it hashes within `skipWithin` of the last frame kept. */
function frameFilter(skipWithin: number) {
  let last: string | undefined;
  return (hash: string): boolean => {
    if (last !== undefined && skipWithin >= 0 && hammingDistance(hash, last) <= skipWithin) return false;
    last = hash;
    return true;
  };
}

function pdqSignal(h: PdqHash, source: string, frameMs?: number): Signal {
  return {
    signalType: 'pdq',
    signal: h.hash,
    quality: h.quality,
    source,
    ...(frameMs !== undefined ? { frameMs } : {}),
  };
}

/**
 * PDQ signals of a video's or animation's frames, in order, each with `frameMs`; near-identical
 * consecutive frames are skipped (see `FrameOptions.skipWithin`).
 */
export async function frameSignals(
  frames: readonly (EncodedFrame | DecodedFrame)[],
  source: string,
  options: FrameOptions & { limits?: ImageLimits } = {},
): Promise<Signal[]> {
  const keep = frameFilter(options.skipWithin ?? DEFAULT_SKIP_WITHIN);
  const out: Signal[] = [];
  for (const frame of frames) {
    const h =
      'png' in frame
        ? await pdqOfImage(frame.png, 0, options.limits)
        : pdqHash(frame.pixels, frame.width, frame.height, frame.channels);
    if (keep(h.hash)) out.push(pdqSignal(h, source, frame.timestampMs));
  }
  return out;
}

/**
 * The signals of an image upload: MD5 and SHA-256 of the bytes, then its PDQ — or, for an animated
 * GIF/WebP, the PDQ of frames picked evenly over its running time, each with its `frameMs`.
 */
export async function imageSignals(
  bytes: Uint8Array,
  source: string,
  options: ImageSignalOptions = {},
): Promise<Signal[]> {
  const limits = options.limits ?? LIMITS.image;
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `image is over the ${limits.maxBytes}-byte limit`);
  }
  // The header decides the frames, and the upload's decode budget is checked before any pixel.
  const header = await readImageHeader(bytes);
  const pages = planImageDecode(
    header,
    limits,
    options.maxAnimationFrames ?? LIMITS.video.maxAnimationFrames,
  ).frames;
  const signals = byteSignals(bytes, source);
  if (pages.length === 0) {
    signals.push(pdqSignal(await pdqOfImage(bytes, 0, limits), source));
    return signals;
  }
  const keep = frameFilter(options.skipWithin ?? DEFAULT_SKIP_WITHIN);
  for (const { page, timestampMs } of pages) {
    const h = await pdqOfImage(bytes, page, limits);
    if (keep(h.hash)) signals.push(pdqSignal(h, source, timestampMs));
  }
  return signals;
}

/**
 * The signals of a video upload: MD5 and SHA-256 of the bytes and the PDQ of the frames
 * `extractVideo` samples (first frame, scene changes, a floor rate), with their times.
 */
export async function videoSignals(
  bytes: Uint8Array,
  mime: string,
  source: string,
  options: FrameOptions & { limits?: VideoLimits; tools?: MediaTools } = {},
): Promise<Signal[]> {
  const video = await extractVideo(
    bytes,
    mime,
    options.limits ?? LIMITS.video,
    LIMITS.audio,
    options.tools ?? DEFAULT_MEDIA_TOOLS,
  );
  const frameOptions = options.skipWithin === undefined ? {} : { skipWithin: options.skipWithin };
  return [...byteSignals(bytes, source), ...(await frameSignals(video.frames, source, frameOptions))];
}
