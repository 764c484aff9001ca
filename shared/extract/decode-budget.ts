/**
 * The work budget of one image upload, checked from its header before any pixel is decoded: frame
 * size, frame count, and the pixels the planned decode will produce over all the frames it must go
 * through. What passes is decoded either in this process (small still images) or in the killable
 * decoder (shared/extract/decode-worker.ts), which also enforces the time limit.
 */
import { ModerationError } from '#shared/domain/errors.ts';
import type { ImageLimits } from '#shared/ingest/limits.ts';
import { type AnimationFrame, animationFrames, type ImageHeader } from './animation.ts';

export interface DecodePlan {
  /** Frames to moderate with their times; [] for a still image (page 0 only). */
  frames: AnimationFrame[];
  /** Pages handed to the decoder: page 0, then the other picked frames. */
  pages: number[];
  /** Frames the decoder goes through to produce `pages` (formats that composite in order decode every earlier frame). */
  framesDecoded: number;
  /** Pixels decoded to produce `pages`: what `maxDecodedPixels` bounds. */
  decodedPixels: number;
  /**
   * Small still images decode in this process; animations, large images and progressive JPEGs (a
   * valid one can hold enough scans to decode for minutes) in the killable decoder.
   */
  where: 'in-process' | 'decoder';
}

/** Formats whose frame N is reached only by decoding frames 0..N-1 (libvips composites them in order). */
const SEQUENTIAL_FORMATS = new Set(['gif', 'webp']);

/** Whether reaching frame N of this format decodes frames 0..N-1 first. */
export function decodesInOrder(format: string): boolean {
  return SEQUENTIAL_FORMATS.has(format);
}

/** Frames the decoder goes through to reach `page`. */
export function framesToReach(format: string, page: number): number {
  return decodesInOrder(format) ? page + 1 : 1;
}

/**
 * Checks the budget from the header and plans the decode. Throws `IMAGE_TOO_MANY_PIXELS` (one frame
 * too large), `IMAGE_TOO_MANY_FRAMES` or `DECODE_BUDGET_EXCEEDED`, each naming the limit and the value.
 */
export function planImageDecode(
  header: ImageHeader,
  limits: ImageLimits,
  maxAnimationFrames: number,
): DecodePlan {
  const { width, pageHeight, pages, format } = header;
  const framePixels = width * pageHeight;
  if (framePixels > limits.maxPixels) {
    throw new ModerationError(
      'IMAGE_TOO_MANY_PIXELS',
      `image is ${width}×${pageHeight} = ${framePixels} pixels, over the ${limits.maxPixels}-pixel limit`,
    );
  }
  if (pages > limits.maxFrames) {
    throw new ModerationError(
      'IMAGE_TOO_MANY_FRAMES',
      `animated image has ${pages} frames, over the ${limits.maxFrames}-frame limit`,
    );
  }
  const frames = animationFrames(header, maxAnimationFrames);
  const picked = frames.length ? frames.map((f) => f.page) : [0];
  const order = [0, ...picked.filter((p) => p !== 0)];
  const framesDecoded = order.reduce((sum, page) => sum + framesToReach(format, page), 0);
  const decodedPixels = framesDecoded * framePixels;
  if (decodedPixels > limits.maxDecodedPixels) {
    throw new ModerationError(
      'DECODE_BUDGET_EXCEEDED',
      `decoding ${order.length} sampled frames of this ${pages}-frame ${width}×${pageHeight} image goes through ` +
        `${framesDecoded} frames = ${decodedPixels} pixels, over the ${limits.maxDecodedPixels}-pixel decode budget`,
    );
  }
  const still = pages <= 1 && framePixels <= limits.inProcessMaxPixels && !header.progressive;
  return { frames, pages: order, framesDecoded, decodedPixels, where: still ? 'in-process' : 'decoder' };
}
