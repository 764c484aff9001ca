/**
 * ONNX export of the text model. The graph is an EmbeddingBag written with standard operators:
 * Gather the feature rows, scale them by their weights, ReduceSum over tokens and divide by the
 * summed weights, so padding (id 0, weight 0) contributes nothing.
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { buildModel, type Initializer, int64s, type NodeSpec } from '#model-artifacts/onnx/graph.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { type Features, padBatch } from '#shared/text/featurize.ts';
import { outputsOf, pooledWidth, type TextModelParams, WEIGHT_EPS } from './model.ts';

/** Serialises trained parameters to ONNX bytes (opset 15). */
export function exportTextModel(p: TextModelParams, metadata: Record<string, string> = {}): Uint8Array {
  const inner = p.hidden > 0 ? p.hidden : pooledWidth(p);
  const OUTPUTS = outputsOf(p);
  const initializers: Initializer[] = [
    { name: 'embedding_matrix', dims: [p.buckets, p.dim], data: p.embedding },
    int64s('axes_tokens', [1]),
    int64s('axes_last', [2]),
    { name: 'weight_eps', dims: [], data: Float32Array.of(WEIGHT_EPS) },
    { name: 'out_w', dims: [inner, OUTPUTS], data: p.w2 },
    { name: 'out_b', dims: [OUTPUTS], data: p.b2 },
    { name: 'calib_scale', dims: [OUTPUTS], data: p.calibScale },
    { name: 'calib_shift', dims: [OUTPUTS], data: p.calibShift },
  ];
  const nodes: NodeSpec[] = [
    { op: 'Gather', inputs: ['embedding_matrix', 'ids'], outputs: ['rows'], attrs: { axis: 0 } },
    { op: 'Unsqueeze', inputs: ['weights', 'axes_last'], outputs: ['weights3'] },
    { op: 'Mul', inputs: ['rows', 'weights3'], outputs: ['weighted_rows'] },
    {
      op: 'ReduceSum',
      inputs: ['weighted_rows', 'axes_tokens'],
      outputs: ['bag_sum'],
      attrs: { keepdims: 0 },
    },
    { op: 'ReduceSum', inputs: ['weights', 'axes_tokens'], outputs: ['weight_sum'], attrs: { keepdims: 1 } },
    { op: 'Max', inputs: ['weight_sum', 'weight_eps'], outputs: ['weight_den'] },
    { op: 'Div', inputs: ['bag_sum', 'weight_den'], outputs: ['bag'] },
  ];
  let pooled = 'bag';
  if (p.pooling === 'mean-max') {
    // Element-wise max over the tokens that are present (weight > 0); an empty text gets zeros.
    initializers.push(
      { name: 'max_pool_floor', dims: [], data: Float32Array.of(-3.0e38) },
      { name: 'zero_f', dims: [], data: Float32Array.of(0) },
    );
    nodes.push(
      { op: 'Greater', inputs: ['weights', 'zero_f'], outputs: ['token_present'] },
      { op: 'Unsqueeze', inputs: ['token_present', 'axes_last'], outputs: ['token_present3'] },
      { op: 'Where', inputs: ['token_present3', 'rows', 'max_pool_floor'], outputs: ['rows_present'] },
      { op: 'ReduceMax', inputs: ['rows_present'], outputs: ['max_raw'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'Greater', inputs: ['weight_sum', 'zero_f'], outputs: ['any_present'] },
      { op: 'Where', inputs: ['any_present', 'max_raw', 'zero_f'], outputs: ['max_pool'] },
      { op: 'Concat', inputs: ['bag', 'max_pool'], outputs: ['pooled'], attrs: { axis: 1 } },
    );
    pooled = 'pooled';
  }
  let repr = pooled;
  if (p.hidden > 0) {
    initializers.push(
      { name: 'hidden_w', dims: [pooledWidth(p), p.hidden], data: p.w1 },
      { name: 'hidden_b', dims: [p.hidden], data: p.b1 },
    );
    nodes.push(
      { op: 'MatMul', inputs: [pooled, 'hidden_w'], outputs: ['hidden_mm'] },
      { op: 'Add', inputs: ['hidden_mm', 'hidden_b'], outputs: ['hidden_pre'] },
      { op: 'Relu', inputs: ['hidden_pre'], outputs: ['hidden'] },
    );
    repr = 'hidden';
  }
  nodes.push(
    { op: 'Identity', inputs: [repr], outputs: ['embedding'] },
    { op: 'MatMul', inputs: [repr, 'out_w'], outputs: ['out_mm'] },
    { op: 'Add', inputs: ['out_mm', 'out_b'], outputs: ['raw_logits'] },
    // Platt scaling fitted on the validation split, so `probs` are calibrated probabilities.
    { op: 'Mul', inputs: ['raw_logits', 'calib_scale'], outputs: ['scaled_logits'] },
    { op: 'Add', inputs: ['scaled_logits', 'calib_shift'], outputs: ['logits'] },
    { op: 'Sigmoid', inputs: ['logits'], outputs: ['probs'] },
  );
  return buildModel({
    name: 'text-toxicity',
    inputs: [
      { name: 'ids', type: 'int64', shape: ['batch', 'tokens'] },
      { name: 'weights', type: 'float32', shape: ['batch', 'tokens'] },
    ],
    outputs: [
      { name: 'probs', type: 'float32', shape: ['batch', OUTPUTS] },
      { name: 'embedding', type: 'float32', shape: ['batch', inner] },
    ],
    nodes,
    initializers,
    metadata,
  });
}

/** Output of {@link runTextModel}: one row per text. */
export interface TextModelOutput {
  probs: Float32Array[];
  embedding: Float32Array[];
}

/** Runs an ONNX text model on featurized texts, padded to `minTokens` (or the longest text). */
export async function runTextModel(
  session: InferenceSession,
  batch: readonly Features[],
  minTokens = 1,
): Promise<TextModelOutput> {
  if (batch.length === 0) return { probs: [], embedding: [] };
  const { ids, weights, tokens } = padBatch(batch, minTokens);
  const out = await session.run({
    ids: new ort.Tensor('int64', ids, [batch.length, tokens]),
    weights: new ort.Tensor('float32', weights, [batch.length, tokens]),
  });
  return textModelOutput(out, batch.length);
}

/** A text model's `probs` and `embedding` outputs split into one row per text (every architecture has both). */
export function textModelOutput(out: ort.InferenceSession.OnnxValueMapType, n: number): TextModelOutput {
  const rows = (name: string): Float32Array[] => {
    const t = out[name];
    if (t === undefined) throw new Error(`text model has no output: ${name}`);
    const data = t.data as Float32Array;
    const width = data.length / n;
    return Array.from({ length: n }, (_, b) => data.slice(b * width, (b + 1) * width));
  };
  return { probs: rows('probs'), embedding: rows('embedding') };
}

/** Reads trained parameters back out of an exported text model (for parity checks). */
export function paramsFromOnnx(bytes: Uint8Array): TextModelParams {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const tensors = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData ?? new Uint8Array();
    if (t.dataType !== onnxProto.onnx.TensorProto.DataType.FLOAT) continue;
    // Copy: raw_data inside the protobuf buffer is not necessarily 4-byte aligned.
    const data = new Float32Array(new Uint8Array(raw).buffer);
    tensors.set(t.name ?? '', { dims: (t.dims ?? []).map(Number), data });
  }
  const get = (name: string): { dims: number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`text model has no initializer: ${name}`);
    return t;
  };
  const emb = get('embedding_matrix');
  const hidden = tensors.has('hidden_w') ? (get('hidden_w').dims[1] ?? 0) : 0;
  return {
    buckets: emb.dims[0] ?? 0,
    dim: emb.dims[1] ?? 0,
    pooling: tensors.has('max_pool_floor') ? 'mean-max' : 'mean',
    hidden,
    embedding: emb.data,
    w1: hidden > 0 ? get('hidden_w').data : new Float32Array(),
    b1: hidden > 0 ? get('hidden_b').data : new Float32Array(),
    w2: get('out_w').data,
    b2: get('out_b').data,
    calibScale: get('calib_scale').data,
    calibShift: get('calib_shift').data,
  };
}
