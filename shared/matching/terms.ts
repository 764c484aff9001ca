/**
 * Term lists (issue 18): per policy, a blocklist and an allowlist of words, phrases and regular
 * expressions, one per line (`re:` before a regular expression), matched against typed text, OCR
 * text and transcripts after the evasion-aware normalisation of shared/extract/normalise.ts.
 *
 * - A word or phrase matches whole words of the normalised text: `idiot` matches `ＩＤＩＯＴ`,
 *   `1d10t`, `i d i o t` and `idiooooot` but not `idiots` or `idiotic` (list those, or use `re:`).
 *   Letters `i` and `l` count as one (leetspeak's `1` is either); a letter written three or more
 *   times matches it written once or twice. The words of a phrase may be separated by anything
 *   that is not a letter or digit, or by nothing (`kill yourself` matches `#killyourself`).
 *   Inside a word spelled out letter by letter (`y o u a r e a n i d i o t`) any run matches.
 * - `re:<pattern>` runs the pattern (RE2 syntax, shared/matching/linear-regex.ts: linear time
 *   whatever the pattern) over the normalised text, which is lower case.
 * - An allowlist match that covers a blocklist match exempts it (`scunthorpe` over `re:cunt`).
 *
 * Every hit carries the range of the original text it matched, for the verdict's evidence.
 */
import { type NormalisedText, normalise, originalRange } from '#shared/extract/normalise.ts';
import { compileRegexSet, LinearRegexError, type LinearRegexSet } from './linear-regex.ts';

/** The two lists a policy has. */
export type TermListName = 'blocklist' | 'allowlist';
export const TERM_LIST_NAMES: readonly TermListName[] = ['blocklist', 'allowlist'];

/** The prefix of a line holding a regular expression. */
export const REGEX_PREFIX = 're:';
/** Lines one list may hold. */
export const MAX_TERMS = 100_000;
/** Characters one line may hold. */
export const MAX_TERM_CHARS = 1000;
/** Hits reported per text. */
export const MAX_HITS_PER_TEXT = 50;

/** A malformed term list: which line, and why. Nothing is loaded from the list. */
export class TermListError extends Error {
  override name = 'TermListError';
  constructor(
    readonly list: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${list} line ${line}: ${reason}`);
  }
}

/** One run of a letter in a word: `kill` is k×1 i×1 l×2. */
interface Run {
  c: string;
  n: number;
}

/** A word or phrase, as the runs of its letters run together. */
interface WordsEntry {
  term: string;
  runs: Run[];
}

/** A hit in the normalised text, before it is mapped back to the original. */
interface RawHit {
  term: string;
  start: number;
  end: number;
}

export interface TermList {
  readonly name: TermListName;
  /** The lines as written (blank lines dropped), in order. */
  readonly terms: readonly string[];
}

/** Parses a list file; throws `TermListError` with the line number of the first bad line. */
export function parseTermList(text: string, name: TermListName, label: string = name): TermList {
  const terms: string[] = [];
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  const regexes: { line: number; pattern: string }[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const n = i + 1;
    if (line.length > MAX_TERM_CHARS)
      throw new TermListError(label, n, `${line.length} characters; the limit is ${MAX_TERM_CHARS}`);
    if (line.startsWith(REGEX_PREFIX)) {
      const pattern = line.slice(REGEX_PREFIX.length);
      if (!pattern.trim()) throw new TermListError(label, n, 'empty regular expression after re:');
      try {
        compileRegexSet([pattern]);
      } catch (err) {
        if (err instanceof LinearRegexError) throw new TermListError(label, n, err.message);
        throw err;
      }
      regexes.push({ line: n, pattern });
    } else if (wordsOf(normalise(line)).length === 0) {
      throw new TermListError(label, n, `"${line}" has no letters or digits (write a symbol as re:)`);
    }
    terms.push(line);
    if (terms.length > MAX_TERMS) throw new TermListError(label, n, `over ${MAX_TERMS} lines`);
  });
  // The patterns run as one program: check they fit together, and blame the line that overflows.
  try {
    compileRegexSet(regexes.map((r) => r.pattern));
  } catch (err) {
    if (!(err instanceof LinearRegexError)) throw err;
    let fits = 0;
    while (fits < regexes.length) {
      try {
        compileRegexSet(regexes.slice(0, fits + 1).map((r) => r.pattern));
        fits++;
      } catch {
        break;
      }
    }
    throw new TermListError(label, regexes[fits]?.line ?? 0, err.message);
  }
  return { name, terms };
}

/** The list as a file, one term per line. */
export function formatTermList(list: TermList): string {
  return list.terms.map((t) => `${t}\n`).join('');
}

/** A hit of one list in one text. */
export interface TermHit {
  list: TermListName;
  /** The list's line that matched, as written. */
  term: string;
  /** `[start, end)` in the original text. */
  range: [number, number];
  /** The original text of that range. */
  excerpt: string;
}

export interface TermMatcher {
  /** Terms in both lists. */
  readonly size: number;
  /** The blocklist's hits in `text` that no allowlist hit covers, in text order. */
  match(text: string): TermHit[];
}

interface Word {
  start: number;
  end: number;
  runs: Run[];
  key: string;
  /** Spelled out letter by letter: any stretch of it may be a word. */
  spelled: boolean;
}

/** `i` and `l` (and so leetspeak's `1`) are one letter to the index. */
const foldKey = (c: string) => (c === 'l' ? 'i' : c);
const WORD_CHAR = /[\p{L}\p{N}]/u;

function runsOf(chars: Iterable<string>): Run[] {
  const runs: Run[] = [];
  for (const c of chars) {
    const last = runs[runs.length - 1];
    if (last && last.c === c) last.n++;
    else runs.push({ c, n: 1 });
  }
  return runs;
}

const keyOf = (runs: readonly Run[]) => runs.map((r) => foldKey(r.c)).join('');

/** The words of a normalised text: runs of letters and digits. */
function wordsOf(n: NormalisedText): Word[] {
  const words: Word[] = [];
  const text = n.text;
  let i = 0;
  while (i < text.length) {
    const cp = String.fromCodePoint(text.codePointAt(i)!);
    if (!WORD_CHAR.test(cp)) {
      i += cp.length;
      continue;
    }
    const start = i;
    const chars: string[] = [];
    while (i < text.length) {
      const c = String.fromCodePoint(text.codePointAt(i)!);
      if (!WORD_CHAR.test(c)) break;
      chars.push(c);
      i += c.length;
    }
    const runs = runsOf(chars);
    const spelled = n.joined.some(([s, e]) => s <= start && i <= e);
    words.push({ start, end: i, runs, key: keyOf(runs), spelled });
  }
  return words;
}

/** A letter written three or more times (the normaliser's cap) stands for it written once or twice too. */
const ELONGATED = 3;

function runsMatch(term: readonly Run[], text: readonly Run[]): boolean {
  if (term.length !== text.length) return false;
  for (let k = 0; k < term.length; k++) {
    const a = term[k]!;
    const b = text[k]!;
    if (foldKey(a.c) !== foldKey(b.c)) return false;
    if (a.n !== b.n && b.n < ELONGATED) return false;
  }
  return true;
}

/** The longest stretch of a spelled-out word tried as a word of its own. */
const MAX_SPELLED_STRETCH = 40;

/** Words a term may be split across in the text (`id iot`, `kill your self`). */
const MAX_PARTS = 6;

/**
 * Words and phrases of one list, indexed by the key of their letters run together: a phrase
 * matches consecutive words of the text whose letters, run together, match its own, so the
 * spacing between (or inside) its words does not matter, while its ends fall on word boundaries.
 */
class WordIndex {
  private readonly byKey = new Map<string, WordsEntry[]>();
  private longest = 0;

  add(term: string): void {
    const words = wordsOf(normalise(term));
    const runs = runsOf(words.flatMap((w) => w.runs.flatMap((r) => Array.from({ length: r.n }, () => r.c))));
    const key = keyOf(runs);
    const entries = this.byKey.get(key) ?? [];
    entries.push({ term, runs });
    this.byKey.set(key, entries);
    this.longest = Math.max(this.longest, key.length);
  }

  /** Hits as `[start, end)` ranges of the normalised text. */
  find(words: readonly Word[], out: RawHit[]): void {
    for (let t = 0; t < words.length && out.length < MAX_HITS_PER_TEXT; t++) {
      const runs: Run[] = [];
      let key = '';
      for (let j = t; j < Math.min(words.length, t + MAX_PARTS); j++) {
        for (const r of words[j]!.runs) {
          const last = runs[runs.length - 1];
          if (last && last.c === r.c) last.n += r.n;
          else {
            runs.push({ ...r });
            key += foldKey(r.c);
          }
        }
        if (key.length > this.longest) break;
        for (const entry of this.byKey.get(key) ?? []) {
          if (runsMatch(entry.runs, runs))
            out.push({ term: entry.term, start: words[t]!.start, end: words[j]!.end });
        }
      }
      if (words[t]!.spelled) this.findInside(words[t]!, out);
    }
  }

  /** Any stretch of a spelled-out word (`akiller` from `a k i l l e r`) against the terms. */
  private findInside(word: Word, out: RawHit[]): void {
    const chars = word.runs.flatMap((r) => Array.from({ length: r.n }, () => r.c));
    const offsets: number[] = [];
    let at = word.start;
    for (const c of chars) {
      offsets.push(at);
      at += c.length;
    }
    offsets.push(at);
    for (let i = 0; i < chars.length; i++) {
      const runs: Run[] = [];
      let key = '';
      for (let j = i; j < Math.min(chars.length, i + MAX_SPELLED_STRETCH); j++) {
        const c = chars[j]!;
        const last = runs[runs.length - 1];
        if (last && last.c === c) last.n++;
        else {
          runs.push({ c, n: 1 });
          key += foldKey(c);
        }
        if (key.length > this.longest) break;
        // The whole word was already tried as a word.
        if (i === 0 && j === chars.length - 1) continue;
        for (const entry of this.byKey.get(key) ?? []) {
          if (runsMatch(entry.runs, runs))
            out.push({ term: entry.term, start: offsets[i]!, end: offsets[j + 1]! });
        }
      }
    }
  }
}

/** One list, compiled: its words and phrases, and its regular expressions as one program. */
class CompiledList {
  private readonly words = new WordIndex();
  private readonly regex: LinearRegexSet;

  constructor(readonly list: TermList) {
    const patterns: string[] = [];
    for (const term of list.terms) {
      if (term.startsWith(REGEX_PREFIX)) patterns.push(term.slice(REGEX_PREFIX.length));
      else this.words.add(term);
    }
    this.regex = compileRegexSet(patterns);
  }

  find(n: NormalisedText, words: readonly Word[]): RawHit[] {
    const out: RawHit[] = [];
    this.words.find(words, out);
    for (const m of this.regex.matchAll(n.text)) {
      out.push({ term: `${REGEX_PREFIX}${this.regex.sources[m.pattern]}`, start: m.start, end: m.end });
    }
    return out;
  }
}

/** Builds the matcher of a policy's lists (either may be absent). */
export function createTermMatcher(lists: { blocklist?: TermList; allowlist?: TermList }): TermMatcher {
  const block = lists.blocklist?.terms.length ? new CompiledList(lists.blocklist) : undefined;
  const allow = lists.allowlist?.terms.length ? new CompiledList(lists.allowlist) : undefined;
  return {
    size: (lists.blocklist?.terms.length ?? 0) + (lists.allowlist?.terms.length ?? 0),
    match(text) {
      if (!block || !text) return [];
      const n = normalise(text);
      const words = wordsOf(n);
      const blocked = block.find(n, words);
      if (!blocked.length) return [];
      const allowed = allow?.find(n, words) ?? [];
      const seen = new Set<string>();
      const hits: TermHit[] = [];
      for (const hit of blocked.sort((a, b) => a.start - b.start || b.end - a.end)) {
        if (allowed.some((a) => a.start <= hit.start && a.end >= hit.end)) continue;
        const range = originalRange(n, hit.start, hit.end);
        const id = `${hit.term}\u0000${range[0]}:${range[1]}`;
        if (seen.has(id)) continue;
        seen.add(id);
        hits.push({ list: 'blocklist', term: hit.term, range, excerpt: text.slice(range[0], range[1]) });
        if (hits.length >= MAX_HITS_PER_TEXT) break;
      }
      return hits;
    },
  };
}
