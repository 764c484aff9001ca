/**
 * The convolutional text model (`hashed-subword-cnn`): per word, the sum of the embeddings of its
 * hashed id and character n-gram ids (fastText subwords) → one Conv1d over the words (odd width, zero
 * padding) → ReLU → max over the words that are present → optional ReLU hidden layer → one logit per
 * label → per-output Platt scaling → sigmoid. PyTorch trains it (cnn/train_cnn.py, driven by
 * cnn-train.ts); this module is its ONNX graph, a plain TypeScript forward pass the graph is tested
 * against, and the reading of a graph's weights back.
 *
 * Padding is exact, not approximate: id 0's embedding row is zero, so a padded word is a zero vector,
 * the same as the convolution's own zero padding at the ends; padded words are then masked out of the
 * max, and because the mask multiplies values that ReLU made non-negative, an empty text pools to zeros.
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { buildModel, type Initializer, int64s, type NodeSpec } from '#model-artifacts/onnx/graph.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { padSubwordBatch, type SubwordSequence } from '#shared/text/featurize.ts';
import { mulberry32, sigmoid } from './model.ts';
import { type TextModelOutput, textModelOutput } from './onnx.ts';

/** Weights of the convolutional model, in PyTorch's layouts (which ONNX Conv and Gemm share). */
export interface CnnParams {
  /** Hash buckets: the embedding has buckets + 1 rows, row 0 (padding) zero. */
  buckets: number;
  dim: number;
  filters: number;
  /** Convolution width in words, odd (padded by (width − 1) / 2 on each side). */
  width: number;
  /** Width of the hidden layer; 0 puts the output layer straight on the pooled vector. */
  hidden: number;
  /** [buckets + 1, dim]. */
  embedding: Float32Array;
  /** [filters, dim, width] and [filters]. */
  convW: Float32Array;
  convB: Float32Array;
  /** [hidden, filters] and [hidden]; empty when hidden = 0. */
  hiddenW: Float32Array;
  hiddenB: Float32Array;
  /** [outputs, hidden || filters] and [outputs]. */
  outW: Float32Array;
  outB: Float32Array;
  /** Platt scaling per output: calibrated logit = scale · logit + shift. */
  calibScale: Float32Array;
  calibShift: Float32Array;
}

/** Width of the `embedding` output: the hidden layer, or the pooled vector without one. */
export const cnnEmbeddingWidth = (p: Pick<CnnParams, 'hidden' | 'filters'>): number =>
  p.hidden > 0 ? p.hidden : p.filters;

/** Random parameters of a given shape (for tests and fixtures; training happens in PyTorch). */
export function randomCnnParams(
  shape: { buckets: number; dim: number; filters: number; width: number; hidden: number; outputs: number },
  seed: number,
): CnnParams {
  const rnd = mulberry32(seed);
  const uniform = (n: number, a: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * a);
  const { buckets, dim, filters, width, hidden, outputs } = shape;
  const embedding = uniform((buckets + 1) * dim, 1);
  embedding.fill(0, 0, dim);
  const inner = hidden > 0 ? hidden : filters;
  return {
    buckets,
    dim,
    filters,
    width,
    hidden,
    embedding,
    convW: uniform(filters * dim * width, 1 / Math.sqrt(dim * width)),
    convB: uniform(filters, 0.1),
    hiddenW: uniform(hidden * filters, 1 / Math.sqrt(filters)),
    hiddenB: uniform(hidden, 0.1),
    outW: uniform(outputs * inner, 1 / Math.sqrt(inner)),
    outB: uniform(outputs, 0.1),
    calibScale: new Float32Array(outputs).fill(1),
    calibShift: new Float32Array(outputs),
  };
}

/** Intermediate values of {@link cnnForward}. */
export interface CnnForward {
  /** Max over present words of the ReLU'd convolution ([filters]; zeros for an empty text). */
  pooled: Float64Array;
  /** The `embedding` output. */
  repr: Float64Array;
  rawLogits: Float64Array;
  probs: Float64Array;
}

/** One text through the model, in float64 on the float32 weights: the reference for the ONNX graph. */
export function cnnForward(p: CnnParams, s: SubwordSequence): CnnForward {
  const { dim, filters, width } = p;
  const half = (width - 1) / 2;
  const vec = new Float64Array(s.words * dim);
  for (let w = 0; w < s.words; w++) {
    for (let k = 0; k < s.slots; k++) {
      const row = (s.ids[w * s.slots + k] ?? 0) * dim;
      for (let d = 0; d < dim; d++) vec[w * dim + d] = (vec[w * dim + d] ?? 0) + (p.embedding[row + d] ?? 0);
    }
  }
  const pooled = new Float64Array(filters);
  for (let f = 0; f < filters; f++) {
    for (let w = 0; w < s.words; w++) {
      let z = p.convB[f] ?? 0;
      for (let j = 0; j < width; j++) {
        const at = w + j - half;
        if (at < 0 || at >= s.words) continue;
        for (let d = 0; d < dim; d++)
          z += (p.convW[(f * dim + d) * width + j] ?? 0) * (vec[at * dim + d] ?? 0);
      }
      pooled[f] = Math.max(pooled[f] ?? 0, z);
    }
  }
  const dense = (x: Float64Array, w: Float32Array, b: Float32Array, n: number, relu: boolean) =>
    Float64Array.from({ length: n }, (_, o) => {
      let z = b[o] ?? 0;
      for (let i = 0; i < x.length; i++) z += (w[o * x.length + i] ?? 0) * (x[i] ?? 0);
      return relu ? Math.max(0, z) : z;
    });
  const repr = p.hidden > 0 ? dense(pooled, p.hiddenW, p.hiddenB, p.hidden, true) : pooled;
  const rawLogits = dense(repr, p.outW, p.outB, p.outB.length, false);
  const probs = rawLogits.map((z, o) => sigmoid((p.calibScale[o] ?? 1) * z + (p.calibShift[o] ?? 0)));
  return { pooled, repr, rawLogits, probs };
}

/** Serialises the model to ONNX bytes (opset 15): input `ids` [batch, words, subwords], outputs `probs` and `embedding`. */
export function exportCnnModel(p: CnnParams, metadata: Record<string, string> = {}): Uint8Array {
  if (p.width % 2 !== 1) throw new Error(`convolution width must be odd, got ${p.width}`);
  const outputs = p.outB.length;
  const inner = cnnEmbeddingWidth(p);
  const half = (p.width - 1) / 2;
  const initializers: Initializer[] = [
    { name: 'embedding_matrix', dims: [p.buckets + 1, p.dim], data: p.embedding },
    int64s('axes_subwords', [2]),
    { name: 'word_slot', dims: [], data: BigInt64Array.of(0n) },
    { name: 'zero_i64', dims: [], data: BigInt64Array.of(0n) },
    int64s('axes_channel', [1]),
    { name: 'conv_w', dims: [p.filters, p.dim, p.width], data: p.convW },
    { name: 'conv_b', dims: [p.filters], data: p.convB },
    { name: 'out_w', dims: [outputs, inner], data: p.outW },
    { name: 'out_b', dims: [outputs], data: p.outB },
    { name: 'calib_scale', dims: [outputs], data: p.calibScale },
    { name: 'calib_shift', dims: [outputs], data: p.calibShift },
  ];
  const nodes: NodeSpec[] = [
    // [batch, words, subwords, dim] → each word's vector is the sum over its ids (row 0 is zero).
    { op: 'Gather', inputs: ['embedding_matrix', 'ids'], outputs: ['id_rows'], attrs: { axis: 0 } },
    {
      op: 'ReduceSum',
      inputs: ['id_rows', 'axes_subwords'],
      outputs: ['word_vectors'],
      attrs: { keepdims: 0 },
    },
    { op: 'Transpose', inputs: ['word_vectors'], outputs: ['word_channels'], attrs: { perm: [0, 2, 1] } },
    {
      op: 'Conv',
      inputs: ['word_channels', 'conv_w', 'conv_b'],
      outputs: ['conv'],
      attrs: { kernel_shape: [p.width], pads: [half, half] },
    },
    { op: 'Relu', inputs: ['conv'], outputs: ['conv_relu'] },
    // A word is present when its word id (slot 0) is not padding; absent words pool as 0, which
    // never beats a ReLU output of a present word and leaves an empty text at zeros.
    { op: 'Gather', inputs: ['ids', 'word_slot'], outputs: ['word_ids'], attrs: { axis: 2 } },
    { op: 'Greater', inputs: ['word_ids', 'zero_i64'], outputs: ['word_present'] },
    { op: 'Cast', inputs: ['word_present'], outputs: ['word_mask'], attrs: { to: 1 } },
    { op: 'Unsqueeze', inputs: ['word_mask', 'axes_channel'], outputs: ['word_mask3'] },
    { op: 'Mul', inputs: ['conv_relu', 'word_mask3'], outputs: ['conv_masked'] },
    { op: 'ReduceMax', inputs: ['conv_masked'], outputs: ['pooled'], attrs: { axes: [2], keepdims: 0 } },
  ];
  let repr = 'pooled';
  if (p.hidden > 0) {
    initializers.push(
      { name: 'hidden_w', dims: [p.hidden, p.filters], data: p.hiddenW },
      { name: 'hidden_b', dims: [p.hidden], data: p.hiddenB },
    );
    nodes.push(
      {
        op: 'Gemm',
        inputs: ['pooled', 'hidden_w', 'hidden_b'],
        outputs: ['hidden_pre'],
        attrs: { transB: 1 },
      },
      { op: 'Relu', inputs: ['hidden_pre'], outputs: ['hidden'] },
    );
    repr = 'hidden';
  }
  nodes.push(
    { op: 'Identity', inputs: [repr], outputs: ['embedding'] },
    { op: 'Gemm', inputs: [repr, 'out_w', 'out_b'], outputs: ['raw_logits'], attrs: { transB: 1 } },
    // Platt scaling fitted on the validation split, so `probs` are calibrated probabilities.
    { op: 'Mul', inputs: ['raw_logits', 'calib_scale'], outputs: ['scaled_logits'] },
    { op: 'Add', inputs: ['scaled_logits', 'calib_shift'], outputs: ['logits'] },
    { op: 'Sigmoid', inputs: ['logits'], outputs: ['probs'] },
  );
  return buildModel({
    name: 'text-toxicity',
    inputs: [{ name: 'ids', type: 'int64', shape: ['batch', 'words', 'subwords'] }],
    outputs: [
      { name: 'probs', type: 'float32', shape: ['batch', outputs] },
      { name: 'embedding', type: 'float32', shape: ['batch', inner] },
    ],
    nodes,
    initializers,
    metadata,
  });
}

/** Runs an exported CNN on subword sequences, padded to at least `min` words and subwords. */
export async function runCnnModel(
  session: InferenceSession,
  batch: readonly SubwordSequence[],
  min: { words?: number; slots?: number } = {},
): Promise<TextModelOutput> {
  if (batch.length === 0) return { probs: [], embedding: [] };
  const { ids, words, slots } = padSubwordBatch(batch, min);
  const out = await session.run({ ids: new ort.Tensor('int64', ids, [batch.length, words, slots]) });
  return textModelOutput(out, batch.length);
}

/** Reads the weights back out of an exported CNN (to score with the previous model, for parity checks). */
export function cnnParamsFromOnnx(bytes: Uint8Array): CnnParams {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const tensors = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== onnxProto.onnx.TensorProto.DataType.FLOAT) continue;
    // Copy: raw_data inside the protobuf buffer is not necessarily 4-byte aligned.
    const data = new Float32Array(new Uint8Array(t.rawData ?? new Uint8Array()).buffer);
    tensors.set(t.name ?? '', { dims: (t.dims ?? []).map(Number), data });
  }
  const get = (name: string): { dims: number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`CNN text model has no initializer: ${name}`);
    return t;
  };
  const emb = get('embedding_matrix');
  const conv = get('conv_w');
  const hidden = tensors.has('hidden_w') ? (get('hidden_w').dims[0] ?? 0) : 0;
  return {
    buckets: (emb.dims[0] ?? 1) - 1,
    dim: emb.dims[1] ?? 0,
    filters: conv.dims[0] ?? 0,
    width: conv.dims[2] ?? 0,
    hidden,
    embedding: emb.data,
    convW: conv.data,
    convB: get('conv_b').data,
    hiddenW: hidden > 0 ? get('hidden_w').data : new Float32Array(),
    hiddenB: hidden > 0 ? get('hidden_b').data : new Float32Array(),
    outW: get('out_w').data,
    outB: get('out_b').data,
    calibScale: get('calib_scale').data,
    calibShift: get('calib_shift').data,
  };
}
