/**
 * Regular expressions from term lists, run in time linear in the text whatever the pattern: RE2's
 * syntax (without backreferences and lookaround, which no linear-time engine can run) and RE2's
 * algorithm, a Thompson NFA simulated over all states at once, so a pattern like `(a+)+$` that
 * makes a backtracking engine take exponential time costs here what any other pattern costs.
 *
 * Why not the `re2` packages: `re2` 1.27.1 is a native addon whose install downloads a prebuilt
 * binary (unreachable here) or else compiles RE2 and Abseil with node-gyp, and the arm64 Lambda would
 * need that addon cross-compiled for it; `re2-wasm` 1.0.2 runs in a fixed 16 MiB WebAssembly heap
 * that aborts on a list of 100 patterns like `\w{0,100}` and stays broken for the process
 * afterwards. Written by hand for that reason (docs/MATCHING.md); this engine has no heap of its
 * own, and its cost is bounded by `MAX_PROGRAM` instructions per list.
 *
 * Semantics: unanchored search, leftmost-longest (POSIX) matches, case-insensitive, `.` does not
 * match a newline, `\b` and `\w` count letters and digits of any script as word characters.
 */

/** The longest pattern a list may hold, in characters. */
export const MAX_PATTERN_CHARS = 1000;
/** Instructions of one compiled set (counted repetitions expanded): bounds the time per character. */
export const MAX_PROGRAM = 20_000;
/** Matches reported per text: enough for evidence, bounded for a text full of hits. */
export const MAX_MATCHES_PER_TEXT = 50;

export class LinearRegexError extends Error {
  override name = 'LinearRegexError';
}

/** One match of a set: which pattern, and where (UTF-16, `[start, end)`). */
export interface RegexSetMatch {
  pattern: number;
  start: number;
  end: number;
}

export interface LinearRegexSet {
  /** The patterns as written, in the order `RegexSetMatch.pattern` counts them. */
  readonly sources: readonly string[];
  /** Instructions in the compiled set. */
  readonly size: number;
  /** Non-overlapping matches in `text`, leftmost-longest (of patterns matching the same span, the first listed). */
  matchAll(text: string): RegexSetMatch[];
}

// ---- Parsing ---------------------------------------------------------------------------------

type CharTest = (c: string) => boolean;
type Node =
  | { t: 'char'; test: CharTest }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; item: Node; min: number; max: number }
  | { t: 'assert'; kind: '^' | '$' | 'b' | 'B' }
  | { t: 'empty' };

/** RE2's limit on a counted repetition. */
const MAX_REPEAT = 1000;
const WORD = /^[\p{L}\p{N}_]$/u;
const isWord = (c: string | undefined) => c !== undefined && WORD.test(c);
const DIGIT: CharTest = (c) => c >= '0' && c <= '9';
const SPACE: CharTest = (c) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const not =
  (test: CharTest): CharTest =>
  (c) =>
    !test(c);

/** A Unicode property (`\p{L}`, `\pN`, `\p{Greek}`) tested one character at a time: no backtracking. */
function property(name: string, negated: boolean): CharTest {
  // RE2 names scripts bare (`\p{Greek}`); JavaScript wants `\p{Script=Greek}` for them.
  const re = [`\\p{${name}}`, `\\p{Script=${name}}`]
    .map((p) => {
      try {
        return new RegExp(`^${p}$`, 'u');
      } catch {
        return undefined;
      }
    })
    .find((r) => r !== undefined);
  if (!re) throw new LinearRegexError(`unknown Unicode class \\p{${name}}`);
  return negated ? (c) => !re.test(c) : (c) => re.test(c);
}

class Parser {
  private i = 0;
  constructor(private readonly src: string[]) {}

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) throw this.error(`unexpected ${this.src[this.i]}`);
    return node;
  }

  private error(message: string): LinearRegexError {
    return new LinearRegexError(`${message} at position ${this.i + 1}`);
  }

  private peek(k = 0): string | undefined {
    return this.src[this.i + k];
  }

  private alternation(): Node {
    const items = [this.concatenation()];
    while (this.peek() === '|') {
      this.i++;
      items.push(this.concatenation());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private concatenation(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      items.push(this.quantified(this.atom()));
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private quantified(atom: Node): Node {
    let node = atom;
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*' || c === '+' || c === '?') {
        this.i++;
        [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
      } else if (c === '{' && this.countedAhead()) {
        [min, max] = this.counted();
      } else return node;
      if (node.t === 'assert' || node.t === 'empty') throw this.error('nothing to repeat');
      if (this.peek() === '?') this.i++; // lazy: the same matches under leftmost-longest
      if (this.peek() === '+') throw this.error('possessive quantifiers are not supported');
      node = { t: 'rep', item: node, min, max };
    }
  }

  private countedAhead(): boolean {
    let k = this.i + 1;
    while (k < this.src.length && /[0-9,]/.test(this.src[k]!)) k++;
    return this.src[k] === '}' && /^\{\d+(,\d*)?\}$/.test(this.src.slice(this.i, k + 1).join(''));
  }

  private counted(): [number, number] {
    let body = '';
    this.i++; // {
    while (this.peek() !== '}') body += this.src[this.i++];
    this.i++; // }
    const [a, b] = body.split(',');
    const min = Number(a);
    const max = b === undefined ? min : b === '' ? Infinity : Number(b);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
      throw this.error(`repetition {${body}} is over RE2's limit of ${MAX_REPEAT}`);
    if (max < min) throw this.error(`bad repetition {${body}}`);
    return [min, max];
  }

  private atom(): Node {
    const c = this.src[this.i++]!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return { t: 'char', test: this.charClass() };
      case '.':
        return { t: 'char', test: (x) => x !== '\n' };
      case '^':
        return { t: 'assert', kind: '^' };
      case '$':
        return { t: 'assert', kind: '$' };
      case '\\':
        return this.escape(false);
      case '*':
      case '+':
      case '?':
        throw this.error('nothing to repeat');
      default:
        return { t: 'char', test: literal(c) };
    }
  }

  private group(): Node {
    if (this.peek() === '?') {
      const next = this.peek(1);
      if (next === ':') this.i += 2;
      else if (
        next === '=' ||
        next === '!' ||
        (next === '<' && (this.peek(2) === '=' || this.peek(2) === '!'))
      )
        throw this.error('lookaround is not supported (it cannot run in linear time)');
      else if (next === 'P' || next === '<') {
        // A named group: matched like any group (names are not reported).
        while (this.i < this.src.length && this.peek() !== '>') this.i++;
        if (this.peek() !== '>') throw this.error('unterminated group name');
        this.i++;
      } else throw this.error('inline flags are not supported');
    }
    const inner = this.alternation();
    if (this.peek() !== ')') throw this.error('missing )');
    this.i++;
    return inner;
  }

  /** An escape outside a class (an assertion, a class or a literal), or inside one (`inClass`). */
  private escape(inClass: boolean): Node {
    const c = this.src[this.i++];
    if (c === undefined) throw this.error('trailing backslash');
    switch (c) {
      case 'd':
        return { t: 'char', test: DIGIT };
      case 'D':
        return { t: 'char', test: not(DIGIT) };
      case 's':
        return { t: 'char', test: SPACE };
      case 'S':
        return { t: 'char', test: not(SPACE) };
      case 'w':
        return { t: 'char', test: isWord };
      case 'W':
        return { t: 'char', test: (x) => !isWord(x) };
      case 'p':
      case 'P': {
        let name = this.src[this.i++];
        if (name === '{') {
          name = '';
          while (this.i < this.src.length && this.peek() !== '}') name += this.src[this.i++];
          if (this.peek() !== '}') throw this.error('unterminated \\p{');
          this.i++;
        }
        if (!name) throw this.error('missing class name after \\p');
        return { t: 'char', test: property(name, c === 'P') };
      }
      case 'b':
      case 'B':
        if (inClass) throw this.error('\\b is not allowed in a class');
        return { t: 'assert', kind: c };
      case 'n':
        return { t: 'char', test: literal('\n') };
      case 't':
        return { t: 'char', test: literal('\t') };
      case 'r':
        return { t: 'char', test: literal('\r') };
      case 'f':
        return { t: 'char', test: literal('\f') };
      case 'v':
        return { t: 'char', test: literal('\v') };
      case 'x':
        return { t: 'char', test: literal(this.hex()) };
      default:
        if (/[0-9]/.test(c))
          throw this.error('backreferences are not supported (they cannot run in linear time)');
        if (/[\p{L}\p{N}]/u.test(c)) throw this.error(`unknown escape \\${c}`);
        return { t: 'char', test: literal(c) };
    }
  }

  private hex(): string {
    let digits = '';
    if (this.peek() === '{') {
      this.i++;
      while (this.i < this.src.length && this.peek() !== '}') digits += this.src[this.i++];
      this.i++;
    } else digits = `${this.src[this.i++] ?? ''}${this.src[this.i++] ?? ''}`;
    const cp = Number.parseInt(digits, 16);
    if (!/^[0-9a-fA-F]{1,6}$/.test(digits) || cp > 0x10ffff) throw this.error(`bad \\x escape ${digits}`);
    return String.fromCodePoint(cp);
  }

  /** `[...]` after its `[`: ranges, escapes and properties, possibly negated. */
  private charClass(): CharTest {
    const negated = this.peek() === '^';
    if (negated) this.i++;
    const tests: CharTest[] = [];
    let first = true;
    while (this.i < this.src.length && (this.peek() !== ']' || first)) {
      first = false;
      const lo = this.classAtom();
      if (
        this.peek() === '-' &&
        this.peek(1) !== ']' &&
        this.peek(1) !== undefined &&
        typeof lo === 'string'
      ) {
        this.i++;
        const hi = this.classAtom();
        if (typeof hi !== 'string') throw this.error('bad range in class');
        const [a, b] = [lo.codePointAt(0)!, hi.codePointAt(0)!];
        if (b < a) throw this.error(`bad range ${lo}-${hi}`);
        tests.push((x) => {
          const cp = x.codePointAt(0)!;
          return cp >= a && cp <= b;
        });
      } else tests.push(typeof lo === 'string' ? literal(lo) : lo);
    }
    if (this.peek() !== ']') throw this.error('missing ]');
    this.i++;
    // Case-insensitive like literals: [A-Z] matches the lower-case normalised text.
    const any: CharTest = (x) => tests.some((t) => t(x) || t(x.toUpperCase()) || t(x.toLowerCase()));
    return negated ? (x) => !any(x) : any;
  }

  private classAtom(): string | CharTest {
    const c = this.src[this.i++]!;
    if (c === '[' && this.peek() === ':') throw this.error('POSIX classes like [:alpha:] are not supported');
    if (c !== '\\') return c;
    const node = this.escape(true);
    return node.t === 'char' ? node.test : literal('\\');
  }
}

/** A literal, case-insensitive (the normalised text is lower case; a pattern may not be). */
function literal(c: string): CharTest {
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  return (x) => x === c || x === lower || x === upper;
}

// ---- Compiling -------------------------------------------------------------------------------

type Inst =
  | { op: 'char'; test: CharTest; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jmp'; to: number }
  | { op: 'assert'; kind: '^' | '$' | 'b' | 'B'; next: number }
  | { op: 'match'; pattern: number };

class Compiler {
  readonly prog: Inst[] = [];

  emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM)
      throw new LinearRegexError(`the patterns compile to over ${MAX_PROGRAM} instructions: simplify them`);
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  /** Emits `node` so that it continues at instruction `next`; returns its entry. Built back to front. */
  compile(node: Node, next: number): number {
    switch (node.t) {
      case 'empty':
        return next;
      case 'char':
        return this.emit({ op: 'char', test: node.test, next });
      case 'assert':
        return this.emit({ op: 'assert', kind: node.kind, next });
      case 'cat': {
        let entry = next;
        for (let k = node.items.length - 1; k >= 0; k--) entry = this.compile(node.items[k]!, entry);
        return entry;
      }
      case 'alt': {
        const entries = node.items.map((item) => this.compile(item, next));
        let entry = entries[entries.length - 1]!;
        for (let k = entries.length - 2; k >= 0; k--)
          entry = this.emit({ op: 'split', a: entries[k]!, b: entry });
        return entry;
      }
      case 'rep': {
        let entry = next;
        if (node.max === Infinity) {
          // x* : a split that loops back through the body.
          const loop = this.emit({ op: 'split', a: -1, b: entry });
          (this.prog[loop] as { a: number }).a = this.compile(node.item, loop);
          entry = loop;
        } else {
          // The optional copies, innermost first: x{0,k} = (x(x(...)?)?)?
          for (let k = 0; k < node.max - node.min; k++) {
            const after = entry;
            entry = this.emit({ op: 'split', a: this.compile(node.item, after), b: after });
          }
        }
        for (let k = 0; k < node.min; k++) entry = this.compile(node.item, entry);
        return entry;
      }
    }
  }
}

// ---- Running ---------------------------------------------------------------------------------

/** Checks one pattern; throws `LinearRegexError` saying why it cannot run. */
export function checkLinearRegex(pattern: string): void {
  compileRegexSet([pattern]);
}

/** Compiles the patterns into one program, so a text is scanned once however many there are. */
export function compileRegexSet(patterns: readonly string[]): LinearRegexSet {
  const compiler = new Compiler();
  const starts: number[] = [];
  patterns.forEach((pattern, index) => {
    if (pattern.length === 0) throw new LinearRegexError('empty pattern');
    if (pattern.length > MAX_PATTERN_CHARS)
      throw new LinearRegexError(
        `pattern is ${pattern.length} characters; the limit is ${MAX_PATTERN_CHARS}`,
      );
    const ast = new Parser([...pattern]).parse();
    starts.push(compiler.compile(ast, compiler.emit({ op: 'match', pattern: index })));
  });
  const prog = compiler.prog;
  return {
    sources: [...patterns],
    size: prog.length,
    matchAll: (text) => run(prog, starts, text),
  };
}

function run(prog: readonly Inst[], starts: readonly number[], text: string): RegexSetMatch[] {
  if (starts.length === 0) return [];
  const chars = [...text];
  const offsets = new Int32Array(chars.length + 1);
  for (let k = 0, u = 0; k <= chars.length; k++) {
    offsets[k] = u;
    u += chars[k]?.length ?? 0;
  }
  const found: RegexSetMatch[] = [];
  let from = 0;
  while (from <= chars.length && found.length < MAX_MATCHES_PER_TEXT) {
    const m = search(prog, starts, chars, from);
    if (!m) break;
    if (m.end > m.start) found.push({ pattern: m.pattern, start: offsets[m.start]!, end: offsets[m.end]! });
    from = m.end > m.start ? m.end : m.start + 1;
  }
  return found;
}

/** The leftmost-longest match starting at or after `from` (code point indices), or undefined. */
function search(
  prog: readonly Inst[],
  starts: readonly number[],
  chars: readonly string[],
  from: number,
): { pattern: number; start: number; end: number } | undefined {
  const n = prog.length;
  // Two thread lists (pc + start), each a sparse set keyed by pc: one thread per state, the
  // earliest start winning, so a step costs at most one visit per instruction.
  let pcs = new Int32Array(n);
  let startsOf = new Int32Array(n);
  let count = 0;
  let nextPcs = new Int32Array(n);
  let nextStarts = new Int32Array(n);
  let nextCount = 0;
  const seen = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let best: { pattern: number; start: number; end: number } | undefined;

  const assertHolds = (kind: '^' | '$' | 'b' | 'B', at: number) => {
    if (kind === '^') return at === 0;
    if (kind === '$') return at === chars.length;
    const boundary = isWord(chars[at - 1]) !== isWord(chars[at]);
    return kind === 'b' ? boundary : !boundary;
  };

  /** Adds `pc` and what it reaches without consuming a character, at position `at`, to the next list. */
  const add = (pc0: number, start: number, at: number, generation: number) => {
    stack.push(pc0);
    while (stack.length) {
      const pc = stack.pop()!;
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      const inst = prog[pc]!;
      switch (inst.op) {
        case 'jmp':
          stack.push(inst.to);
          break;
        case 'split':
          // b pushed first so a is explored first (order matters only for ties; kept stable).
          stack.push(inst.b, inst.a);
          break;
        case 'assert':
          if (assertHolds(inst.kind, at)) stack.push(inst.next);
          break;
        case 'match':
          if (!best || start < best.start || (start === best.start && at > best.end))
            best = { pattern: inst.pattern, start, end: at };
          else if (start === best.start && at === best.end && inst.pattern < best.pattern)
            best.pattern = inst.pattern;
          break;
        case 'char':
          nextPcs[nextCount] = pc;
          nextStarts[nextCount] = start;
          nextCount++;
          break;
      }
    }
  };

  for (let at = from; at <= chars.length; at++) {
    const generation = at;
    // Threads carried over from the last character first (earlier starts), then a new one here.
    nextCount = 0;
    for (let k = 0; k < count; k++) {
      const start = startsOf[k]!;
      if (best && start > best.start) continue;
      const inst = prog[pcs[k]!] as { op: 'char'; test: CharTest; next: number };
      if (inst.test(chars[at - 1]!)) add(inst.next, start, at, generation);
    }
    if (!best) for (const entry of starts) add(entry, at, at, generation);
    if (nextCount === 0 && (best || at === chars.length)) break;
    [pcs, nextPcs] = [nextPcs, pcs];
    [startsOf, nextStarts] = [nextStarts, startsOf];
    count = nextCount;
  }
  return best;
}
