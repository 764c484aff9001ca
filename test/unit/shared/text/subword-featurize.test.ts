import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelManifest } from '#shared/inference/manifest.ts';
import { textProcessor, UnknownProcessorError } from '#shared/moderation/processors.ts';
import {
  DEFAULT_FEATURIZER_CONFIG,
  featurizerText,
  featurizeSubwords,
  fnv1a32,
  padSubwordBatch,
  parseSubwordFeaturizerConfig,
  type SubwordFeaturizerConfig,
  type SubwordSequence,
  subwordIds,
  tokenize,
} from '#shared/text/featurize.ts';

const CONFIG: SubwordFeaturizerConfig = {
  kind: 'hashed-subword-cnn',
  version: 1,
  hash: 'fnv1a32',
  buckets: 1000,
  maxWords: 6,
  maxSubwords: 4,
  charNgrams: [3, 5],
  deleet: true,
  evasion: true,
};
const SLOTS = 1 + CONFIG.maxSubwords;

/** Row w of a sequence. */
const word = (s: SubwordSequence, w: number): number[] =>
  Array.from(s.ids.subarray(w * s.slots, (w + 1) * s.slots));
const hashed = (key: string): number => 1 + (fnv1a32(key) % CONFIG.buckets);

describe('featurizeSubwords', () => {
  it('gives each word its hashed id, then its character 3-grams first, ids in 1..buckets', () => {
    const s = featurizeSubwords('Idiot', CONFIG);
    expect(s.words).toBe(1);
    expect(s.slots).toBe(SLOTS);
    expect(word(s, 0)).toEqual([
      hashed('w|idiot'),
      hashed('c|<id'),
      hashed('c|idi'),
      hashed('c|dio'),
      hashed('c|iot'),
    ]);
    const long = featurizeSubwords('a b c d e f g h i j', { ...CONFIG, maxWords: 64 });
    for (const id of long.ids.filter((v) => v !== 0)) {
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(CONFIG.buckets);
    }
  });

  it('keeps word order: the same words reversed give the rows reversed', () => {
    const a = featurizeSubwords('they are not lazy', CONFIG);
    const b = featurizeSubwords('lazy not are they', CONFIG);
    expect(a.words).toBe(4);
    for (let w = 0; w < 4; w++) expect(word(b, w)).toEqual(word(a, 3 - w));
    expect(Array.from(a.ids)).not.toEqual(Array.from(b.ids));
  });

  it('pads a short word with 0 and gives placeholders and emoji a word id only', () => {
    const s = featurizeSubwords('ok @someone 😂', CONFIG);
    // "<ok>" has two 3-grams and one 4-gram: the fourth slot is padding.
    expect(word(s, 0).slice(3)).toEqual([hashed('c|<ok>'), 0]);
    expect(word(s, 1)).toEqual([hashed('w|<user>'), 0, 0, 0, 0]);
    expect(word(s, 2)).toEqual([hashed('w|😂'), 0, 0, 0, 0]);
  });

  it('keeps the first maxWords words and the first maxSubwords n-grams', () => {
    const s = featurizeSubwords('one two three four five six seven eight', CONFIG);
    expect(s.words).toBe(CONFIG.maxWords);
    expect(word(s, 5)[0]).toBe(hashed('w|six'));
    expect(subwordIds('extraordinarily', CONFIG)).toHaveLength(SLOTS);
    expect(subwordIds('extraordinarily', { ...CONFIG, maxSubwords: 0 })).toEqual(
      Int32Array.of(hashed('w|extraordinarily')),
    );
  });

  it('folds evasions exactly as the bag does: the same tokens, so the same rows', () => {
    const clean = featurizeSubwords('you are one stupid idiot, fuck off', CONFIG);
    for (const evasive of [
      'yоu аrе оnе ѕtuріd іdіоt, fuck off', // Cyrillic look-alikes
      'you are one stu\u2066pid id\u202eiot, fu\u200bck off', // isolate, override, zero-width
      'you are one stuuuupid idiooot, fuuuck off', // letter runs
      'you are one s t u p i d idiot, f*ck off', // spaced out, masked
      'you are one 5tup1d 1d10t, fuck off', // leetspeak
    ]) {
      const s = featurizeSubwords(evasive, CONFIG);
      const bagTokens = tokenize(featurizerText(evasive, DEFAULT_FEATURIZER_CONFIG));
      expect(
        Array.from({ length: s.words }, (_, w) => word(s, w)[0]),
        evasive,
      ).toEqual(bagTokens.slice(0, CONFIG.maxWords).map((t) => hashed(`w|${t}`)));
      expect(Array.from(s.ids), evasive).toEqual(Array.from(clean.ids));
    }
  });

  it('gives an empty text no words, and rejects a malformed configuration', () => {
    expect(featurizeSubwords(' ?! ', CONFIG)).toEqual({ words: 0, slots: SLOTS, ids: new Int32Array() });
    expect(() => parseSubwordFeaturizerConfig({ ...CONFIG, maxWords: 0 })).toThrow(z.ZodError);
    expect(() => parseSubwordFeaturizerConfig({ ...CONFIG, kind: 'hashed-ngrams' })).toThrow(z.ZodError);
  });
});

describe('padSubwordBatch', () => {
  it('pads words and subwords with id 0, keeping each text in its own block', () => {
    const a = featurizeSubwords('you idiot', CONFIG);
    const b = featurizeSubwords('hi', CONFIG);
    const batch = padSubwordBatch([a, b], { words: 3, slots: SLOTS + 1 });
    expect([batch.words, batch.slots]).toEqual([3, SLOTS + 1]);
    const block = (i: number) =>
      Array.from(batch.ids.subarray(i * 3 * (SLOTS + 1), (i + 1) * 3 * (SLOTS + 1)), Number);
    expect(block(0)).toEqual([...word(a, 0), 0, ...word(a, 1), 0, ...new Array(SLOTS + 1).fill(0)]);
    expect(block(1)).toEqual([...word(b, 0), 0, ...new Array(2 * (SLOTS + 1)).fill(0)]);
  });

  it('gives an empty batch member one absent word', () => {
    const batch = padSubwordBatch([featurizeSubwords('', CONFIG)]);
    expect([batch.words, batch.slots]).toEqual([1, SLOTS]);
    expect(batch.ids).toEqual(new BigInt64Array(SLOTS));
  });
});

describe('hashed-subword-cnn text processor', () => {
  const manifest: ModelManifest = {
    name: 'text-toxicity',
    version: 'test',
    modality: 'text',
    file: 'model.onnx',
    sha256: '0'.repeat(64),
    inputs: [{ name: 'ids', dtype: 'int64', shape: ['batch', 'words', 'subwords'], padValue: 0 }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: ['batch', 2] }],
    labels: ['hate', 'harassment'],
    preprocess: CONFIG,
    source: 'test',
    license: 'test',
  };

  it('encodes texts as int64 ids [batch, words, subwords] from the manifest featurizer', () => {
    const p = textProcessor(manifest, () => '');
    expect(p.kind).toBe('hashed-subword-cnn');
    const { ids } = p.encode(['you are an idiot', 'hi']);
    expect(ids?.dtype).toBe('int64');
    expect(ids?.dims).toEqual([2, 4, SLOTS]);
    const padded = padSubwordBatch([
      featurizeSubwords('you are an idiot', CONFIG),
      featurizeSubwords('hi', CONFIG),
    ]);
    expect(ids?.data).toEqual(padded.ids);
    // The second text has one word: its other three rows are padding.
    expect(Array.from((ids?.data as BigInt64Array).subarray(4 * SLOTS + SLOTS, 8 * SLOTS), Number)).toEqual(
      new Array(3 * SLOTS).fill(0),
    );
  });

  it('decodes `probs` rows and rejects a response without them', () => {
    const p = textProcessor(manifest, () => '');
    const probs = { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.of(0.25, 0.5, 0.75, 1) };
    expect(p.decode({ probs }, 2)).toEqual([
      [0.25, 0.5],
      [0.75, 1],
    ]);
    expect(() => p.decode({}, 2)).toThrow(/no `probs` output/);
  });

  it('rejects a manifest whose preprocess is not a subword configuration', () => {
    expect(() =>
      textProcessor({ ...manifest, preprocess: { ...CONFIG, maxSubwords: -1 } }, () => ''),
    ).toThrow(z.ZodError);
    expect(() => textProcessor({ ...manifest, preprocess: { kind: 'subwords' } }, () => '')).toThrow(
      UnknownProcessorError,
    );
  });
});
