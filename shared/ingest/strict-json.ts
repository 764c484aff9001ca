/**
 * A strict, bounded JSON reader for uploads. JSON itself leaves duplicate keys undefined: JSON.parse
 * keeps the last, other parsers the first, so one document can mean two things to two readers. This
 * reader refuses a duplicate (naming it), compares keys after decoding their escapes (`"\u0074ext"`
 * is `text`), bounds nesting while it reads (so recursion never goes deeper than `maxDepth`), and
 * accepts only I-JSON (RFC 7493: RFC 8259 JSON with unique keys and no lone surrogates; no
 * comments, trailing commas or other leniency).
 */

export type JsonErrorKind = 'syntax' | 'depth' | 'duplicate-key';

export class JsonReadError extends Error {
  override name = 'JsonReadError';
  constructor(
    readonly kind: JsonErrorKind,
    message: string,
    /** Character offset in the text where reading stopped. */
    readonly offset: number,
    /** The decoded key, for `duplicate-key`. */
    readonly key?: string,
  ) {
    super(message);
  }
}

export interface JsonReadOptions {
  /** Containers (`{`, `[`) nested deeper than this are refused. */
  maxDepth: number;
}

/** One JSON value: objects are built with own properties only (`__proto__` is an ordinary key). */
export function parseStrictJson(text: string, options: JsonReadOptions): unknown {
  const reader = new Reader(text, options.maxDepth);
  reader.ws();
  const value = reader.value(0, true);
  reader.ws();
  if (reader.pos < text.length) reader.fail('unexpected text after the JSON value');
  return value;
}

/** What a bounded read of a document's top level found (for sniffing; no values are built). */
export interface TopLevelScan {
  /** The document starts as a JSON object. */
  object: boolean;
  /** Its top-level keys, decoded, in order, as far as the read got. */
  keys: string[];
  /** Where and why the read stopped early (undefined: the text is one valid JSON object). */
  error?: JsonReadError;
}

/**
 * Reads the top-level keys of a JSON object, at most `maxChars` characters of it, skipping values
 * without building them: linear time, memory bounded by `maxDepth`.
 */
export function scanTopLevelKeys(
  text: string,
  options: JsonReadOptions & { maxChars: number },
): TopLevelScan {
  const reader = new Reader(
    text.length > options.maxChars ? text.slice(0, options.maxChars) : text,
    options.maxDepth,
  );
  reader.ws();
  if (reader.peek() !== '{') return { object: false, keys: [] };
  const keys: string[] = [];
  try {
    reader.object(0, false, keys);
    reader.ws();
    if (reader.pos < reader.text.length) reader.fail('unexpected text after the JSON value');
    return { object: true, keys };
  } catch (err) {
    if (err instanceof JsonReadError) return { object: true, keys, error: err };
    throw err;
  }
}

const HEX = /^[0-9a-fA-F]{4}$/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Reader {
  pos = 0;
  constructor(
    readonly text: string,
    private readonly maxDepth: number,
  ) {}

  fail(message: string, kind: JsonErrorKind = 'syntax', key?: string): never {
    const where = this.pos >= this.text.length ? 'at the end of the text' : `at character ${this.pos}`;
    throw new JsonReadError(kind, `${message} ${where}`, this.pos, key);
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  /** JSON whitespace only: space, tab, line feed, carriage return (not NBSP or U+2028). */
  ws(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(`expected ${JSON.stringify(c)}`);
    this.pos++;
  }

  value(depth: number, build: boolean): unknown {
    const c = this.peek();
    if (c === '{') return this.object(depth, build);
    if (c === '[') return this.array(depth, build);
    if (c === '"') return this.string(build);
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'expected a value' : `unexpected ${JSON.stringify(c)}`);
  }

  private enter(depth: number): number {
    if (depth + 1 > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`, 'depth');
    this.pos++;
    return depth + 1;
  }

  /** An object; with `topKeys`, its keys are recorded as they are read (the sniffing scan). */
  object(depth: number, build: boolean, topKeys?: string[]): Record<string, unknown> | undefined {
    const inner = this.enter(depth);
    const entries: [string, unknown][] = [];
    const seen = new Set<string>();
    this.ws();
    if (this.peek() === '}') {
      this.pos++;
      return build ? {} : undefined;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== '"') this.fail('expected a key in double quotes');
      const keyAt = this.pos;
      const key = this.string(true) as string;
      if (seen.has(key)) {
        this.pos = keyAt;
        this.fail(`duplicate key ${JSON.stringify(key)}`, 'duplicate-key', key);
      }
      seen.add(key);
      topKeys?.push(key);
      this.ws();
      this.expect(':');
      this.ws();
      const value = this.value(inner, build);
      if (build) entries.push([key, value]);
      this.ws();
      const next = this.peek();
      this.pos++;
      if (next === '}') break;
      if (next !== ',') {
        this.pos--;
        this.fail('expected "," or "}"');
      }
    }
    // fromEntries defines own properties, so a "__proto__" key stays a key, never a prototype.
    return build ? Object.fromEntries(entries) : undefined;
  }

  array(depth: number, build: boolean): unknown[] | undefined {
    const inner = this.enter(depth);
    const items: unknown[] = [];
    this.ws();
    if (this.peek() === ']') {
      this.pos++;
      return build ? items : undefined;
    }
    for (;;) {
      this.ws();
      const item = this.value(inner, build);
      if (build) items.push(item);
      this.ws();
      const next = this.peek();
      this.pos++;
      if (next === ']') break;
      if (next !== ',') {
        this.pos--;
        this.fail('expected "," or "]"');
      }
    }
    return build ? items : undefined;
  }

  string(build: boolean): string | undefined {
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (Number.isNaN(code)) this.fail('unterminated string');
      if (code === 0x22) {
        if (build) out += this.text.slice(runStart, this.pos);
        this.pos++;
        return build ? out : undefined;
      }
      if (code < 0x20) this.fail('control character in a string');
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      if (build) out += this.text.slice(runStart, this.pos);
      const e = this.text[this.pos + 1];
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!HEX.test(hex)) this.fail('bad \\u escape');
        const unit = Number.parseInt(hex, 16);
        // I-JSON (RFC 7493): escapes encode whole characters; readers differ on what a lone surrogate becomes.
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate escape');
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = this.text.slice(this.pos + 6, this.pos + 12);
          if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(low)) this.fail('lone surrogate escape');
          if (build) out += String.fromCharCode(unit, Number.parseInt(low.slice(2), 16));
          this.pos += 12;
        } else {
          if (build) out += String.fromCharCode(unit);
          this.pos += 6;
        }
      } else {
        const decoded = e === undefined ? undefined : ESCAPES[e];
        if (decoded === undefined) this.fail('bad escape');
        if (build) out += decoded;
        this.pos += 2;
      }
      runStart = this.pos;
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return value;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match || match[0] === '-') this.fail('bad number');
    this.pos += match[0].length;
    return Number(match[0]);
  }
}
