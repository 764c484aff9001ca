import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { extractImage } from '#shared/extract/image.ts';
import { parsePostManifest, resolveMediaKey } from '#shared/extract/post.ts';
import { extractText, normaliseForModeration, windowText } from '#shared/extract/text.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as ModerationError).code;
  }
}

async function asyncCodeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ModerationError ? err.code : `unexpected ${err}`;
  }
}

describe('text extraction', () => {
  it('folds look-alike forms and removes invisible characters that split words', () => {
    expect(normaliseForModeration('ｉｄｉｏｔ')).toBe('idiot');
    expect(normaliseForModeration('id\u200bi\u200dot')).toBe('idiot');
  });

  it('windows long text at whitespace and keeps ranges that point into the text', () => {
    const text = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const windows = windowText(text, 100);
    expect(windows.length).toBeGreaterThan(15);
    for (const w of windows) {
      expect(w.text.length).toBeLessThanOrEqual(100);
      expect(text.slice(w.start, w.end).trim()).toBe(w.text);
      expect(w.text.startsWith('word')).toBe(true);
    }
  });

  it('marks text past the window limit as truncated rather than dropping it silently', () => {
    const limits = { maxBytes: 1_000_000, windowChars: 10, maxWindows: 3 };
    const extracted = extractText('one two three four five six seven eight nine ten', limits);
    expect(extracted.windows).toHaveLength(3);
    expect(extracted.truncated).toBe(true);
  });

  it('refuses empty and oversized text', () => {
    expect(codeOf(() => extractText('  \n\t '))).toBe('EMPTY_OBJECT');
    expect(codeOf(() => extractText('x'.repeat(20), { maxBytes: 10, windowChars: 5, maxWindows: 5 }))).toBe(
      'TOO_LARGE',
    );
  });
});

describe('image extraction', () => {
  it('decodes, squashes to the model size and returns RGB bytes', async () => {
    const png = await sharp({ create: { width: 300, height: 120, channels: 4, background: '#0000ff80' } })
      .png()
      .toBuffer();
    const image = await extractImage(png, 32);
    expect(image.pixels).toHaveLength(32 * 32 * 3);
    expect([image.width, image.height, image.format]).toEqual([300, 120, 'png']);
    // Half-transparent blue over white.
    expect(image.pixels[2]).toBeGreaterThan(200);
    expect(image.pixels[0]).toBeLessThan(140);
  });

  it('refuses a pixel bomb from its header', async () => {
    const big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    const limits = { maxBytes: 20e6, maxPixels: 1_000_000 };
    expect(await asyncCodeOf(extractImage(big, 32, limits))).toBe('IMAGE_TOO_MANY_PIXELS');
  });

  it('refuses truncated and corrupt images', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer();
    expect(await asyncCodeOf(extractImage(jpeg.subarray(0, jpeg.length / 2), 32))).toBe(
      'IMAGE_DECODE_FAILED',
    );
    expect(await asyncCodeOf(extractImage(Buffer.from('\x89PNG\r\n\x1a\nnot really'), 32))).toBe(
      'IMAGE_DECODE_FAILED',
    );
  });
});

describe('post manifests', () => {
  it('parses caption and media', () => {
    expect(parsePostManifest('{"text":"hi","media":["a.png"]}')).toEqual({ text: 'hi', media: ['a.png'] });
    expect(parsePostManifest('{"text":"caption only"}')).toEqual({ text: 'caption only', media: [] });
  });

  it('refuses malformed, empty, deeply nested and oversized manifests', () => {
    expect(codeOf(() => parsePostManifest('{"text": "x", "media": [1]}'))).toBe('INVALID_MANIFEST');
    expect(codeOf(() => parsePostManifest('{"text": "x",'))).toBe('INVALID_MANIFEST');
    expect(codeOf(() => parsePostManifest('{"text": "  ", "media": []}'))).toBe('INVALID_MANIFEST');
    const deep = `{"text":"x","extra":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(codeOf(() => parsePostManifest(deep))).toBe('INVALID_MANIFEST');
    const media = JSON.stringify({ media: Array.from({ length: 17 }, (_, i) => `${i}.png`) });
    expect(codeOf(() => parsePostManifest(media))).toBe('INVALID_MANIFEST');
    expect(codeOf(() => parsePostManifest(`{"text":"${'x'.repeat(300_000)}"}`))).toBe('TOO_LARGE');
  });

  it('resolves media beside the post and nowhere else', () => {
    expect(resolveMediaKey('uploads/alice/p.json', 'cat.png')).toBe('uploads/alice/cat.png');
    expect(resolveMediaKey('uploads/alice/p.json', 'album/./cat.png')).toBe('uploads/alice/album/cat.png');
    for (const ref of [
      '../bob/x.png',
      '/etc/passwd',
      'https://example.com/x.png',
      '//host/x',
      'a\\..\\b',
      'file:x',
    ]) {
      expect(
        codeOf(() => resolveMediaKey('uploads/alice/p.json', ref)),
        ref,
      ).toBe('MEDIA_OUTSIDE_PREFIX');
    }
  });
});
