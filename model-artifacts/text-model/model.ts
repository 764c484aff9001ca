/**
 * The text model in plain TypeScript: an EmbeddingBag (weighted mean of hashed-feature rows, and
 * with `pooling: 'mean-max'` also their element-wise max), an optional ReLU hidden layer and one
 * sigmoid output per label with per-output Platt scaling. The ONNX
 * export (onnx.ts) computes exactly this; the trainer (trainer.ts) differentiates it by hand.
 */
import type { Features } from '#shared/text/featurize.ts';

/** Outputs of a fresh model (text-toxicity 2.x: hate, harassment, offensive, violence, sexual); a model's own count is `b2.length`. */
export const OUTPUTS = 5;

/** How many outputs a model has. */
export const outputsOf = (p: Pick<TextModelParams, 'b2'>): number => p.b2.length;

/** Width of the pooled bag: dim, or 2·dim with max pooling. */
export const pooledWidth = (p: Pick<TextModelParams, 'dim' | 'pooling'>): number =>
  p.pooling === 'mean-max' ? 2 * p.dim : p.dim;

/** Guard for the weighted mean of an empty bag (all padding): the bag is then the zero vector. */
export const WEIGHT_EPS = 1e-6;

/**
 * How the feature rows are pooled: `mean` (the weighted mean, fastText's bag) or `mean-max` (the mean
 * and the element-wise max side by side, 2·dim wide). Max pooling keeps one strong n-gram ("kill you")
 * as strong in a long text as in a short one, where the mean dilutes it.
 */
export type Pooling = 'mean' | 'mean-max';

export interface TextModelParams {
  buckets: number;
  dim: number;
  /** @default 'mean' */
  pooling?: Pooling;
  /** Width of the hidden layer; 0 puts the output layer straight on the bag. */
  hidden: number;
  /** [buckets, dim]; row 0 (padding) stays zero. */
  embedding: Float32Array;
  /** [pooled width, hidden] and [hidden]; empty when hidden = 0. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hidden || pooled width, outputs] and [outputs]. */
  w2: Float32Array;
  b2: Float32Array;
  /** Platt scaling per output: calibrated logit = scale * logit + shift. */
  calibScale: Float32Array;
  calibShift: Float32Array;
}

/** Deterministic PRNG (mulberry32), so training is reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fresh parameters: small uniform embeddings, He-scaled hidden layer, zero output layer. */
export function initParams(
  buckets: number,
  dim: number,
  hidden: number,
  seed: number,
  outputs: number = OUTPUTS,
  pooling: Pooling = 'mean',
): TextModelParams {
  const rnd = mulberry32(seed);
  const width = pooledWidth({ dim, pooling });
  const uniform = (n: number, a: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * a);
  const embedding = uniform(buckets * dim, 1 / Math.sqrt(dim));
  embedding.fill(0, 0, dim);
  const inner = hidden > 0 ? hidden : width;
  return {
    buckets,
    dim,
    pooling,
    hidden,
    embedding,
    w1: uniform(width * hidden, Math.sqrt(6 / width)),
    b1: new Float32Array(hidden),
    w2: uniform(inner * outputs, Math.sqrt(1 / inner)),
    b2: new Float32Array(outputs),
    calibScale: new Float32Array(outputs).fill(1),
    calibShift: new Float32Array(outputs),
  };
}

export const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

/** Intermediate values of one forward pass, kept for backprop. */
export interface ForwardResult {
  /** Sum of feature weights before the epsilon guard. */
  weightSum: number;
  /** The pooled bag: the mean (and after it the max, with max pooling). */
  bag: Float64Array;
  /** With max pooling: per dimension, the token whose row gave the max (-1 for an empty text). */
  argmax: Int32Array;
  /** Hidden pre-activation (empty when hidden = 0). */
  pre: Float64Array;
  /** The `embedding` output: the hidden activation, or the bag when hidden = 0. */
  repr: Float64Array;
  /** Output logits before calibration. */
  rawLogits: Float64Array;
  /** Calibrated probabilities (what the ONNX `probs` output gives). */
  probs: Float64Array;
}

/** One text through the model, in float64 on the float32 parameters. */
export function forward(p: TextModelParams, f: Features): ForwardResult {
  const { dim, hidden } = p;
  let weightSum = 0;
  for (const w of f.weights) weightSum += w;
  const den = Math.max(weightSum, WEIGHT_EPS);
  const width = pooledWidth(p);
  const withMax = width > dim;
  const bag = new Float64Array(width);
  const argmax = new Int32Array(withMax ? dim : 0).fill(-1);
  for (let t = 0; t < f.ids.length; t++) {
    const w = f.weights[t] ?? 0;
    if (w === 0) continue;
    const row = (f.ids[t] ?? 0) * dim;
    for (let k = 0; k < dim; k++) {
      const e = p.embedding[row + k] ?? 0;
      bag[k] = (bag[k] ?? 0) + w * e;
      if (withMax && (argmax[k] === -1 || e > (bag[dim + k] ?? 0))) {
        bag[dim + k] = e;
        argmax[k] = t;
      }
    }
  }
  for (let k = 0; k < dim; k++) bag[k] = (bag[k] ?? 0) / den;
  let repr = bag;
  const pre = new Float64Array(hidden);
  if (hidden > 0) {
    repr = new Float64Array(hidden);
    for (let j = 0; j < hidden; j++) pre[j] = p.b1[j] ?? 0;
    for (let k = 0; k < width; k++) {
      const x = bag[k] ?? 0;
      if (x === 0) continue;
      const off = k * hidden;
      for (let j = 0; j < hidden; j++) pre[j] = (pre[j] ?? 0) + x * (p.w1[off + j] ?? 0);
    }
    for (let j = 0; j < hidden; j++) repr[j] = Math.max(0, pre[j] ?? 0);
  }
  const outputs = outputsOf(p);
  const rawLogits = new Float64Array(outputs);
  const probs = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let z = p.b2[o] ?? 0;
    for (let j = 0; j < repr.length; j++) z += (repr[j] ?? 0) * (p.w2[j * outputs + o] ?? 0);
    rawLogits[o] = z;
    probs[o] = sigmoid((p.calibScale[o] ?? 1) * z + (p.calibShift[o] ?? 0));
  }
  return { weightSum, bag, argmax, pre, repr, rawLogits, probs };
}

/** Calibrated probabilities of many texts, one row per text. */
export function predict(p: TextModelParams, batch: readonly Features[]): Float64Array[] {
  return batch.map((f) => forward(p, f).probs);
}
