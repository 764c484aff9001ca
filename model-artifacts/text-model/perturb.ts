/**
 * Evasion perturbations of a text, each drawn from a seeded generator: what people do to slip abuse
 * past a classifier. The evasion property test (test/unit/model-artifacts/text-model/evasion.test.ts)
 * checks that each leaves the text model's score within 0.1 of the clean text's.
 */
import { MASKED_WORDS } from '#shared/extract/normalise.ts';

export type Rng = () => number;

/** Latin letters and look-alikes from Cyrillic and Greek (what the `confusables` table folds back). */
const LOOK_ALIKES: Readonly<Record<string, readonly string[]>> = {
  a: ['а'],
  c: ['с', 'ϲ'],
  e: ['е'],
  i: ['і'],
  j: ['ј'],
  o: ['о', 'ο'],
  p: ['р'],
  s: ['ѕ'],
  x: ['х'],
  y: ['у'],
  A: ['А', 'Α'],
  B: ['В', 'Β'],
  E: ['Е', 'Ε'],
  H: ['Н', 'Η'],
  I: ['І', 'Ι'],
  K: ['К', 'Κ'],
  M: ['М', 'Μ'],
  O: ['О', 'Ο'],
  P: ['Р', 'Ρ'],
  T: ['Т', 'Τ'],
  X: ['Х', 'Χ'],
};
const INVISIBLE = [
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];
const LEET: Readonly<Record<string, readonly string[]>> = {
  a: ['4', '@'],
  e: ['3'],
  i: ['1', '!'],
  o: ['0'],
  s: ['5', '$'],
  t: ['7'],
};

const choose = <T>(xs: readonly T[], rnd: Rng): T => xs[Math.floor(rnd() * xs.length)] as T;
const isLetter = (c: string) => /^\p{L}$/u.test(c);

/** Maps each word (a run of letters) through `f`, keeping everything between words. */
function mapWords(text: string, f: (word: string) => string): string {
  return text.replace(/\p{L}+/gu, f);
}

export const PERTURBATIONS = {
  /** Half the letters that have one swapped for a Cyrillic or Greek look-alike. */
  confusables: (t: string, rnd: Rng) =>
    Array.from(t, (c) => (LOOK_ALIKES[c] && rnd() < 0.5 ? choose(LOOK_ALIKES[c], rnd) : c)).join(''),
  /** Zalgo: one to three combining marks (U+0300–036F) after half the letters. */
  zalgo: (t: string, rnd: Rng) =>
    Array.from(t, (c) => {
      if (!isLetter(c) || rnd() >= 0.5) return c;
      const n = 1 + Math.floor(rnd() * 3);
      return (
        c + Array.from({ length: n }, () => String.fromCodePoint(0x300 + Math.floor(rnd() * 0x70))).join('')
      );
    }).join(''),
  /** Zero-width characters, soft hyphens, bidi overrides (U+202A–202E) and isolates (U+2066–2069) inside words. */
  invisible: (t: string, rnd: Rng) =>
    mapWords(t, (w) =>
      Array.from(w, (c, i) => (i > 0 && rnd() < 0.3 ? choose(INVISIBLE, rnd) + c : c)).join(''),
    ),
  /** Elongation: in half the words of three letters or more, one letter repeated 2–5 more times. */
  letterRuns: (t: string, rnd: Rng) =>
    mapWords(t, (w) => {
      if (w.length < 3 || rnd() >= 0.5) return w;
      const i = Math.floor(rnd() * w.length);
      return w.slice(0, i + 1) + (w[i] ?? '').repeat(2 + Math.floor(rnd() * 4)) + w.slice(i + 1);
    }),
  /** Leetspeak: in words of four letters or more, half the a/e/i/o/s/t become digits or symbols (two letters always stay). */
  leetspeak: (t: string, rnd: Rng) =>
    mapWords(t, (w) => {
      if (w.length < 4) return w;
      const chars = Array.from(w);
      let letters = chars.length;
      // Not the first letter: a word-initial digit reads as a number, not a letter.
      for (let i = 1; i < chars.length && letters > 2; i++) {
        const sub = LEET[(chars[i] ?? '').toLowerCase()];
        if (sub && rnd() < 0.5) {
          chars[i] = choose(sub, rnd);
          letters--;
        }
      }
      return chars.join('');
    }),
  /** The longest word (four letters or more) spelled out with spaces, dots or dashes between its letters. */
  spacedOut: (t: string, rnd: Rng) => {
    const words = t.match(/\p{L}{4,}/gu) ?? [];
    const longest = words.reduce((a, b) => (b.length > a.length ? b : a), '');
    if (longest === '') return t;
    const sep = choose([' ', '.', '-', ' . '], rnd);
    return t.replace(longest, Array.from(longest).join(sep));
  },
  /** Words people mask (MASKED_WORDS): every letter after the first that is a vowel (or half of the others) becomes `*`. */
  masked: (t: string, rnd: Rng) =>
    mapWords(t, (w) => {
      if (!MASKED_WORDS.includes(w.toLowerCase())) return w;
      const chars = Array.from(w);
      let masked = 0;
      for (let i = 1; i < chars.length; i++) {
        if (/[aeiou]/i.test(chars[i] ?? '') || rnd() < 0.3) {
          chars[i] = '*';
          masked++;
        }
      }
      if (masked === 0 && chars.length > 1) chars[1] = '*';
      return chars.join('');
    }),
} as const;

export type Perturbation = keyof typeof PERTURBATIONS;

/** Whether a perturbation can change this text at all (masking needs a word people mask). */
export function applies(name: Perturbation, text: string): boolean {
  if (name === 'masked')
    return (text.match(/\p{L}+/gu) ?? []).some((w) => MASKED_WORDS.includes(w.toLowerCase()));
  if (name === 'spacedOut') return /\p{L}{4,}/u.test(text);
  return /\p{L}/u.test(text);
}
