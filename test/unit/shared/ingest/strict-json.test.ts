import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonReadError, parseStrictJson, scanTopLevelKeys } from '#shared/ingest/strict-json.ts';

const parse = (text: string, maxDepth = 64) => parseStrictJson(text, { maxDepth });

function errorOf(fn: () => unknown): JsonReadError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof JsonReadError) return err;
    throw err;
  }
}

describe('strict JSON', () => {
  it('reads every valid JSON document as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        expect(parse(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what JSON.parse also refuses (cut-off documents)', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), fc.nat(), (text, at) => {
        const cut = text.slice(0, at % Math.max(1, text.length));
        let native = true;
        try {
          JSON.parse(cut);
        } catch {
          native = false;
        }
        if (!native) expect(errorOf(() => parse(cut))).toBeInstanceOf(JsonReadError);
      }),
      { numRuns: 300 },
    );
  });

  it('compares keys after decoding escapes and refuses a duplicate, naming it', () => {
    expect(parse('{"\\u0074ext": 1}')).toEqual({ text: 1 });
    const dup = errorOf(() => parse('{"text": "a", "t\\u0065xt": "b"}'));
    expect(dup).toMatchObject({ kind: 'duplicate-key', key: 'text' });
    expect(errorOf(() => parse('{"a": {"b": 1, "b": 2}}'))).toMatchObject({
      kind: 'duplicate-key',
      key: 'b',
    });
  });

  it('keeps "__proto__" an ordinary key', () => {
    const value = parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('accepts only I-JSON: no lone surrogates, comments, trailing commas, NaN or extra text', () => {
    for (const bad of [
      '{"a": "\\ud800"}',
      '{"a": "\\udc00x"}',
      '{"a": 1,}',
      '[1,]',
      '{"a": 1} // note',
      '{a: 1}',
      "{'a': 1}",
      '{"a": NaN}',
      '{"a": 01}',
      '{"a": "tab\there"}',
      '\u00a0{"a": 1}',
      '{"a": 1} {"b": 2}',
    ]) {
      expect(
        errorOf(() => parse(bad)),
        bad,
      ).toMatchObject({ kind: 'syntax' });
    }
    expect(parse('{"a": "\\ud83d\\ude00"}')).toEqual({ a: '😀' });
  });

  it('stops at its depth limit without recursing further', () => {
    expect(errorOf(() => parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 16))).toMatchObject({
      kind: 'depth',
    });
    expect(parse(`${'['.repeat(16)}${']'.repeat(16)}`, 16)).toBeDefined();
  });

  it('scans top-level keys within a character bound, as far as the document reads', () => {
    expect(scanTopLevelKeys('{"a": {"text": 1}, "b": [1, 2]}', { maxDepth: 16, maxChars: 1000 })).toEqual({
      object: true,
      keys: ['a', 'b'],
    });
    const cut = scanTopLevelKeys(`{"media": [], "pad": "${'x'.repeat(5000)}"}`, {
      maxDepth: 16,
      maxChars: 100,
    });
    expect(cut.keys).toEqual(['media', 'pad']);
    expect(cut.error?.kind).toBe('syntax');
    expect(scanTopLevelKeys('[{"text": 1}]', { maxDepth: 16, maxChars: 100 }).object).toBe(false);
  });
});
