/**
 * BERT's tokenizer in TypeScript, from a `vocab.txt` (one token per line, id = line number): the
 * BasicTokenizer (clean control characters, split CJK ideographs, optional lower-casing with accent
 * stripping, split on whitespace and punctuation) followed by greedy longest-match-first WordPiece
 * with `##` continuations, as Hugging Face's `BertTokenizer` does. Output is what a BERT-family
 * ONNX export takes: `input_ids` and `attention_mask` (and `token_type_ids`, all 0, for one segment).
 */

export interface WordPieceOptions {
  /** Lower-case and strip accents (uncased models). @default true */
  lowercase?: boolean;
  /** Longest sequence including [CLS] and [SEP]; longer texts are truncated. @default 512 */
  maxLength?: number;
  /** Words longer than this become [UNK]. @default 100 */
  maxCharsPerWord?: number;
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
}

export interface Encoded {
  ids: number[];
  tokens: string[];
}

export class VocabularyError extends Error {
  override name = 'VocabularyError';
}

const isControl = (ch: string): boolean => {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /\p{Cc}|\p{Cf}/u.test(ch);
};
const isWhitespace = (ch: string): boolean => /\s/u.test(ch);
/** BERT treats every non-alphanumeric ASCII character as punctuation, plus Unicode P*. */
const isPunctuation = (ch: string): boolean => {
  const cp = ch.codePointAt(0) ?? 0;
  if (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126)
  ) {
    return true;
  }
  return /\p{P}/u.test(ch);
};
const isCjk = (cp: number): boolean =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) ||
  (cp >= 0x2b740 && cp <= 0x2b81f) ||
  (cp >= 0x2b820 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

/** BERT's BasicTokenizer: words and punctuation marks, before WordPiece. */
export function basicTokenize(text: string, lowercase = true): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isCjk(cp)) cleaned += ` ${ch} `;
    else cleaned += isWhitespace(ch) ? ' ' : ch;
  }
  const words: string[] = [];
  for (let word of cleaned.split(' ')) {
    if (word === '') continue;
    if (lowercase)
      word = word
        .toLowerCase()
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '');
    let current = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current) words.push(current);
        words.push(ch);
        current = '';
      } else current += ch;
    }
    if (current) words.push(current);
  }
  return words;
}

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly options: Required<WordPieceOptions>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;

  constructor(vocab: ReadonlyMap<string, number>, options: WordPieceOptions = {}) {
    this.vocab = vocab;
    this.options = {
      lowercase: options.lowercase ?? true,
      maxLength: options.maxLength ?? 512,
      maxCharsPerWord: options.maxCharsPerWord ?? 100,
      unkToken: options.unkToken ?? '[UNK]',
      clsToken: options.clsToken ?? '[CLS]',
      sepToken: options.sepToken ?? '[SEP]',
      padToken: options.padToken ?? '[PAD]',
    };
    const id = (token: string): number => {
      const v = vocab.get(token);
      if (v === undefined) throw new VocabularyError(`the vocabulary has no ${token} token`);
      return v;
    };
    this.unkId = id(this.options.unkToken);
    this.clsId = id(this.options.clsToken);
    this.sepId = id(this.options.sepToken);
    this.padId = id(this.options.padToken);
    if (this.options.maxLength < 2)
      throw new VocabularyError('maxLength must leave room for [CLS] and [SEP]');
  }

  /** Parses `vocab.txt` content: one token per line, the line number is the id. */
  static fromVocabText(text: string, options: WordPieceOptions = {}): WordPieceTokenizer {
    const vocab = new Map<string, number>();
    text
      .replace(/\r?\n$/, '')
      .split(/\r?\n/)
      .forEach((token, i) => {
        if (!vocab.has(token)) vocab.set(token, i);
      });
    return new WordPieceTokenizer(vocab, options);
  }

  /** WordPiece of one basic token: greedy longest prefix, then `##` continuations; [UNK] if stuck. */
  wordPieces(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.options.maxCharsPerWord) return [this.options.unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.options.unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  tokenize(text: string): string[] {
    return basicTokenize(text, this.options.lowercase).flatMap((w) => this.wordPieces(w));
  }

  /** [CLS] tokens [SEP], truncated to maxLength. */
  encode(text: string): Encoded {
    const pieces = this.tokenize(text).slice(0, this.options.maxLength - 2);
    const tokens = [this.options.clsToken, ...pieces, this.options.sepToken];
    return { tokens, ids: tokens.map((t) => this.vocab.get(t) ?? this.unkId) };
  }

  /** A padded batch: row-major [batch, length] ids, attention mask (1 = token) and token types (0). */
  encodeBatch(texts: readonly string[]): {
    inputIds: BigInt64Array;
    attentionMask: BigInt64Array;
    tokenTypeIds: BigInt64Array;
    length: number;
  } {
    const encoded = texts.map((t) => this.encode(t));
    const length = Math.max(2, ...encoded.map((e) => e.ids.length));
    const inputIds = new BigInt64Array(texts.length * length).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(texts.length * length);
    encoded.forEach((e, b) => {
      e.ids.forEach((id, t) => {
        inputIds[b * length + t] = BigInt(id);
        attentionMask[b * length + t] = 1n;
      });
    });
    return { inputIds, attentionMask, tokenTypeIds: new BigInt64Array(texts.length * length), length };
  }
}
