/**
 * CLIP's tokenizer in TypeScript (openai/CLIP `simple_tokenizer.py`, Hugging Face `CLIPTokenizer`):
 * lower-cased text split by CLIP's pattern, each piece mapped to GPT-2's byte-level alphabet, then
 * byte-pair merges where a word's last symbol carries `</w>`; `<|startoftext|>` … `<|endoftext|>`,
 * padded with `<|endoftext|>` to the context length (77). Reads a Hugging Face export's `vocab.json`
 * (token → id) and `merges.txt` (first line `#version…`, then one "a b" pair per line, by rank).
 *
 * One approximation: the original first runs `ftfy.fix_text` (mojibake repair); here text is only
 * HTML-unescaped, NFC-normalised and whitespace-collapsed, which is the same for clean text.
 */
import { bytesToUnicode } from '#shared/speech/whisper.ts';

export const CLIP_BOS = '<|startoftext|>';
export const CLIP_EOS = '<|endoftext|>';
export const CLIP_CONTEXT = 77;

const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function clean(text: string): string {
  return text
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e.startsWith('#x') || e.startsWith('#X'))
        return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

export class ClipTokenizerError extends Error {
  override name = 'ClipTokenizerError';
}

export class ClipTokenizer {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #ranks: ReadonlyMap<string, number>;
  readonly #byteChar: Map<number, string>;
  readonly #cache = new Map<string, string[]>();
  readonly bosId: number;
  readonly eosId: number;

  constructor(vocab: ReadonlyMap<string, number>, merges: readonly [string, string][]) {
    this.#vocab = vocab;
    this.#ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    this.#byteChar = bytesToUnicode();
    const id = (t: string): number => {
      const v = vocab.get(t);
      if (v === undefined) throw new ClipTokenizerError(`the vocabulary has no ${t} token`);
      return v;
    };
    this.bosId = id(CLIP_BOS);
    this.eosId = id(CLIP_EOS);
  }

  /** From a Hugging Face export's `vocab.json` and `merges.txt` contents. */
  static fromFiles(vocabJson: string, mergesTxt: string): ClipTokenizer {
    const vocab = new Map(Object.entries(JSON.parse(vocabJson) as Record<string, number>));
    const merges = mergesTxt
      .split(/\r?\n/)
      .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#version')))
      .map((line) => {
        const [a, b] = line.split(' ');
        if (a === undefined || b === undefined) throw new ClipTokenizerError(`bad merges line: ${line}`);
        return [a, b] as [string, string];
      });
    return new ClipTokenizer(vocab, merges);
  }

  /** Byte-pair merges of one pre-token (already in the byte alphabet); its last symbol ends in `</w>`. */
  bpe(piece: string): string[] {
    const cached = this.#cache.get(piece);
    if (cached) return cached;
    const chars = Array.from(piece);
    let word = [...chars.slice(0, -1), `${chars.at(-1) ?? ''}</w>`];
    for (;;) {
      let best: number | undefined;
      let at = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && (best === undefined || rank < best)) {
          best = rank;
          at = i;
        }
      }
      if (best === undefined) break;
      const [a, b] = [word[at], word[at + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        // Merge every occurrence of the best pair, left to right, as the reference implementation does.
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          merged.push(`${a}${b}`);
          i++;
        } else merged.push(word[i] ?? '');
      }
      word = merged;
    }
    this.#cache.set(piece, word);
    return word;
  }

  /** BPE tokens of a text, without the start and end tokens. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const m of clean(text).matchAll(PATTERN)) {
      const piece = m[0];
      if (piece === CLIP_BOS || piece === CLIP_EOS) {
        out.push(piece);
        continue;
      }
      const mapped = Array.from(new TextEncoder().encode(piece), (b) => this.#byteChar.get(b) ?? '').join('');
      out.push(...this.bpe(mapped));
    }
    return out;
  }

  /** Ids with start and end tokens, truncated to `context`. Unknown symbols cannot occur with a full vocabulary. */
  encode(text: string, context = CLIP_CONTEXT): number[] {
    const ids = this.tokenize(text).map((t) => {
      const id = this.#vocab.get(t);
      if (id === undefined)
        throw new ClipTokenizerError(`token ${JSON.stringify(t)} is not in the vocabulary`);
      return id;
    });
    return [this.bosId, ...ids.slice(0, context - 2), this.eosId];
  }

  /** A batch padded with the end token to `context` (CLIP's text tower has fixed positions). */
  encodeBatch(
    texts: readonly string[],
    context = CLIP_CONTEXT,
  ): { inputIds: BigInt64Array; attentionMask: BigInt64Array } {
    const inputIds = new BigInt64Array(texts.length * context).fill(BigInt(this.eosId));
    const attentionMask = new BigInt64Array(texts.length * context);
    texts.forEach((t, b) => {
      this.encode(t, context).forEach((id, i) => {
        inputIds[b * context + i] = BigInt(id);
        attentionMask[b * context + i] = 1n;
      });
    });
    return { inputIds, attentionMask };
  }
}
