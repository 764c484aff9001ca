import { describe, expect, it } from 'vitest';
import { compileRegexSet, LinearRegexError, MAX_PROGRAM } from '#shared/matching/linear-regex.ts';

const spans = (patterns: string[], text: string) =>
  compileRegexSet(patterns)
    .matchAll(text)
    .map((m) => [m.pattern, text.slice(m.start, m.end)]);

describe('linear-time regular expressions', () => {
  it('finds non-overlapping leftmost-longest matches, case-insensitively', () => {
    expect(spans(['a|ab|abc'], 'abcd')).toEqual([[0, 'abc']]);
    expect(spans(['\\bkill\\b'], 'skill kill killer')).toEqual([[0, 'kill']]);
    expect(spans(['colou?r', 'gr[ae]y'], 'Color grey GRAY')).toEqual([
      [0, 'Color'],
      [1, 'grey'],
      [1, 'GRAY'],
    ]);
    expect(spans(['[A-Z]{2,3}\\d'], 'ab1 abcd2')).toEqual([
      [0, 'ab1'],
      [0, 'bcd2'],
    ]);
  });

  it('reports UTF-16 ranges for text with astral characters, and Unicode classes', () => {
    expect(compileRegexSet(['b+']).matchAll('日𝔂日bbb')).toEqual([{ pattern: 0, start: 4, end: 7 }]);
    expect(spans(['\\p{Han}+'], 'abc 日本語 x')).toEqual([[0, '日本語']]);
  });

  it('skips empty matches instead of standing still', () => {
    expect(spans(['x*'], 'abc')).toEqual([]);
  });

  it('runs patterns that make a backtracking engine take exponential time in linear time', () => {
    const evil = 'a'.repeat(20_000);
    const started = performance.now();
    expect(compileRegexSet(['(a+)+$', '(a|aa)+b', '(x+x+)+y']).matchAll(`${evil}!`)).toEqual([]);
    // A backtracking engine needs ~2^20000 steps here; this one a few milliseconds per 1000 characters.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses what cannot run in linear time or is malformed, saying why', () => {
    const refuse = (p: string) => () => compileRegexSet([p]);
    expect(refuse('(a)\\1')).toThrow(/backreferences are not supported/);
    expect(refuse('(?=a)b')).toThrow(/lookaround is not supported/);
    expect(refuse('(?<!a)b')).toThrow(/lookaround is not supported/);
    expect(refuse('(a')).toThrow(/missing \)/);
    expect(refuse('[a')).toThrow(/missing \]/);
    expect(refuse('a{1001}')).toThrow(/limit of 1000/);
    expect(refuse('*a')).toThrow(/nothing to repeat/);
    expect(refuse('\\q')).toThrow(LinearRegexError);
  });

  it('bounds the compiled program, so a list cannot make every character expensive', () => {
    expect(() => compileRegexSet(Array.from({ length: 30 }, () => '(\\w{0,100}){10}'))).toThrow(
      new RegExp(`over ${MAX_PROGRAM} instructions`),
    );
  });
});
