/**
 * Text featurizer shared by the text-model trainer and the pipeline: normalisation, tokenisation
 * and fastText-style hashed features (word unigrams, word bigrams, character n-grams inside word
 * boundaries), and beside it the ordered sequence the convolutional text model reads (per word, its
 * hashed id and its character n-gram ids). Its configuration is stored in the text model's manifest
 * (`preprocess`), so a model is always served with the featurizer it was trained with.
 */
import { z } from 'zod';
import { normalise } from '#shared/extract/normalise.ts';

/** Configuration of {@link featurize}; stored verbatim in the text manifest's `preprocess`. */
export const FeaturizerConfigSchema = z.object({
  kind: z.literal('hashed-ngrams'),
  version: z.literal(1),
  /** FNV-1a (32-bit) over the UTF-16 code units of a prefixed n-gram key. */
  hash: z.literal('fnv1a32'),
  /** Rows of the embedding matrix, row 0 included: ids are 1..buckets-1, 0 is padding. */
  buckets: z.number().int().min(2),
  /** Longest word n-gram (1 = unigrams only, 2 = unigrams and bigrams). */
  wordNgrams: z.number().int().min(1).max(2),
  /** Character n-gram lengths inside `<word>` boundaries; null disables them. */
  charNgrams: z.tuple([z.number().int().min(1), z.number().int().min(1)]).nullable(),
  /** Hard cap on distinct features per text (the `tokens` dimension). */
  maxFeatures: z.number().int().min(1),
  /** Weight of one occurrence of each feature kind before the model's weighted mean. */
  weights: z.object({ word: z.number().min(0), bigram: z.number().min(0), char: z.number().min(0) }),
  /** Undo light leetspeak inside words (`sh1t` → `shit`). */
  deleet: z.boolean(),
  /**
   * Read evasions first (shared/extract/normalise.ts: confusables, marks, invisible and bidi
   * characters, spaced-out and masked letters, leetspeak) and fold every run of one letter to a
   * single letter (`stuuupid`, `stupiiid` → `stupid`), so spellings that evade look like the word.
   * Absent in manifests of models trained before it (text-toxicity 1.x): false.
   */
  evasion: z.boolean().default(false),
});
export type FeaturizerConfig = z.input<typeof FeaturizerConfigSchema>;

/** Hashed features of one text: ids in 1..buckets-1 (0 is padding) and their weights. */
export interface Features {
  ids: number[];
  weights: number[];
}

/** The configuration the committed text model was trained with. */
export const DEFAULT_FEATURIZER_CONFIG: FeaturizerConfig = {
  kind: 'hashed-ngrams',
  version: 1,
  hash: 'fnv1a32',
  buckets: 2 ** 17,
  wordNgrams: 2,
  charNgrams: [3, 5],
  maxFeatures: 512,
  weights: { word: 1, bigram: 1, char: 0.5 },
  deleet: true,
  evasion: true,
};

/** Validates a featurizer configuration read from a manifest; throws on anything unexpected. */
export function parseFeaturizerConfig(value: unknown): FeaturizerConfig {
  return FeaturizerConfigSchema.parse(value);
}

/** Placeholder tokens that replace URLs and @mentions (both datasets already mask them so). */
export const URL_TOKEN = '<url>';
export const USER_TOKEN = '<user>';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code =
        body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      // Lone surrogates and out-of-range code points are left as written.
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
        ? String.fromCodePoint(code)
        : whole;
    }
    return ENTITIES[body.toLowerCase()] ?? whole;
  });
}

const isLetter = (c: string | undefined): boolean => c !== undefined && /\p{L}/u.test(c);

/** `sh1t` → `shit`, `f@g` → `fag`: only a substitute character between two letters. */
function deleetWord(word: string): string {
  if (!/[0134579@$!]/.test(word) || !/\p{L}/u.test(word)) return word;
  const chars = Array.from(word);
  // Two passes so that adjacent substitutes (`f@gg0t`, `b1+ch`) resolve from their neighbours.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 1; i < chars.length - 1; i++) {
      const sub = LEET[chars[i] ?? ''];
      if (sub !== undefined && isLetter(chars[i - 1]) && isLetter(chars[i + 1])) chars[i] = sub;
    }
  }
  return chars.join('');
}

/** Options of {@link normaliseText}. */
export interface NormaliseOptions {
  /** @default true */
  deleet?: boolean;
}

/**
 * NFKC, HTML entities decoded, lowercase, URLs → `<url>`, @mentions → `<user>`, the retweet
 * marker `rt` and `#` of hashtags dropped, runs of 3+ equal characters cut to 2, light
 * de-leetspeak, whitespace collapsed. Pure and deterministic.
 */
export function normaliseText(s: string, options: NormaliseOptions = {}): string {
  let t = decodeEntities(s)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'");
  t = t.replace(/\b(?:https?:\/\/|www\.)\S+/g, ` ${URL_TOKEN} `);
  // OLID ships its own masks (`@USER`, `URL`); map them to the same placeholders.
  t = t.replace(/(^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]+/gu, `$1 ${USER_TOKEN} `);
  t = t.replace(/(^|\s)url(?=\s|$)/g, `$1${URL_TOKEN}`);
  t = t.replace(/(^|\s)rt(?=\s|:|$)/g, '$1 ');
  t = t.replace(/#(?=[\p{L}\p{N}_])/gu, ' ');
  t = t.replace(/(.)\1{2,}/gu, '$1$1');
  if (options.deleet ?? true)
    t = t.replace(/\S+/g, (w) => (w === URL_TOKEN || w === USER_TOKEN ? w : deleetWord(w)));
  return t.replace(/\s+/g, ' ').trim();
}

const TOKEN_RE = /<url>|<user>|[\p{L}\p{M}\p{N}_]+(?:'[\p{L}\p{M}\p{N}_]+)*|\p{Extended_Pictographic}/gu;
const WORDLIKE_RE = /^[\p{L}\p{M}\p{N}_]/u;

/** Splits normalised text into word, placeholder and emoji tokens (punctuation is dropped). */
export function tokenize(normalised: string): string[] {
  return normalised.match(TOKEN_RE) ?? [];
}

/** FNV-1a, 32-bit, over UTF-16 code units. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * What {@link featurize} tokenizes: {@link normaliseText}, after the evasion folding when the
 * configuration asks for it. URLs and @mentions are masked before the folding (which would read the
 * `@` of a mention as a leetspeak `a`).
 */
export function featurizerText(text: string, config: Pick<FeaturizerConfig, 'deleet' | 'evasion'>): string {
  if (config.evasion !== true) return normaliseText(text, { deleet: config.deleet });
  const masked = text
    .replace(/\b(?:https?:\/\/|www\.)\S+/gi, ` ${URL_TOKEN} `)
    .replace(/(^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]+/gu, `$1 ${USER_TOKEN} `);
  return normaliseText(normalise(masked).text, { deleet: config.deleet }).replace(/(\p{L})\1+/gu, '$1');
}

/**
 * Hashed features of `text`: word unigrams, then word bigrams, then character n-grams, each
 * added once with its kind's weight (repeats add weight to the same id) until `maxFeatures`
 * distinct ids are reached. Ids are 1..buckets-1; 0 is left for padding.
 */
export function featurize(text: string, config: FeaturizerConfig): Features {
  const tokens = tokenize(featurizerText(text, config));
  const acc = new Map<number, number>();
  const mod = config.buckets - 1;
  const add = (key: string, weight: number): void => {
    if (weight === 0) return;
    const id = 1 + (fnv1a32(key) % mod);
    const prev = acc.get(id);
    if (prev !== undefined) acc.set(id, prev + weight);
    else if (acc.size < config.maxFeatures) acc.set(id, weight);
  };
  for (const t of tokens) add(`w|${t}`, config.weights.word);
  if (config.wordNgrams >= 2) {
    for (let i = 0; i + 1 < tokens.length; i++) add(`b|${tokens[i]} ${tokens[i + 1]}`, config.weights.bigram);
  }
  if (config.charNgrams !== null) {
    const [lo, hi] = config.charNgrams;
    for (const t of tokens) {
      if (!WORDLIKE_RE.test(t)) continue;
      // Code points, so an n-gram never splits a surrogate pair.
      const chars = Array.from(`<${t}>`);
      for (let n = lo; n <= hi; n++) {
        for (let i = 0; i + n <= chars.length; i++)
          add(`c|${chars.slice(i, i + n).join('')}`, config.weights.char);
      }
    }
  }
  return { ids: [...acc.keys()], weights: [...acc.values()] };
}

/** A padded batch ready for the `ids`/`weights` inputs of the text model. */
export interface PaddedBatch {
  ids: BigInt64Array;
  weights: Float32Array;
  /** Size of the `tokens` dimension (at least 1, so an empty text is still a valid tensor). */
  tokens: number;
}

/** Pads features to a common length with id 0 / weight 0, which the model treats as absent. */
export function padBatch(batch: readonly Features[], minTokens = 1): PaddedBatch {
  const tokens = Math.max(minTokens, 1, ...batch.map((f) => f.ids.length));
  const ids = new BigInt64Array(batch.length * tokens);
  const weights = new Float32Array(batch.length * tokens);
  batch.forEach((f, b) => {
    f.ids.forEach((id, i) => {
      ids[b * tokens + i] = BigInt(id);
      weights[b * tokens + i] = f.weights[i] ?? 0;
    });
  });
  return { ids, weights, tokens };
}

// ---- ordered subword sequences (the convolutional text model) ---------------------------------------

/**
 * Configuration of {@link featurizeSubwords}; stored verbatim in the manifest's `preprocess` of a
 * `hashed-subword-cnn` text model. Unlike the bag, the text stays a sequence: one row per word, in order.
 */
export const SubwordFeaturizerConfigSchema = z.object({
  kind: z.literal('hashed-subword-cnn'),
  version: z.literal(1),
  /** FNV-1a (32-bit) over the UTF-16 code units of a prefixed key (`w|word`, `c|<wo`), as the bag. */
  hash: z.literal('fnv1a32'),
  /**
   * Hash buckets: ids are 1..buckets and 0 is padding, so the model's embedding has buckets + 1 rows
   * (the bag counts its padding row inside `buckets`).
   */
  buckets: z.number().int().min(1),
  /** Words kept per text, the first ones in order (the `words` dimension's cap). */
  maxWords: z.number().int().min(1),
  /** Character n-gram ids kept per word after its word id: the `subwords` dimension is 1 + this. */
  maxSubwords: z.number().int().min(0),
  /** Character n-gram lengths inside `<word>` boundaries (fastText subwords), shortest first. */
  charNgrams: z.tuple([z.number().int().min(1), z.number().int().min(1)]),
  /** As {@link FeaturizerConfigSchema}: the same normalisation and evasion folding as the bag. */
  deleet: z.boolean(),
  evasion: z.boolean(),
});
export type SubwordFeaturizerConfig = z.input<typeof SubwordFeaturizerConfigSchema>;

/** Validates a subword featurizer configuration read from a manifest; throws on anything unexpected. */
export function parseSubwordFeaturizerConfig(value: unknown): SubwordFeaturizerConfig {
  return SubwordFeaturizerConfigSchema.parse(value);
}

/** One text as a sequence: `words` rows of `slots` ids, row-major. */
export interface SubwordSequence {
  words: number;
  /** 1 + maxSubwords: the word id, then its character n-gram ids, 0 where a word has fewer. */
  slots: number;
  ids: Int32Array;
}

/** The tokens both featurizers read: {@link featurizerText}, then {@link tokenize}. */
export function featurizerTokens(
  text: string,
  config: Pick<FeaturizerConfig, 'deleet' | 'evasion'>,
): string[] {
  return tokenize(featurizerText(text, config));
}

/**
 * The ids of one word: its own id, then the ids of its character n-grams (shortest first, left to
 * right, so a long word loses its longest n-grams to `maxSubwords`), 0-padded to 1 + maxSubwords.
 * Placeholders and emoji get a word id only, as in the bag.
 */
export function subwordIds(token: string, config: SubwordFeaturizerConfig): Int32Array {
  const slots = 1 + config.maxSubwords;
  const ids = new Int32Array(slots);
  const id = (key: string): number => 1 + (fnv1a32(key) % config.buckets);
  ids[0] = id(`w|${token}`);
  if (!WORDLIKE_RE.test(token)) return ids;
  const chars = Array.from(`<${token}>`);
  const [lo, hi] = config.charNgrams;
  let s = 1;
  for (let n = lo; n <= hi && s < slots; n++) {
    for (let i = 0; i + n <= chars.length && s < slots; i++)
      ids[s++] = id(`c|${chars.slice(i, i + n).join('')}`);
  }
  return ids;
}

/**
 * Hashed subword sequence of `text`: the same folding, normalisation and tokens as {@link featurize},
 * then per word, in order and up to `maxWords`, {@link subwordIds}. An empty text has no words.
 */
export function featurizeSubwords(text: string, config: SubwordFeaturizerConfig): SubwordSequence {
  const tokens = featurizerTokens(text, config).slice(0, config.maxWords);
  const slots = 1 + config.maxSubwords;
  const ids = new Int32Array(tokens.length * slots);
  tokens.forEach((t, w) => {
    ids.set(subwordIds(t, config), w * slots);
  });
  return { words: tokens.length, slots, ids };
}

/** A padded batch ready for the `ids` input [batch, words, subwords] of the subword model. */
export interface PaddedSubwordBatch {
  ids: BigInt64Array;
  /** Size of the `words` dimension (at least 1, so an empty text is still a valid tensor). */
  words: number;
  /** Size of the `subwords` dimension. */
  slots: number;
}

/** Pads sequences with id 0 to a common [words, slots], which the model treats as absent. */
export function padSubwordBatch(
  batch: readonly SubwordSequence[],
  min: { words?: number; slots?: number } = {},
): PaddedSubwordBatch {
  const words = Math.max(min.words ?? 1, 1, ...batch.map((s) => s.words));
  const slots = Math.max(min.slots ?? 1, 1, ...batch.map((s) => s.slots));
  const ids = new BigInt64Array(batch.length * words * slots);
  batch.forEach((s, b) => {
    for (let w = 0; w < s.words; w++) {
      for (let k = 0; k < s.slots; k++)
        ids[(b * words + w) * slots + k] = BigInt(s.ids[w * s.slots + k] ?? 0);
    }
  });
  return { ids, words, slots };
}
