/**
 * Animated GIF and WebP: what the header says, and which frames to look at. Frames are picked evenly
 * over the animation's running time (from the per-frame delays in the header), at most `maxFrames`,
 * so a long animation is covered end to end; each picked frame is then moderated like an image, with
 * its timestamp.
 */
import sharp from 'sharp';
import { ModerationError } from '#shared/domain/errors.ts';

export interface AnimationFrame {
  page: number;
  timestampMs: number;
}

/** What an image's header says, read without decoding a pixel. */
export interface ImageHeader {
  format: string;
  /** Width of one frame (the canvas of an animation). */
  width: number;
  /** Height of one frame. */
  pageHeight: number;
  /** Frames of an animation (pages of a TIFF); 1 for a still image. */
  pages: number;
  /** Per-frame delays (ms), when the header has them. */
  delays?: readonly number[];
  /** A progressive JPEG: its decode time grows with its scan count, which only decoding reveals. */
  progressive?: boolean;
}

/** Default delay when a frame states none (browsers treat 0–10 ms as 100 ms). */
const DEFAULT_DELAY_MS = 100;

/**
 * Reads the header: size, frame count and delays. Only the container is parsed (WebP chunks, GIF
 * blocks, TIFF directories); an image whose header cannot be read is `IMAGE_DECODE_FAILED`.
 */
export async function readImageHeader(bytes: Uint8Array): Promise<ImageHeader> {
  try {
    // No pixel limit here: the header of a pixel bomb is what planImageDecode refuses, by its size.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    const pages = Math.max(1, meta.pages ?? 1);
    return {
      format: meta.format ?? 'unknown',
      width: meta.width ?? 0,
      // Without `pages`, sharp reports one frame's height.
      pageHeight: meta.height ?? 0,
      pages,
      ...(meta.delay?.length === pages && { delays: meta.delay }),
      ...(meta.format === 'jpeg' && meta.isProgressive && { progressive: true }),
    };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ModerationError('IMAGE_DECODE_FAILED', `image could not be decoded: ${message}`, { cause });
  }
}

/** Picks up to `maxFrames` pages spread over time; a still image gives no frames. */
export function pickFrames(delays: readonly number[], maxFrames: number): AnimationFrame[] {
  const starts: number[] = [];
  let t = 0;
  for (const d of delays) {
    starts.push(t);
    t += d > 10 ? d : DEFAULT_DELAY_MS;
  }
  if (starts.length <= 1) return [];
  const picked = new Map<number, number>();
  const n = Math.min(maxFrames, starts.length);
  for (let i = 0; i < n; i++) {
    const target = (t * i) / n;
    // The last page that has started by `target`.
    let page = 0;
    while (page + 1 < starts.length && (starts[page + 1] ?? Infinity) <= target) page++;
    picked.set(page, starts[page] ?? 0);
  }
  return [...picked].map(([page, timestampMs]) => ({ page, timestampMs }));
}

/** The frames to moderate in an animated image, or [] for a still one. */
export function animationFrames(header: ImageHeader, maxFrames: number): AnimationFrame[] {
  if (header.pages <= 1) return [];
  const delays = header.delays ?? Array.from({ length: header.pages }, () => DEFAULT_DELAY_MS);
  return pickFrames(delays, maxFrames);
}
