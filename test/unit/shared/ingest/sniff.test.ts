import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { sniff } from '#shared/ingest/sniff.ts';

const png = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
    .png()
    .toBuffer();

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ModerationError ? err.code : `not a ModerationError: ${err}`;
  }
}

describe('sniff', () => {
  it('recognises images from their bytes, whatever they are called', async () => {
    expect(await sniff(await png())).toEqual({ kind: 'image', mime: 'image/png' });
    const jpeg = await sharp(await png())
      .jpeg()
      .toBuffer();
    expect((await sniff(jpeg)).mime).toBe('image/jpeg');
  });

  it('treats UTF-8 as text and a JSON object with text/media as a post', async () => {
    expect((await sniff(Buffer.from('hello there'))).kind).toBe('text');
    expect((await sniff(Buffer.from('{"text":"hi","media":[]}'))).kind).toBe('post');
    expect((await sniff(Buffer.from('{"other":1}'))).kind).toBe('text');
  });

  it('refuses empty objects, other binary types and random bytes with specific codes', async () => {
    expect(await codeOf(sniff(new Uint8Array()))).toBe('EMPTY_OBJECT');
    const zip = Buffer.from('504b0304140000000800', 'hex');
    expect(await codeOf(sniff(Buffer.concat([zip, Buffer.alloc(64)])))).toBe('UNSUPPORTED_TYPE');
    const random = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 73 + 11) % 256));
    expect(await codeOf(sniff(random))).toBe('UNSUPPORTED_TYPE');
    expect(await codeOf(sniff(Buffer.from('text with a \u0000 NUL')))).toBe('UNSUPPORTED_TYPE');
  });

  it('calls a cut-off image a broken image, not an unknown type', async () => {
    const truncated = (await png()).subarray(0, 12);
    expect(await codeOf(sniff(truncated))).toBe('IMAGE_DECODE_FAILED');
  });

  it('does not trust an image extension on text (polyglot-ish names)', async () => {
    expect((await sniff(Buffer.from('<?php echo 1; ?> looks like a file.jpg'))).kind).toBe('text');
  });
});
