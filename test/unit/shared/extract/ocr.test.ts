import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { edgeFraction, type OcrEngine, ocrImage, tesseractEngine } from '#shared/extract/ocr.ts';
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
