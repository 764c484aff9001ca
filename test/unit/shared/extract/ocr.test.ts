import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { extractImage } from '#shared/extract/image.ts';
import {
  edgeFraction,
  edgeFractionOfPixels,
  modelInputProbe,
  type OcrEngine,
  ocrImage,
  tesseractEngine,
} from '#shared/extract/ocr.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';

const tesseract = tesseractEngine();
afterAll(() => tesseract.close());

const limits = { maxSide: 1600, timeoutMs: 10_000, maxChars: 4000 };

/** An engine that returns fixed words, or never answers. */
function stub(words: { text: string; confidence: number }[] | 'hang'): OcrEngine & { closed: number } {
  return {
    name: 'stub',
    closed: 0,
    recognize: () => (words === 'hang' ? new Promise(() => undefined) : Promise.resolve(words)),
    async close() {
      this.closed++;
    },
  };
}

describe('OCR with tesseract.js on generated signs', () => {
  it.each([0, 2, 4, 5])('reads a sign in style %i', async (i) => {
    const text = 'Nobody wants you here, get out of our town';
    const result = await ocrImage(await renderSign(text, SIGN_STYLES[i]!), tesseract);
    expect(result.skipped).toBeUndefined();
    const { errors, total } = wordErrors(text, result.text);
    expect(errors / total).toBeLessThanOrEqual(0.2);
    expect(result.confidence).toBeGreaterThan(60);
  });

  it('skips images without text-like edges before running the engine', async () => {
    const flat = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#88aacc' } })
      .png()
      .toBuffer();
    const engine = stub([{ text: 'never', confidence: 99 }]);
    expect(await edgeFraction(flat)).toBe(0);
    expect(await ocrImage(flat, engine)).toMatchObject({ text: '', skipped: 'no-edges' });
  });
});

describe('the edge test on the image model input', () => {
  /** The image model's input, as shared/modalities/image.ts decodes it (224², the nsfwjs size). */
  const MODEL_SIZE = 224;
  async function probeOf(bytes: Uint8Array) {
    const image = await extractImage(bytes, MODEL_SIZE);
    return modelInputProbe(image.pixels, MODEL_SIZE, image);
  }

  it.each(
    SIGN_STYLES.map((_, i) => i),
  )('finds the edges of a sign in style %i as its own decode does', async (i) => {
    const sign = await renderSign('Nobody wants you here, get out of our town', SIGN_STYLES[i]!);
    const probe = await probeOf(sign);
    expect(probe).toBeDefined();
    // Both above the no-text threshold (0.004): the probe decides as the thumbnail would.
    expect(edgeFractionOfPixels(probe!)).toBeGreaterThan(0.004);
    expect(await edgeFraction(sign)).toBeGreaterThan(0.004);
  });

  it('is flat on a flat image, and the engine is not run', async () => {
    const flat = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#88aacc' } })
      .png()
      .toBuffer();
    const probe = await probeOf(flat);
    expect(edgeFractionOfPixels(probe!)).toBe(0);
    const engine = stub([{ text: 'never', confidence: 99 }]);
    expect(await ocrImage(flat, engine, { probe: probe! })).toMatchObject({ text: '', skipped: 'no-edges' });
  });

  it('decides from the probe alone: a flat probe skips a sign, a sign probe reads it', async () => {
    const sign = await renderSign('get out of our town', SIGN_STYLES[0]!);
    const flat = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const engine = stub([{ text: 'town', confidence: 90 }]);
    expect(await ocrImage(sign, engine, { probe: (await probeOf(flat))! })).toMatchObject({
      skipped: 'no-edges',
    });
    expect(await ocrImage(sign, engine, { probe: (await probeOf(sign))! })).toMatchObject({ text: 'town' });
  });

  it('is held to a threshold a quarter lower than the thumbnail (0.3 %, not 0.4 %)', async () => {
    // 47 isolated white dots on black, 20 px apart: each marks itself and its left and upper
    // neighbours, 141 edges of 200² = 0.35 %.
    const side = 201;
    const data = new Uint8Array(side * side);
    for (let i = 0; i < 47; i++) data[(10 + 20 * Math.floor(i / 9)) * side + 10 + 20 * (i % 9)] = 255;
    const probe = { data, width: side, height: side, channels: 1 as const };
    expect(edgeFractionOfPixels(probe)).toBeCloseTo(141 / 200 ** 2, 6);
    const sign = await renderSign('get out of our town', SIGN_STYLES[0]!);
    const engine = stub([{ text: 'town', confidence: 90 }]);
    expect(await ocrImage(sign, engine, { probe })).toMatchObject({ text: 'town' });
    expect(await ocrImage(sign, engine, { probe, minEdgeFraction: 0.005 })).toMatchObject({
      skipped: 'no-edges',
    });
  });

  it('is not offered for an image smaller than the thumbnail, which the model input enlarges', async () => {
    const small = await renderSign('hi', { ...SIGN_STYLES[0]!, size: 20 });
    const image = await extractImage(small, MODEL_SIZE);
    expect(Math.max(image.width, image.height)).toBeLessThan(256);
    expect(modelInputProbe(image.pixels, MODEL_SIZE, image)).toBeUndefined();
    const large = { width: 1600, height: 300 };
    expect(modelInputProbe(image.pixels, MODEL_SIZE, large)).toMatchObject({
      width: 224,
      height: 224,
      channels: 3,
    });
  });
});

describe('OCR bounds', () => {
  it('gives up after the time limit, restarts the engine and marks the result partial', async () => {
    const sign = await renderSign('hello there', SIGN_STYLES[0]!);
    const engine = stub('hang');
    const result = await ocrImage(sign, engine, { limits: { ...limits, timeoutMs: 100 } });
    expect(result).toMatchObject({ text: '', skipped: 'timeout', partial: true });
    expect(engine.closed).toBe(1);
  });

  it('cuts text at maxChars and drops low-confidence and symbol-only words', async () => {
    const sign = await renderSign('hello there', SIGN_STYLES[0]!);
    const engine = stub([
      { text: 'keep', confidence: 90 },
      { text: 'noise', confidence: 20 },
      { text: '|~', confidence: 95 },
      { text: 'abcdefghij', confidence: 90 },
    ]);
    const result = await ocrImage(sign, engine, { limits: { ...limits, maxChars: 8 } });
    expect(result.text).toBe('keep abc');
    expect(result.partial).toBe(true);
  });
});

describe('tesseract.js engine under concurrent calls', () => {
  it('a timeout closing the worker fails only the job on it; the queued ones run on a fresh worker', async () => {
    const engine = tesseractEngine();
    try {
      const sign = await renderSign('get out of our town', SIGN_STYLES[0]!);
      // One tiny timeout among generous ones: before the fix its close() ended the shared worker
      // under the others, whose jobs then hung or threw an unhandled rejection from tesseract.js.
      const results = await Promise.all([
        ocrImage(sign, engine, { limits: { ...limits, timeoutMs: 1 } }),
        ocrImage(sign, engine, { limits }),
        ocrImage(sign, engine, { limits }),
      ]);
      expect(results[0]).toMatchObject({ skipped: 'timeout', partial: true });
      for (const later of results.slice(1)) {
        expect(later.skipped).toBeUndefined();
        expect(later.text.toLowerCase()).toContain('town');
      }
    } finally {
      await engine.close();
    }
  });
});
