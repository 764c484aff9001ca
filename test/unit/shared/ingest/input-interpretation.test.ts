/**
 * One reading of the bytes: what sniffing decides an upload is must be what its extractor then
 * reads (and what a client shows). Posts are recognised by parsing JSON, text by one decoder.
 */
import { describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { decodeText, type Sniffed, sniff } from '#shared/ingest/sniff.ts';

const utf16le = (s: string) => Buffer.from(`\ufeff${s}`, 'utf16le');
const utf16be = (s: string) => Buffer.from(`\ufeff${s}`, 'utf16le').swap16();
const utf8 = (s: string) => Buffer.from(s, 'utf8');

async function outcome(bytes: Uint8Array): Promise<Sniffed | { code: string; message: string }> {
  try {
    return await sniff(bytes);
  } catch (err) {
    if (err instanceof ModerationError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe('text decoding', () => {
  it('decodes UTF-8 (with or without a BOM) and UTF-16 LE/BE with a BOM to the same text', () => {
    const text = 'Grüße, 日本語 and 😀';
    for (const bytes of [utf8(text), utf8(`\ufeff${text}`), utf16le(text), utf16be(text)]) {
      const decoded = decodeText(bytes);
      expect(decoded.ok && decoded.text).toBe(text);
    }
    expect(decodeText(utf16be(text))).toMatchObject({ encoding: 'utf-16be' });
  });

  it('names what went wrong and never guesses a legacy encoding', () => {
    const reason = (bytes: Uint8Array) => {
      const d = decodeText(bytes);
      return d.ok ? `decoded as ${d.encoding}` : d.reason;
    };
    expect(reason(Buffer.from('caf\xe9', 'latin1'))).toMatch(/not valid UTF-8/);
    expect(reason(Buffer.from('hello there, windows', 'utf16le'))).toMatch(
      /UTF-16 without a byte-order mark/,
    );
    expect(reason(Buffer.from([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0]))).toMatch(/UTF-32/);
    // A lone surrogate, and an odd byte count, are not UTF-16.
    expect(reason(Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00]))).toMatch(/not valid UTF-16LE/);
    expect(reason(Buffer.from([0xfe, 0xff, 0x00, 0x41, 0x42]))).toMatch(/not valid UTF-16BE/);
    expect(reason(utf16le('nul \u0000 inside'))).toMatch(/control characters/);
  });
});

describe('sniffing text and posts', () => {
  it('moderates UTF-16 text as text, and says which encodings are accepted otherwise', async () => {
    expect(await outcome(utf16le('hello'))).toEqual({ kind: 'text', mime: 'text/plain; charset=utf-16le' });
    expect(await outcome(utf16be('hello'))).toEqual({ kind: 'text', mime: 'text/plain; charset=utf-16be' });
    const refused = await outcome(Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e', 'latin1'));
    expect(refused).toMatchObject({ code: 'UNSUPPORTED_TYPE' });
    expect((refused as { message: string }).message).toMatch(
      /UTF-8 .* or UTF-16 LE\/BE with a byte-order mark/,
    );
  });

  it('finds a post by its decoded keys, in any accepted encoding', async () => {
    const post = { kind: 'post', mime: 'application/json' };
    expect(await outcome(utf8('{"\\u0074ext": "hi", "\\u006dedia": ["pic.png"]}'))).toEqual(post);
    expect(await outcome(utf8('{"media": ["pic.png"]}'))).toEqual(post);
    expect(await outcome(utf8(' \n{"other": 1, "text": "hi"}'))).toEqual(post);
    expect(await outcome(utf16le('{"text": "hi", "media": []}'))).toEqual(post);
    expect(await outcome(utf16be('{"text": "hi"}'))).toEqual(post);
  });

  it('keeps a post that breaks after its keys a post (refused later), so no reader sees a post we scored as text', async () => {
    const post = { kind: 'post', mime: 'application/json' };
    expect(await outcome(utf8('{"text": "a", "text": "b"}'))).toEqual(post);
    expect(await outcome(utf8('{"text": "hi", "media": ['))).toEqual(post);
    expect(await outcome(utf8('{"text": "hi", "media": [],}'))).toEqual(post);
    expect(await outcome(utf8(`{"text": "x", "deep": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`))).toEqual(
      post,
    );
    // Over the manifest limit, the keys read within it decide (the post modality then says TOO_LARGE).
    const big = `{"text": "x", "pad": "${'p'.repeat(LIMITS.post.maxBytes)}"}`;
    expect(await outcome(utf8(big))).toEqual(post);
  });

  it('leaves other JSON and brace-led prose as text', async () => {
    const text = { kind: 'text', mime: 'text/plain' };
    expect(await outcome(utf8('{"other": 1}'))).toEqual(text);
    expect(await outcome(utf8('[{"text": "hi", "media": []}]'))).toEqual(text);
    expect(await outcome(utf8('{"a": {"text": "nested is not a post"}}'))).toEqual(text);
    expect(await outcome(utf8('{ text: "not JSON" }'))).toEqual(text);
    // JSON allows only four whitespace characters before the value; NBSP is not one of them.
    expect(await outcome(utf8('\u00a0{"text": "hi"}'))).toEqual(text);
    // The byte pattern the old detector looked for is not enough: this is prose, not JSON.
    expect(await outcome(utf8('{ and then he wrote "text": yes }'))).toEqual(text);
  });

  it('refuses SVG however its prolog is written, and XML in any encoding', async () => {
    const svg = { code: 'UNSUPPORTED_TYPE', message: expect.stringMatching(/image\/svg\+xml/) };
    const root = '<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,AA=="/></svg>';
    expect(await outcome(utf8(root))).toEqual(svg);
    expect(await outcome(utf8(`<!-- ${'long comment '.repeat(1000)} -->\n${root}`))).toEqual(svg);
    expect(await outcome(utf8(`<!DOCTYPE svg [ <!-- it's > --> <!ENTITY e "a>b"> ]>${root}`))).toEqual(svg);
    expect(await outcome(utf8('<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'))).toEqual(svg);
    expect(await outcome(utf16le(root))).toEqual(svg);
    // file-type itself calls UTF-16 XML application/xml: refused either way.
    expect(await outcome(utf16be(`<?xml version="1.0"?>${root}`))).toMatchObject({
      code: 'UNSUPPORTED_TYPE',
    });
    expect(await outcome(utf16le('<?xml version="1.0"?><note>hi</note>'))).toMatchObject({
      code: 'UNSUPPORTED_TYPE',
      message: expect.stringMatching(/application\/xml/),
    });
    expect(await outcome(utf8('<!-- a note --> hello <svg> is a tag'))).toEqual({
      kind: 'text',
      mime: 'text/plain',
    });
  });
});
