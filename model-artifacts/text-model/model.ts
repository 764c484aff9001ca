/**
 * The text model in plain TypeScript: an EmbeddingBag (weighted mean of hashed-feature rows),
 * an optional ReLU hidden layer and three sigmoid outputs with per-output Platt scaling. The ONNX
 * export (onnx.ts) computes exactly this; the trainer (trainer.ts) differentiates it by hand.
 */
import type { Features } from '#shared/text/featurize.ts';

export const OUTPUTS = 3;

/** Guard for the weighted mean of an empty bag (all padding): the bag is then the zero vector. */
export const WEIGHT_EPS = 1e-6;

export interface TextModelParams {
  buckets: number;
  dim: number;
  /** Width of the hidden layer; 0 puts the output layer straight on the bag. */
  hidden: number;
  /** [buckets, dim]; row 0 (padding) stays zero. */
  embedding: Float32Array;
  /** [dim, hidden] and [hidden]; empty when hidden = 0. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hidden || dim, 3] and [3]. */
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
export function initParams(buckets: number, dim: number, hidden: number, seed: number): TextModelParams {
  const rnd = mulberry32(seed);
  const uniform = (n: number, a: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * a);
  const embedding = uniform(buckets * dim, 1 / Math.sqrt(dim));
  embedding.fill(0, 0, dim);
  const inner = hidden > 0 ? hidden : dim;
  return {
    buckets,
    dim,
    hidden,
    embedding,
    w1: uniform(dim * hidden, Math.sqrt(6 / dim)),
    b1: new Float32Array(hidden),
    w2: uniform(inner * OUTPUTS, Math.sqrt(1 / inner)),
    b2: new Float32Array(OUTPUTS),
    calibScale: Float32Array.of(1, 1, 1),
    calibShift: Float32Array.of(0, 0, 0),
  };
}

export const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

/** Intermediate values of one forward pass, kept for backprop. */
export interface ForwardResult {
  /** Sum of feature weights before the epsilon guard. */
  weightSum: number;
  bag: Float64Array;
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
  const bag = new Float64Array(dim);
  for (let t = 0; t < f.ids.length; t++) {
    const w = f.weights[t] ?? 0;
    if (w === 0) continue;
    const row = (f.ids[t] ?? 0) * dim;
    for (let k = 0; k < dim; k++) bag[k] = (bag[k] ?? 0) + w * (p.embedding[row + k] ?? 0);
  }
  for (let k = 0; k < dim; k++) bag[k] = (bag[k] ?? 0) / den;
  let repr = bag;
  const pre = new Float64Array(hidden);
  if (hidden > 0) {
    repr = new Float64Array(hidden);
    for (let j = 0; j < hidden; j++) pre[j] = p.b1[j] ?? 0;
    for (let k = 0; k < dim; k++) {
      const x = bag[k] ?? 0;
      if (x === 0) continue;
      const off = k * hidden;
      for (let j = 0; j < hidden; j++) pre[j] = (pre[j] ?? 0) + x * (p.w1[off + j] ?? 0);
    }
    for (let j = 0; j < hidden; j++) repr[j] = Math.max(0, pre[j] ?? 0);
  }
  const rawLogits = new Float64Array(OUTPUTS);
  const probs = new Float64Array(OUTPUTS);
  for (let o = 0; o < OUTPUTS; o++) {
    let z = p.b2[o] ?? 0;
    for (let j = 0; j < repr.length; j++) z += (repr[j] ?? 0) * (p.w2[j * OUTPUTS + o] ?? 0);
    rawLogits[o] = z;
    probs[o] = sigmoid((p.calibScale[o] ?? 1) * z + (p.calibShift[o] ?? 0));
  }
  return { weightSum, bag, pre, repr, rawLogits, probs };
}

/** Calibrated probabilities of many texts, as rows of three. */
export function predict(p: TextModelParams, batch: readonly Features[]): Float64Array[] {
  return batch.map((f) => forward(p, f).probs);
}
