/** A post means what every JSON client reads: decoded keys, no duplicates, no members left unread. */
import { describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { parsePostManifest } from '#shared/extract/post.ts';
import { LIMITS } from '#shared/ingest/limits.ts';

function refusal(text: string): { code: string; message: string } | undefined {
  try {
    parsePostManifest(text);
    return undefined;
  } catch (err) {
    if (err instanceof ModerationError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe('post manifests', () => {
  it('reads keys after JSON decoding', () => {
    expect(parsePostManifest('{"\\u0074ext": "hi", "\\u006dedia": ["pic.png"]}')).toEqual({
      text: 'hi',
      media: ['pic.png'],
    });
  });

  it('refuses a duplicate key, naming it, rather than picking the first or the last', () => {
    for (const doc of [
      '{"text": "you are worthless", "text": "have a nice day", "media": []}',
      '{"text": "a", "\\u0074ext": "b"}',
      '{"media": ["a.png"], "text": "x", "media": ["b.png"]}',
    ]) {
      const r = refusal(doc);
      expect(r?.code, doc).toBe('INVALID_MANIFEST');
      expect(r?.message, doc).toMatch(/has the key "(text|media)" more than once/);
    }
  });

  it('refuses members it would not moderate, naming them', () => {
    expect(refusal('{"text": "hi", "comment": "never scored"}')).toEqual({
      code: 'INVALID_MANIFEST',
      message: 'post manifest has the key "comment"; a manifest has only "text" and "media"',
    });
    expect(refusal('{"text": "hi", "__proto__": {"media": ["x.png"]}}')?.message).toMatch(/"__proto__"/);
  });

  it('keeps its bounds: bytes before parsing, nesting while parsing', () => {
    expect(refusal(`{"text": "${'x'.repeat(LIMITS.post.maxBytes)}"}`)?.code).toBe('TOO_LARGE');
    expect(refusal(`{"media": [${'['.repeat(100_000)}]}`)).toMatchObject({
      code: 'INVALID_MANIFEST',
      message: `post manifest nests deeper than ${LIMITS.post.maxDepth} levels`,
    });
  });

  it('refuses JSON that lenient and strict readers would read differently', () => {
    for (const doc of [
      '{"text": "hi", "media": [],}',
      '{"text": "hi"} // trailing comment',
      '{"text": "\\ud800 lone surrogate"}',
      '{"text": "hi"}{"text": "second document"}',
    ]) {
      expect(refusal(doc)?.code, doc).toBe('INVALID_MANIFEST');
    }
  });
});
