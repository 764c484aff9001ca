/** The work budget of an image upload, checked from its header before any pixel is decoded. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { type ImageHeader, readImageHeader } from '#shared/extract/animation.ts';
import { planImageDecode } from '#shared/extract/decode-budget.ts';
import { type ImageLimits, LIMITS } from '#shared/ingest/limits.ts';
import { animatedWebpFrameBomb, pngPixelBomb } from '#test/fixtures/hostile-inputs.ts';

const limits: ImageLimits = {
  maxBytes: 20e6,
  maxPixels: 1_000_000,
  maxFrames: 50,
  maxDecodedPixels: 10_000_000,
  decodeTimeoutMs: 5_000,
  inProcessMaxPixels: 250_000,
};

const header = (h: Partial<ImageHeader>): ImageHeader => ({
  format: 'webp',
  width: 100,
  pageHeight: 100,
  pages: 1,
  ...h,
});

function errorOf(fn: () => unknown): ModerationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ModerationError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

describe('planImageDecode', () => {
  it('decodes small still images in process and large ones in the decoder', () => {
    const small = planImageDecode(header({ width: 500, pageHeight: 500 }), limits, 8);
    expect(small).toEqual({
      frames: [],
      pages: [0],
      framesDecoded: 1,
      decodedPixels: 250_000,
      where: 'in-process',
    });
    const large = planImageDecode(header({ width: 1000, pageHeight: 1000 }), limits, 8);
    expect(large.where).toBe('decoder');
    const progressive = planImageDecode(header({ format: 'jpeg', progressive: true }), limits, 8);
    expect(progressive.where).toBe('decoder');
  });

  it('counts every frame a GIF or WebP decoder goes through to reach the sampled ones', () => {
    const plan = planImageDecode(header({ pages: 40 }), limits, 8);
    expect(plan.where).toBe('decoder');
    expect(plan.pages).toEqual([0, 5, 10, 15, 20, 25, 30, 35]);
    // Reaching page p decodes p + 1 frames: 1 + 6 + 11 + … + 36.
    expect(plan.framesDecoded).toBe(148);
    expect(plan.decodedPixels).toBe(148 * 100 * 100);
    expect(plan.frames[1]).toEqual({ page: 5, timestampMs: 500 });
  });

  it('counts one frame per page for formats that seek (TIFF)', () => {
    const plan = planImageDecode(header({ format: 'tiff', pages: 40 }), limits, 8);
    expect(plan.framesDecoded).toBe(8);
  });

  it('refuses one frame over the pixel limit, naming the size and the limit', () => {
    const err = errorOf(() =>
      planImageDecode(header({ width: 2000, pageHeight: 1000, pages: 3 }), limits, 8),
    );
    expect(err.code).toBe('IMAGE_TOO_MANY_PIXELS');
    expect(err.message).toBe('image is 2000×1000 = 2000000 pixels, over the 1000000-pixel limit');
  });

  it('refuses more frames than the frame limit', () => {
    const err = errorOf(() => planImageDecode(header({ width: 1, pageHeight: 1, pages: 51 }), limits, 8));
    expect(err.code).toBe('IMAGE_TOO_MANY_FRAMES');
    expect(err.message).toBe('animated image has 51 frames, over the 50-frame limit');
  });

  it('refuses a decode over the pixel budget although each frame is within the frame limit', () => {
    const err = errorOf(() =>
      planImageDecode(header({ width: 1000, pageHeight: 1000, pages: 10 }), limits, 8),
    );
    expect(err.code).toBe('DECODE_BUDGET_EXCEEDED');
    expect(err.message).toMatch(
      /10-frame 1000×1000 image goes through \d+ frames = \d+ pixels, over the 10000000-pixel/,
    );
  });
});

describe('readImageHeader and the frame bomb', () => {
  it('reads the 2,000-frame 4000×4000 bomb (1.4 MB) from its header and refuses it', async () => {
    const bomb = await animatedWebpFrameBomb();
    expect(bomb.byteLength).toBeLessThan(1.5e6);
    const h = await readImageHeader(bomb);
    expect(h).toMatchObject({ format: 'webp', width: 4000, pageHeight: 4000, pages: 2000 });
    expect(h.delays).toHaveLength(2000);
    const err = errorOf(() => planImageDecode(h, LIMITS.image, LIMITS.video.maxAnimationFrames));
    expect(err.code).toBe('IMAGE_TOO_MANY_FRAMES');
    expect(err.message).toBe(
      `animated image has 2000 frames, over the ${LIMITS.image.maxFrames}-frame limit`,
    );
  });

  it('refuses a smaller bomb of the same kind (within the frame limit) for its pixels', async () => {
    const h = await readImageHeader(await animatedWebpFrameBomb(100));
    expect(errorOf(() => planImageDecode(h, LIMITS.image, LIMITS.video.maxAnimationFrames)).code).toBe(
      'DECODE_BUDGET_EXCEEDED',
    );
  });

  it('reads the header of a 30000×30000 pixel bomb, which the plan refuses for its size', async () => {
    const h = await readImageHeader(pngPixelBomb());
    expect(h).toMatchObject({ width: 30_000, pageHeight: 30_000, pages: 1 });
    expect(errorOf(() => planImageDecode(h, LIMITS.image, 8)).message).toBe(
      `image is 30000×30000 = 900000000 pixels, over the ${LIMITS.image.maxPixels}-pixel limit`,
    );
  });

  it('gives a still image one page and its size, and marks a progressive JPEG', async () => {
    const still = sharp({ create: { width: 30, height: 20, channels: 3, background: '#123' } });
    expect(await readImageHeader(await still.clone().png().toBuffer())).toEqual({
      format: 'png',
      width: 30,
      pageHeight: 20,
      pages: 1,
    });
    expect(await readImageHeader(await still.clone().jpeg().toBuffer())).not.toHaveProperty('progressive');
    expect(await readImageHeader(await still.clone().jpeg({ progressive: true }).toBuffer())).toMatchObject({
      format: 'jpeg',
      progressive: true,
    });
  });

  it('gives an unreadable header IMAGE_DECODE_FAILED', async () => {
    await expect(readImageHeader(Buffer.from('RIFF\x10\0\0\0WEBPVP8X'))).rejects.toMatchObject({
      code: 'IMAGE_DECODE_FAILED',
    });
  });
});
