/**
 * The killable image decoder: the same pixels as the in-process path, the time budget enforced by
 * killing the child, and a crash or a kill never taking the next upload down with it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ModerationError, RetryableError } from '#shared/domain/errors.ts';
import { readImageHeader } from '#shared/extract/animation.ts';
import { planImageDecode } from '#shared/extract/decode-budget.ts';
import { type DecodeJob, DecodePool } from '#shared/extract/decode-worker.ts';
import { extractImage, extractImagePages } from '#shared/extract/image.ts';
import { ocrImage, tesseractEngine } from '#shared/extract/ocr.ts';
import { type ImageLimits, LIMITS } from '#shared/ingest/limits.ts';
import { deadlineIn, runWithDeadline } from '#shared/retry/deadline.ts';
import { animatedImage, animatedWebpFrameBomb } from '#test/fixtures/hostile-inputs.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';

const pool = new DecodePool(1);
afterAll(() => pool.close());

const job = (bytes: Uint8Array, over: Partial<DecodeJob> = {}): DecodeJob => ({
  bytes,
  pages: [0],
  size: 16,
  ocrMaxSide: 0,
  maxPixels: LIMITS.image.maxPixels,
  maxDecodedPixels: LIMITS.image.maxDecodedPixels,
  sequential: true,
  ...over,
});

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && isRunning(pid); i++) await sleep(10);
  return !isRunning(pid);
}

describe('the decoder process', () => {
  it.each([
    'gif',
    'webp',
  ] as const)('gives the sampled %s frames the pixels the in-process path gives', async (format) => {
    const bytes = await animatedImage(format);
    const header = await readImageHeader(bytes);
    const plan = planImageDecode(header, LIMITS.image, LIMITS.video.maxAnimationFrames);
    expect(plan.where).toBe('decoder');
    const pages = await extractImagePages(bytes, header, plan, 32, { ocrMaxSide: 0, decoders: pool });
    expect(pages.map((p) => p.page)).toEqual(plan.pages);
    for (const page of pages) {
      const direct = await extractImage(bytes, 32, LIMITS.image, page.page);
      expect(Buffer.from(page.pixels).equals(Buffer.from(direct.pixels)), `page ${page.page}`).toBe(true);
    }
  });

  it('returns each frame for OCR too (scaled to fit its side), with a tensor close to the in-process one', async () => {
    const bytes = await animatedImage('webp');
    const header = await readImageHeader(bytes);
    const plan = planImageDecode(header, LIMITS.image, LIMITS.video.maxAnimationFrames);
    const pages = await extractImagePages(bytes, header, plan, 32, { ocrMaxSide: 40, decoders: pool });
    for (const page of pages) {
      expect(page.ocr).toMatchObject({ width: 40, height: 40, channels: 3 });
      expect(page.ocr?.data).toHaveLength(40 * 40 * 3);
      const direct = await extractImage(bytes, 32, LIMITS.image, page.page);
      // Scaled twice (64 → 40 → 32) instead of once: close on average, not equal at the bar's edges.
      const meanDiff =
        page.pixels.reduce((sum, v, i) => sum + Math.abs(v - (direct.pixels[i] ?? 0)), 0) /
        page.pixels.length;
      expect(meanDiff, `page ${page.page}`).toBeLessThan(6);
    }
  });

  it('gives OCR frames it reads as it reads the upload itself', async () => {
    const signs = ['GOOD MORNING FRIENDS', 'SEE YOU AT NOON'];
    const rendered = await Promise.all(signs.map((t, i) => renderSign(t, SIGN_STYLES[i] ?? SIGN_STYLES[0]!)));
    const { width = 0, height = 0 } = await sharp(rendered[0]).metadata();
    const frames = await Promise.all(
      rendered.map((png) => sharp(png).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer()),
    );
    const gif = await sharp(Buffer.concat(frames), {
      raw: { width, height: height * frames.length, channels: 3, pageHeight: height },
    })
      .gif({ delay: [1000, 1000] })
      .toBuffer();
    const header = await readImageHeader(gif);
    const plan = planImageDecode(header, LIMITS.image, LIMITS.video.maxAnimationFrames);
    const pages = await extractImagePages(gif, header, plan, 32, {
      ocrMaxSide: LIMITS.ocr.maxSide,
      decoders: pool,
    });
    const tesseract = tesseractEngine();
    try {
      for (const page of pages) {
        const fromDecoder = await ocrImage(page.ocr as NonNullable<typeof page.ocr>, tesseract);
        const fromBytes = await ocrImage(gif, tesseract, { page: page.page });
        expect(fromDecoder.text).toBe(fromBytes.text);
        expect(fromDecoder.text).toBe(signs[page.page]);
      }
    } finally {
      await tesseract.close();
    }
  });

  it('kills a decode at its time budget, leaves no process behind, and decodes the next upload', async () => {
    // 8 frames of 4000×4000: within the pixel budget (36 frames decoded = 576 MP), over 100 ms.
    const bomb = await animatedWebpFrameBomb(8);
    const header = await readImageHeader(bomb);
    const plan = planImageDecode(header, LIMITS.image, LIMITS.video.maxAnimationFrames);
    const limits: ImageLimits = { ...LIMITS.image, decodeTimeoutMs: 100 };
    const small = await animatedImage('gif');
    await pool.decode(job(small), { timeoutMs: 5_000 }); // a warm decoder, so the kill hits a running decode
    const [pid] = pool.pids();
    expect(pid).toBeDefined();
    const err = await extractImagePages(bomb, header, plan, 32, {
      ocrMaxSide: 0,
      limits,
      decoders: pool,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModerationError);
    expect(err).toMatchObject({ code: 'DECODE_BUDGET_EXCEEDED' });
    expect((err as Error).message).toMatch(/longer than the 100 ms decode time budget/);
    expect(await waitUntilGone(pid as number)).toBe(true);
    expect(pool.pids()).toEqual([]);
    const next = await pool.decode(job(small), { timeoutMs: 5_000 });
    expect(next.pages).toHaveLength(1);
    expect(pool.pids()).toHaveLength(1);
    expect(pool.pids()[0]).not.toBe(pid);
  });

  it('queues decodes beyond its processes and reuses the one it has', async () => {
    const small = await animatedImage('gif');
    const results = await Promise.all([1, 2, 3].map(() => pool.decode(job(small), { timeoutMs: 5_000 })));
    expect(results.map((r) => r.pages.length)).toEqual([1, 1, 1]);
    expect(pool.pids()).toHaveLength(1);
  });

  it('retries, rather than blames the upload, when the invocation deadline cuts the decode short', async () => {
    const bomb = await animatedWebpFrameBomb(8);
    const err = await runWithDeadline(deadlineIn(3_000 + 150), () =>
      pool.decode(job(bomb, { pages: [0, 7] }), { timeoutMs: 15_000 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).not.toBeInstanceOf(ModerationError);
  });

  it('checks the pixel budget again page by page, from each page header', async () => {
    const bytes = await animatedImage('gif', 12, 64);
    // Page 0 decodes 1 frame, page 11 another 12: 13 × 64² pixels, over a budget of 5 × 64².
    await expect(
      pool.decode(job(bytes, { pages: [0, 11], maxDecodedPixels: 64 * 64 * 5 }), { timeoutMs: 5_000 }),
    ).rejects.toMatchObject({
      code: 'DECODE_BUDGET_EXCEEDED',
      message: expect.stringMatching(
        /reaching page 11 decodes 53248 pixels, over the 20480-pixel decode budget/,
      ),
    });
  });

  it('gives a corrupt frame IMAGE_DECODE_FAILED and a decoder crash IMAGE_DECODE_FAILED', async () => {
    const bytes = await animatedImage('webp', 12, 64);
    const truncated = bytes.subarray(0, Math.floor(bytes.byteLength * 0.6));
    await expect(pool.decode(job(truncated, { pages: [0, 11] }), { timeoutMs: 5_000 })).rejects.toMatchObject(
      {
        code: 'IMAGE_DECODE_FAILED',
      },
    );
    const bomb = await animatedWebpFrameBomb(8);
    const running = pool.decode(job(bomb, { pages: [7] }), { timeoutMs: 15_000 });
    await sleep(150);
    const [pid] = pool.pids();
    process.kill(pid as number, 'SIGSEGV');
    await expect(running).rejects.toMatchObject({
      code: 'IMAGE_DECODE_FAILED',
      message: expect.stringMatching(/exited \(SIGSEGV\)/),
    });
  });
});
