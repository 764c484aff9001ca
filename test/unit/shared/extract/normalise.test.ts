import { describe, expect, it } from 'vitest';
import { normalise, originalRange } from '#shared/extract/normalise.ts';

const text = (s: string) => normalise(s).text;

describe('evasion-aware normalisation', () => {
  it('folds confusables and styled letters to lower-case ASCII', () => {
    expect(text('раураl')).toBe('paypal'); // Cyrillic р, а, у
    expect(text('vＥⓡ𝔂 𝔽𝕌Ňℕy')).toBe('very funny');
    expect(text('Straße')).toBe('strasse');
  });

  it('removes combining marks and invisible characters', () => {
    expect(text('z̷a̷l̷g̷o̷')).toBe('zalgo');
    expect(text('id\u200bi\u200dot')).toBe('idiot');
    expect(text('ｉｄｉｏｔ')).toBe('idiot');
  });

  it('decodes leetspeak inside words but leaves numbers, short tokens and end punctuation', () => {
    expect(text('k1ll3r h3ll0 $hit 1d10t')).toBe('killer hello shit idiot');
    expect(text('2024 b4 kill!')).toBe('2024 b4 kill!');
  });

  it('joins letters spelled out with spaces or punctuation, and records where', () => {
    const n = normalise('you k i l l e r and i.d.i.o.t');
    expect(n.text).toBe('you killer and idiot');
    expect(n.joined.map(([s, e]) => n.text.slice(s, e))).toEqual(['killer', 'idiot']);
    // Ordinary one-letter words stay words.
    expect(text('I am a cat')).toBe('i am a cat');
  });

  it('caps a run of one letter at three, so elongation still differs from a double letter', () => {
    expect(text('looooooser')).toBe('loooser');
    expect(text('good')).toBe('good');
  });

  it('maps every range of the normalised text back to the original text', () => {
    const original = 'Go away, k.1.l.l.e.r!';
    const n = normalise(original);
    const at = n.text.indexOf('killer');
    const [start, end] = originalRange(n, at, at + 'killer'.length);
    expect(original.slice(start, end)).toBe('k.1.l.l.e.r');
  });

  it('keeps a combining mark with its letter and astral characters whole', () => {
    const original = 'xy é🍆 zz';
    const n = normalise(original);
    expect(n.text).toBe('xy e🍆 zz');
    const e = n.text.indexOf('e');
    expect(original.slice(...originalRange(n, e, e + 1))).toBe('é');
    const egg = n.text.indexOf('🍆');
    expect(original.slice(...originalRange(n, egg, egg + 2))).toBe('🍆');
  });

  it('reads words masked with * or # when the visible letters fit one word people mask', () => {
    expect(text('f*ck you, sh#t, f**k, b*tc*')).toBe('fuck you, shit, fuck, bitch');
    // A mask over a word nobody masks, or with no visible first letter, stays as written.
    expect(text('p*ss the s*lt, ***')).toBe('piss the s*lt, ***');
  });

  it('drops bidi isolates and overrides and points evidence at the original characters', () => {
    const original = 'you f\u2066*\u2069ck\u202e ing idiot';
    const n = normalise(original);
    expect(n.text).toBe('you fuck ing idiot');
    const at = n.text.indexOf('fuck');
    expect(original.slice(...originalRange(n, at, at + 4))).toBe('f\u2066*\u2069ck\u202e');
  });
});
