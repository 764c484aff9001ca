/**
 * Pre- and post-processing per model family, picked by the manifest (`modality` + `preprocess.kind`),
 * so a model pack can swap the project's models for stronger ones (BERT-family text classifier, CLIP
 * image encoder) without code changes (docs/STRONGER_MODELS.md). A processor turns inputs into the
 * model's named tensors and the model's outputs into scores per label, in the function (the GPU
 * endpoint does tensor work only). Unknown kinds are rejected with the list of known ones.
 *
 * Text kinds:
 * - `hashed-ngrams`: the project's fastText-style model (shared/text/featurize.ts) → `probs`.
 * - `hashed-subword-cnn`: the project's convolutional model: `ids` int64 [batch, words, subwords]
 *   (per word in order, its hashed id and character n-gram ids; 0 = padding) → `probs`.
 * - `wordpiece`: BERT-family `input_ids` / `attention_mask` [/ `token_type_ids`] → `logits`, then
 *   sigmoid (multi-label) or softmax, and `categoryMap` (taxonomy category → model labels, max).
 *
 * Image kinds:
 * - `nsfw` (or no kind): uint8 NHWC `image` → `probs` over the nsfwjs classes.
 * - `clip`: float NCHW `pixel_values` normalised by `mean`/`std` → `image_embeds`, L2-normalised, then
 *   a head: `zero-shot` (cosine similarity to per-label prompt embeddings, softmax with a
 *   temperature against `negatives`) or `linear` (sigmoid(W·e + b)).
 */
import { z } from 'zod';
import type { ModelManifest } from '#shared/inference/manifest.ts';
import { row, type Tensor } from '#shared/inference/tensor-codec.ts';
import {
  type FeaturizerConfig,
  featurize,
  featurizeSubwords,
  padBatch,
  padSubwordBatch,
  parseFeaturizerConfig,
  parseSubwordFeaturizerConfig,
  type SubwordFeaturizerConfig,
} from '#shared/text/featurize.ts';
import { WordPieceTokenizer } from '#shared/text/wordpiece.ts';

export class UnknownProcessorError extends Error {
  override name = 'UnknownProcessorError';
}

/** Reads a file the manifest names (vocabulary, head weights), relative to the model directory. */
export type ReadModelFile = (file: string) => string;

export interface TextProcessor {
  readonly kind: string;
  /** Labels of the scores `decode` returns (taxonomy categories for the fusion channels). */
  readonly labels: readonly string[];
  encode(texts: readonly string[]): Record<string, Tensor>;
  decode(outputs: Record<string, Tensor>, n: number): number[][];
}

export interface ImageProcessor {
  readonly kind: string;
  readonly labels: readonly string[];
  /** Square input side the function resizes images to. */
  readonly size: number;
  /** `images`: RGB uint8 [size, size, 3] each. */
  encode(images: readonly Uint8Array[]): Record<string, Tensor>;
  decode(outputs: Record<string, Tensor>, n: number): number[][];
}

function output(outputs: Record<string, Tensor>, name: string): Tensor {
  const t = outputs[name];
  if (!t) throw new Error(`model response has no \`${name}\` output`);
  return t;
}

const rows = (t: Tensor, n: number): number[][] => Array.from({ length: n }, (_, i) => row(t, i));

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function softmax(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Maps model labels to taxonomy categories (max over the labels listed for each category). */
function mapCategories(
  modelLabels: readonly string[],
  categoryMap: Record<string, string[]> | undefined,
): { labels: string[]; apply(p: number[]): number[] } {
  if (!categoryMap) return { labels: [...modelLabels], apply: (p) => p };
  const entries = Object.entries(categoryMap).map(([category, from]) => {
    const idx = from.map((l) => {
      const i = modelLabels.indexOf(l);
      if (i < 0)
        throw new UnknownProcessorError(
          `categoryMap names ${l}, which is not a model label (${modelLabels.join(', ')})`,
        );
      return i;
    });
    return { category, idx };
  });
  return {
    labels: entries.map((e) => e.category),
    apply: (p) => entries.map((e) => Math.max(...e.idx.map((i) => p[i] ?? 0))),
  };
}

// ---- text -------------------------------------------------------------------------------------------

function hashedNgrams(manifest: ModelManifest): TextProcessor & { featurizer: FeaturizerConfig } {
  const featurizer = parseFeaturizerConfig(manifest.preprocess);
  return {
    kind: 'hashed-ngrams',
    labels: manifest.labels,
    featurizer,
    encode(texts) {
      const batch = padBatch(texts.map((t) => featurize(t, featurizer)));
      const dims = [texts.length, batch.tokens];
      return {
        ids: { dtype: 'int64', dims, data: batch.ids },
        weights: { dtype: 'float32', dims, data: batch.weights },
      };
    },
    decode: (outputs, n) => rows(output(outputs, 'probs'), n),
  };
}

function hashedSubwordCnn(manifest: ModelManifest): TextProcessor & { featurizer: SubwordFeaturizerConfig } {
  const featurizer = parseSubwordFeaturizerConfig(manifest.preprocess);
  return {
    kind: 'hashed-subword-cnn',
    labels: manifest.labels,
    featurizer,
    encode(texts) {
      const batch = padSubwordBatch(texts.map((t) => featurizeSubwords(t, featurizer)));
      return { ids: { dtype: 'int64', dims: [texts.length, batch.words, batch.slots], data: batch.ids } };
    },
    decode: (outputs, n) => rows(output(outputs, 'probs'), n),
  };
}

const WordPieceConfig = z.object({
  kind: z.literal('wordpiece'),
  /** vocab.txt beside the manifest. */
  vocab: z.string().min(1),
  lowercase: z.boolean().default(true),
  maxLength: z.number().int().min(2).max(4096).default(512),
  /** `sigmoid` for multi-label heads (toxic-bert), `softmax` for single-label ones. */
  activation: z.enum(['sigmoid', 'softmax']).default('sigmoid'),
  output: z.string().default('logits'),
  /** Taxonomy category → model labels whose max becomes that category's score. */
  categoryMap: z.record(z.string(), z.array(z.string()).min(1)).optional(),
});

function wordpiece(manifest: ModelManifest, read: ReadModelFile): TextProcessor {
  const config = WordPieceConfig.parse(manifest.preprocess);
  const tokenizer = WordPieceTokenizer.fromVocabText(read(config.vocab), {
    lowercase: config.lowercase,
    maxLength: config.maxLength,
  });
  const inputNames = new Set(manifest.inputs.map((i) => i.name));
  const mapped = mapCategories(manifest.labels, config.categoryMap);
  return {
    kind: 'wordpiece',
    labels: mapped.labels,
    encode(texts) {
      const b = tokenizer.encodeBatch(texts);
      const dims = [texts.length, b.length];
      const inputs: Record<string, Tensor> = {
        input_ids: { dtype: 'int64', dims, data: b.inputIds },
        attention_mask: { dtype: 'int64', dims, data: b.attentionMask },
      };
      // BERT exports take segment ids; DistilBERT/RoBERTa-style exports do not.
      if (inputNames.has('token_type_ids'))
        inputs.token_type_ids = { dtype: 'int64', dims, data: b.tokenTypeIds };
      return inputs;
    },
    decode(outputs, n) {
      return rows(output(outputs, config.output), n).map((logits) =>
        mapped.apply(config.activation === 'softmax' ? softmax(logits) : logits.map(sigmoid)),
      );
    },
  };
}

// ---- image ------------------------------------------------------------------------------------------

function nsfw(manifest: ModelManifest): ImageProcessor {
  const shape = manifest.inputs[0]?.shape;
  const size = typeof shape?.[1] === 'number' ? shape[1] : 224;
  return {
    kind: 'nsfw',
    labels: manifest.labels,
    size,
    encode(images) {
      const data = new Uint8Array(images.length * size * size * 3);
      images.forEach((pixels, i) => {
        data.set(pixels, i * size * size * 3);
      });
      return { image: { dtype: 'uint8', dims: [images.length, size, size, 3], data } };
    },
    decode: (outputs, n) => rows(output(outputs, 'probs'), n),
  };
}

const ClipHead = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('zero-shot'),
    /** CLIP's logit scale (exp of the learnt temperature, 100 for released models). */
    scale: z.number().positive().default(100),
    /** label → prompt embeddings (averaged), from the CLIP text tower (docs/STRONGER_MODELS.md). */
    prompts: z.record(z.string(), z.array(z.array(z.number()).min(1)).min(1)),
    /** Prompt embeddings of harmless content the labels compete against. */
    negatives: z.array(z.array(z.number()).min(1)).min(1),
  }),
  z.object({
    kind: z.literal('linear'),
    /** [labels][embedding dim] and [labels]; probability = sigmoid(W·e + b). */
    weights: z.array(z.array(z.number()).min(1)).min(1),
    bias: z.array(z.number()),
  }),
]);

const ClipConfig = z.object({
  kind: z.literal('clip'),
  size: z.number().int().positive().default(224),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0.48145466, 0.4578275, 0.40821073]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([0.26862954, 0.26130258, 0.27577711]),
  output: z.string().default('image_embeds'),
  /** The head inline, or a JSON file beside the manifest. */
  head: z.union([ClipHead, z.string().min(1)]),
});

const normalise = (v: readonly number[]): number[] => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
};
const dot = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
const meanVector = (vs: readonly (readonly number[])[]): number[] =>
  normalise((vs[0] ?? []).map((_, d) => vs.reduce((s, v) => s + (v[d] ?? 0), 0) / vs.length));

function clip(manifest: ModelManifest, read: ReadModelFile): ImageProcessor {
  const config = ClipConfig.parse(manifest.preprocess);
  const head = ClipHead.parse(typeof config.head === 'string' ? JSON.parse(read(config.head)) : config.head);
  const { size, mean, std } = config;
  let labels: string[];
  let score: (e: number[]) => number[];
  if (head.kind === 'zero-shot') {
    labels = Object.keys(head.prompts);
    const targets = labels.map((l) => meanVector(head.prompts[l] ?? []));
    const negatives = head.negatives.map((v) => normalise(v));
    // Each label competes with the harmless prompts: P(label) = softmax over [label, negatives...].
    score = (e) =>
      targets.map(
        (t) => softmax([dot(e, t), ...negatives.map((n) => dot(e, n))].map((s) => s * head.scale))[0] ?? 0,
      );
  } else {
    labels =
      manifest.labels.length === head.weights.length
        ? manifest.labels
        : head.weights.map((_, i) => `label${i}`);
    score = (e) => head.weights.map((w, i) => sigmoid(dot(e, w) + (head.bias[i] ?? 0)));
  }
  return {
    kind: 'clip',
    labels,
    size,
    encode(images) {
      const plane = size * size;
      const data = new Float32Array(images.length * 3 * plane);
      images.forEach((pixels, b) => {
        for (let i = 0; i < plane; i++) {
          for (let c = 0; c < 3; c++) {
            data[b * 3 * plane + c * plane + i] =
              ((pixels[i * 3 + c] ?? 0) / 255 - (mean[c] ?? 0)) / (std[c] ?? 1);
          }
        }
      });
      return { pixel_values: { dtype: 'float32', dims: [images.length, 3, size, size], data } };
    },
    decode: (outputs, n) => rows(output(outputs, config.output), n).map((e) => score(normalise(e))),
  };
}

const TEXT_KINDS: Record<string, (m: ModelManifest, read: ReadModelFile) => TextProcessor> = {
  'hashed-ngrams': (m) => hashedNgrams(m),
  wordpiece,
  'hashed-subword-cnn': (m) => hashedSubwordCnn(m),
};
const IMAGE_KINDS: Record<string, (m: ModelManifest, read: ReadModelFile) => ImageProcessor> = {
  nsfw: (m) => nsfw(m),
  clip,
};

const kindOf = (m: ModelManifest): string | undefined =>
  typeof m.preprocess?.kind === 'string' ? m.preprocess.kind : undefined;

/** The text processor the manifest asks for. */
export function textProcessor(manifest: ModelManifest, read: ReadModelFile): TextProcessor {
  if (manifest.modality !== 'text') throw new UnknownProcessorError(`${manifest.name} is not a text model`);
  const kind = kindOf(manifest) ?? 'hashed-ngrams';
  const make = TEXT_KINDS[kind];
  if (!make)
    throw new UnknownProcessorError(
      `unknown text preprocess.kind ${JSON.stringify(kind)}; known: ${Object.keys(TEXT_KINDS).join(', ')}`,
    );
  return make(manifest, read);
}

/** The image processor the manifest asks for (the nsfwjs model's manifest names no kind). */
export function imageProcessor(manifest: ModelManifest, read: ReadModelFile): ImageProcessor {
  if (manifest.modality !== 'image')
    throw new UnknownProcessorError(`${manifest.name} is not an image model`);
  const kind = kindOf(manifest) ?? 'nsfw';
  const make = IMAGE_KINDS[kind];
  if (!make)
    throw new UnknownProcessorError(
      `unknown image preprocess.kind ${JSON.stringify(kind)}; known: ${Object.keys(IMAGE_KINDS).join(', ')}`,
    );
  return make(manifest, read);
}
