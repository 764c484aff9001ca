import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniff } from '#shared/ingest/sniff.ts';
import { jpegEnd, pngEnd, trailingBytes } from '#shared/ingest/trailing.ts';
import { pngZipPolyglot, solidJpeg, solidPng, zipBomb } from '#test/fixtures/hostile-inputs.ts';

describe('bytes after the end of an image', () => {
  it('finds none in ordinary PNG, JPEG (baseline and progressive) and WebP files', async () => {
    const jpeg = await solidJpeg(120, 90);
    const progressive = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#a52' } })
      .jpeg({ progressive: true })
      .toBuffer();
    const webp = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#235' } })
      .webp()
      .toBuffer();
    expect(trailingBytes(await solidPng(), 'image/png')).toBe(0);
    expect(trailingBytes(jpeg, 'image/jpeg')).toBe(0);
    expect(jpegEnd(jpeg)).toBe(jpeg.length);
    expect(trailingBytes(progressive, 'image/jpeg')).toBe(0);
    expect(trailingBytes(webp, 'image/webp')).toBe(0);
  });

  it('counts an archive appended to a PNG, JPEG or WebP (a polyglot)', async () => {
    const zip = await zipBomb(1);
    const png = await solidPng(48, 48); // what pngZipPolyglot starts with
    expect(pngEnd(await pngZipPolyglot())).toBe(png.length);
    expect(trailingBytes(await pngZipPolyglot(), 'image/png')).toBe(zip.length);
    expect(trailingBytes(Buffer.concat([await solidJpeg(), zip]), 'image/jpeg')).toBe(zip.length);
    const webp = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .webp()
      .toBuffer();
    expect(trailingBytes(Buffer.concat([webp, zip]), 'image/webp')).toBe(zip.length);
  });

  it('ignores zero padding and a second JPEG picture (multi-picture files from phones)', async () => {
    const jpeg = await solidJpeg();
    expect(trailingBytes(Buffer.concat([await solidPng(), Buffer.alloc(512)]), 'image/png')).toBe(0);
    expect(trailingBytes(Buffer.concat([jpeg, await solidJpeg(40, 30)]), 'image/jpeg')).toBe(0);
    // …but not what follows the last picture.
    expect(trailingBytes(Buffer.concat([jpeg, jpeg, Buffer.from('PK\u0003\u0004 tail')]), 'image/jpeg')).toBe(
      9,
    );
  });

  it('says nothing about formats it cannot follow (the decoder judges those)', async () => {
    expect(trailingBytes(Buffer.from('GIF89a....'), 'image/gif')).toBe(0);
    expect(trailingBytes((await solidPng()).subarray(0, 40), 'image/png')).toBe(0);
  });
});

describe('SVG', () => {
  it.each([
    '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n<svg width="10">',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<SVG>',
  ])('is refused rather than scored as text: %s', async (svg) => {
    await expect(sniff(Buffer.from(svg))).rejects.toMatchObject({ code: 'UNSUPPORTED_TYPE' });
  });

  it('does not catch ordinary text that mentions svg', async () => {
    expect((await sniff(Buffer.from('I drew an <svg> logo today'))).kind).toBe('text');
  });
});
