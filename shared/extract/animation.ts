/**
 * Animated GIF and WebP: which frames to look at. Frames are picked evenly over the animation's
 * running time (from the per-frame delays in the header), at most `maxFrames`, so a long animation
 * is covered end to end; each picked frame is then moderated like an image, with its timestamp.
 */
import sharp from 'sharp';
import { LIMITS } from '#shared/ingest/limits.ts';

export interface AnimationFrame {
  page: number;
  timestampMs: number;
}

/** Default delay when a frame states none (browsers treat 0–10 ms as 100 ms). */
const DEFAULT_DELAY_MS = 100;

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
export async function animationFrames(bytes: Uint8Array, maxFrames: number): Promise<AnimationFrame[]> {
  const meta = await sharp(bytes, { limitInputPixels: LIMITS.image.maxPixels }).metadata();
  const pages = meta.pages ?? 1;
  if (pages <= 1) return [];
  const delays =
    meta.delay?.length === pages ? meta.delay : Array.from({ length: pages }, () => DEFAULT_DELAY_MS);
  return pickFrames(delays, maxFrames);
}
