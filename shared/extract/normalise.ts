/**
 * Evasion-aware text normalisation: undoes what people do to slip a word past exact matching —
 * look-alike letters from other scripts and styled Unicode (`раураl`, `𝔣𝔲𝔫𝔫𝔶`, `ｆｕｌｌ`), accents and
 * stacked combining marks (`z̷a̷l̷g̷o̷`), invisible characters and bidi controls (`id\u200biot`,
 * isolates U+2066–2069, overrides U+202A–202E), leetspeak (`k1ll`, `h3ll0`), letters spaced out
 * (`k i l l`, `k.i.l.l`), masked letters (`f*ck`, `sh#t`) and elongation (`looooser`).
 *
 * Every character of the result remembers the range of the original text it came from, so a match
 * in the normalised text quotes the original span as evidence (`originalRange`). Term lists
 * (shared/matching/terms.ts) match against it, and the text model's featurizer reads `text`
 * (shared/text/featurize.ts, `evasion: true`), so the model is trained and served on the same folding.
 */
import { confusablesMap } from 'confusables';

export interface NormalisedText {
  /**
   * Lower case; confusables and styled letters folded to ASCII; marks and invisible characters
   * removed; leetspeak decoded inside words; spaced-out letters joined; runs of one letter capped at 3.
   * Letters of scripts with no Latin look-alike (CJK, Arabic, …) are kept, lower-cased.
   */
  readonly text: string;
  /** The text it was made from. */
  readonly original: string;
  /** For each UTF-16 unit of `text`: where its source starts in `original`. */
  readonly starts: Uint32Array;
  /** For each UTF-16 unit of `text`: where its source ends in `original` (exclusive). */
  readonly ends: Uint32Array;
  /** Ranges of `text` that were spelled out letter by letter (`k i l l` → `kill`), start inclusive. */
  readonly joined: readonly (readonly [number, number])[];
}

/** One character of the text being built, with the original range it stands for. */
interface Unit {
  c: string;
  s: number;
  e: number;
}

/** Dropped outright: format characters (zero-width, bidi controls, soft hyphen) and marks (variation selectors too). */
const DROPPED = /^[\p{Cf}\p{M}]$/u;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const LETTER = /^\p{L}$/u;
const ASCII = /^[\x20-\x7e]*$/;

/** Where the confusables table maps to a look-alike that is not the letter's reading. */
const OVERRIDES: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'ss',
  // Typographic punctuation, so separators and apostrophes look the same whatever the keyboard.
  '\u2018': "'",
  '\u2019': "'",
  '\u201b': "'",
  '\u2032': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u2033': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
};

/** Leetspeak: digits and symbols read as letters inside a word. `1` is read as `i` (term matching treats i and l alike). */
export const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '+': 't',
};
const LEET_SYMBOL = /^[@$!|+]$/;

const folded = new Map<string, string>();

/** One code point → its lower-case ASCII reading, or itself (lower-cased) when it has none. */
function foldChar(ch: string): string {
  const cached = folded.get(ch);
  if (cached !== undefined) return cached;
  let out: string;
  if (ASCII.test(ch)) out = ch.toLowerCase();
  else if (OVERRIDES[ch] !== undefined) out = OVERRIDES[ch];
  else if (/^\s$/u.test(ch)) out = ch === '\n' || ch === '\t' ? ch : ' ';
  else {
    // NFKD folds styled forms (fullwidth, mathematical, circled, ligatures) and splits off accents.
    const decomposed = ch.normalize('NFKD').replace(/\p{M}/gu, '');
    if (decomposed && ASCII.test(decomposed)) out = decomposed.toLowerCase();
    else {
      // Letters and digits that look like Latin ones (Cyrillic а, Greek ο, small capitals, …).
      const base = LETTER_OR_DIGIT.test(ch)
        ? (confusablesMap.get(ch) ?? (decomposed ? confusablesMap.get(decomposed) : undefined))
        : undefined;
      out = base && ASCII.test(base) ? base.toLowerCase() : (decomposed || ch).toLowerCase();
    }
  }
  folded.set(ch, out);
  return out;
}

/** Confusables, case, marks and invisible characters. */
function fold(original: string): Unit[] {
  const units: Unit[] = [];
  let i = 0;
  for (const ch of original) {
    const s = i;
    i += ch.length;
    if (DROPPED.test(ch)) {
      // A mark belongs to the letter before it: the letter's range grows to cover it.
      const last = units[units.length - 1];
      if (last) last.e = i;
      continue;
    }
    for (const c of foldChar(ch)) units.push({ c, s, e: i });
  }
  return units;
}

const isTokenChar = (c: string) => LETTER_OR_DIGIT.test(c) || LEET_SYMBOL.test(c);

/**
 * Leetspeak inside a word: digits and symbols become letters in a word that has at least two
 * letters (`k1ll`, `1d10t`, `$hit`), not in numbers, dates or `b4`; a symbol at the end of a word
 * stays punctuation (`kill!`).
 */
function decodeLeet(units: Unit[]): void {
  let i = 0;
  while (i < units.length) {
    if (!isTokenChar(units[i]!.c)) {
      i++;
      continue;
    }
    let j = i;
    while (j < units.length && isTokenChar(units[j]!.c)) j++;
    let letters = 0;
    let leet = 0;
    for (let k = i; k < j; k++) {
      const c = units[k]!.c;
      if (LEET[c] !== undefined) leet++;
      else if (LETTER.test(c)) letters++;
    }
    if (letters >= 2 && leet > 0) {
      for (let k = i; k < j; k++) {
        const u = units[k]!;
        const letter = LEET[u.c];
        const symbolAtEnd = LEET_SYMBOL.test(u.c) && k === j - 1;
        if (letter !== undefined && !symbolAtEnd) u.c = letter;
      }
    }
    i = j;
  }
}

/** Separators that may stand between spelled-out letters: spaces, punctuation and a few ASCII symbols, at most 3. */
const SEPARATOR = /^[\s\p{P}*~^+=|/\\]$/u;
const MAX_SEPARATOR = 3;
/** Fewer single letters in a row than this are ordinary words ("I", "a"), not a word spelled out. */
const MIN_SPELLED = 3;

/** `k i l l`, `k.i.l.l`, `k - i - l - l` → `kill`. Returns the joined ranges as unit indices of the result. */
function joinSpelledOut(units: Unit[]): { units: Unit[]; joined: [number, number][] } {
  const out: Unit[] = [];
  const joined: [number, number][] = [];
  let i = 0;
  const singleAt = (k: number) =>
    k < units.length &&
    LETTER_OR_DIGIT.test(units[k]!.c) &&
    (k === 0 || !LETTER_OR_DIGIT.test(units[k - 1]!.c)) &&
    (k + 1 >= units.length || !LETTER_OR_DIGIT.test(units[k + 1]!.c));
  while (i < units.length) {
    if (!singleAt(i)) {
      out.push(units[i]!);
      i++;
      continue;
    }
    // Collect single letters separated by short separator runs (no line breaks).
    const letters = [i];
    let k = i + 1;
    for (;;) {
      let sep = 0;
      while (k + sep < units.length && sep <= MAX_SEPARATOR && SEPARATOR.test(units[k + sep]!.c)) {
        if (units[k + sep]!.c === '\n') break;
        sep++;
      }
      if (sep === 0 || sep > MAX_SEPARATOR || !singleAt(k + sep)) break;
      letters.push(k + sep);
      k += sep + 1;
    }
    if (letters.length >= MIN_SPELLED) {
      const start = out.length;
      for (const l of letters) out.push(units[l]!);
      joined.push([start, out.length]);
      i = letters[letters.length - 1]! + 1;
    } else {
      out.push(units[i]!);
      i++;
    }
  }
  return { units: out, joined };
}

/** The longest run of one letter kept: `looooser` → `looser`+`o`; 3 still tells "elongated" from a double letter. */
export const MAX_LETTER_RUN = 3;

function capRuns(units: Unit[], joined: [number, number][]): Unit[] {
  const out: Unit[] = [];
  const remap = new Int32Array(units.length + 1);
  let run = 0;
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    const prev = out[out.length - 1];
    run = prev && prev.c === u.c && LETTER.test(u.c) ? run + 1 : 1;
    remap[i] = out.length;
    if (run > MAX_LETTER_RUN && prev) prev.e = Math.max(prev.e, u.e);
    else out.push(u);
  }
  remap[units.length] = out.length;
  for (const range of joined) {
    range[0] = remap[range[0]]!;
    range[1] = remap[range[1]]!;
  }
  return out;
}

/**
 * Words people mask with `*` or `#` (`f*ck`, `sh**`, `n*gger`), in the order a pattern that fits
 * several is read (`s***` → `shit`). Only these are unmasked: a mask over an unknown word stays.
 */
export const MASKED_WORDS: readonly string[] = [
  'fuck',
  'fucking',
  'fucker',
  'fucked',
  'motherfucker',
  'shit',
  'bitch',
  'bitches',
  'cunt',
  'dick',
  'cock',
  'pussy',
  'asshole',
  'ass',
  'bastard',
  'whore',
  'slut',
  'nigger',
  'niggers',
  'nigga',
  'faggot',
  'fag',
  'retard',
  'retarded',
  'twat',
  'wanker',
  'damn',
  'piss',
  'kill',
  'rape',
];
const MASK = /^[*#]$/;
const WORD_OR_MASK = (c: string) => LETTER_OR_DIGIT.test(c) || MASK.test(c);

/** `f*ck`, `f**k`, `sh#t` → the one word of MASKED_WORDS the visible letters fit (first letter visible). */
function unmaskWords(units: Unit[]): void {
  let i = 0;
  while (i < units.length) {
    if (!WORD_OR_MASK(units[i]!.c)) {
      i++;
      continue;
    }
    let j = i;
    let masks = 0;
    while (j < units.length && WORD_OR_MASK(units[j]!.c)) {
      if (MASK.test(units[j]!.c)) masks++;
      j++;
    }
    const word = units.slice(i, j).map((u) => u.c);
    if (masks > 0 && masks < word.length && LETTER.test(word[0]!)) {
      const fit = MASKED_WORDS.find(
        (w) => w.length === word.length && word.every((c, k) => MASK.test(c) || c === w[k]),
      );
      if (fit !== undefined) for (let k = i; k < j; k++) units[k]!.c = fit[k - i]!;
    }
    i = j;
  }
}

/** Normalises `original` for matching; see `NormalisedText`. */
export function normalise(original: string): NormalisedText {
  const units = fold(original);
  // Masks first: a `*` inside a word would otherwise cut it into letters that look spelled out.
  unmaskWords(units);
  // Joined next, so a word spelled out in leetspeak (`k.1.l.l`) is decoded as the word it makes.
  const spelled = joinSpelledOut(units);
  decodeLeet(spelled.units);
  const capped = capRuns(spelled.units, spelled.joined);
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  // Unit index → UTF-16 index of `text` (a kept astral character is two units of text).
  const at = new Int32Array(capped.length + 1);
  for (let i = 0; i < capped.length; i++) {
    const u = capped[i]!;
    at[i] = text.length;
    text += u.c;
    for (let k = 0; k < u.c.length; k++) {
      starts.push(u.s);
      ends.push(u.e);
    }
  }
  at[capped.length] = text.length;
  return {
    text,
    original,
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(ends),
    joined: spelled.joined.map(([s, e]) => [at[s]!, at[e]!] as const),
  };
}

/** The range of the original text that `[start, end)` of the normalised text came from. */
export function originalRange(n: NormalisedText, start: number, end: number): [number, number] {
  if (end <= start) {
    const at = start < n.starts.length ? n.starts[start]! : n.original.length;
    return [at, at];
  }
  return [n.starts[start]!, n.ends[end - 1]!];
}
