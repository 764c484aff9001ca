/**
 * Translates a keras functional model (channels_last, as tfjs stores it) into ONNX nodes and
 * initializers, walking its layer topology generically. The graph runs in NCHW: the NHWC input is
 * transposed once, kernels are re-laid out (HWIO→OIHW, depthwise HWCM→(C·M)1HW with group=C), and
 * BatchNormalization and ZeroPadding2D are folded into the convolution they follow/precede.
 */
import type { Initializer, NodeSpec } from '#model-artifacts/onnx/graph.ts';
import type { KerasLayer, KerasModel, Weight } from './nsfwjs-source.ts';

export class KerasConversionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KerasConversionError';
  }
}

/** A tensor of the graph under construction; `shape` excludes the batch dim (NCHW: [C,H,W]; flat: [F]). */
interface Value {
  name: string;
  shape: number[];
  /** ZeroPadding2D output not emitted yet: a following 'valid' convolution absorbs it into its pads. */
  pending?: { source: Value; pads: [number, number, number, number] };
}

/** The emitted convolution behind a tensor, kept so that a BatchNormalization can fold into it. */
interface ConvRecord {
  weight: Initializer & { data: Float32Array };
  node: NodeSpec;
  outChannels: number;
}

export interface ConvertOptions {
  /** Name of the uint8 NHWC graph input. */
  inputName: string;
  /** Scale applied after casting the input to float (nsfwjs divides by 255). */
  inputDivisor: number;
  /** Graph outputs: ONNX output name → keras layer whose output it exposes. */
  outputs: Record<string, string>;
}

export interface ConvertedGraph {
  nodes: NodeSpec[];
  initializers: Initializer[];
  /** Per-sample shape (no batch dim) of every requested output. */
  outputShapes: Record<string, number[]>;
  /** Input shape [H,W,C] declared by the keras InputLayer. */
  inputShape: [number, number, number];
  /** Class names of the layers converted, with counts (for the model card). */
  layerCounts: Record<string, number>;
}

type Pads = [number, number, number, number]; // top, bottom, left, right

const FLOAT = 1; // onnx.TensorProto.DataType.FLOAT

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v as unknown[];
    if (typeof a === 'number' && typeof b === 'number') return [a, b];
  }
  throw new KerasConversionError(`${what}: expected a number or a pair, got ${JSON.stringify(v)}`);
}

/** Pads and output size of one spatial dim, computed like TensorFlow ('same' pads the extra pixel after). */
function spatial(inSize: number, k: number, stride: number, dilation: number, padding: string) {
  const effK = (k - 1) * dilation + 1;
  if (padding === 'valid') return { before: 0, after: 0, out: Math.floor((inSize - effK) / stride) + 1 };
  if (padding === 'same') {
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + effK - inSize, 0);
    const before = Math.floor(total / 2);
    return { before, after: total - before, out };
  }
  throw new KerasConversionError(`unsupported padding '${padding}'`);
}

/** How many times each layer's output is consumed: folding is only exact for a single consumer. */
function countConsumers(model: KerasModel, outputs: ConvertOptions['outputs']): Map<string, number> {
  const consumers = new Map<string, number>();
  for (const layer of model.layers) {
    for (const call of layer.inbound_nodes) {
      for (const [name] of call) consumers.set(name, (consumers.get(name) ?? 0) + 1);
    }
  }
  for (const name of Object.values(outputs)) consumers.set(name, (consumers.get(name) ?? 0) + 1);
  return consumers;
}

/** The ONNX graph under construction: nodes and initializers in emission order, and every tensor so far. */
class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: Initializer[] = [];
  /** Keras layer name → the tensor holding its output. */
  readonly values = new Map<string, Value>();
  /** Linear convolutions a following BatchNormalization may still fold into. */
  readonly convs = new Map<string, ConvRecord>();
  inputShape: [number, number, number] | undefined;

  constructor(
    readonly weights: Map<string, Weight>,
    readonly consumers: Map<string, number>,
    readonly options: ConvertOptions,
  ) {}

  weight(layer: KerasLayer, key: string): Weight {
    const w = this.weights.get(`${layer.name}/${key}`);
    if (!w) throw new KerasConversionError(`layer ${layer.name}: weight '${key}' not found`);
    return w;
  }

  addInit<T extends Initializer>(init: T): T {
    this.initializers.push(init);
    return init;
  }

  scalar(name: string, v: number) {
    return this.addInit({ name, dims: [], data: Float32Array.of(v) });
  }

  emit(node: NodeSpec): void {
    this.nodes.push(node);
  }

  /** Emits a pending ZeroPadding2D as a Pad node (when no convolution could absorb it). */
  materialize(v: Value): Value {
    if (!v.pending) return v;
    const { source, pads } = v.pending;
    const [t, b, l, r] = pads;
    const padsInit = this.addInit({
      name: `${v.name}/pads`,
      dims: [8],
      data: BigInt64Array.from([0, 0, t, l, 0, 0, b, r].map(BigInt)),
    });
    this.emit({
      op: 'Pad',
      name: v.name,
      inputs: [this.materialize(source).name, padsInit.name],
      outputs: [v.name],
    });
    v.pending = undefined;
    return v;
  }

  inputOf(layer: KerasLayer): Value[] {
    if (layer.inbound_nodes.length !== 1) {
      throw new KerasConversionError(`layer ${layer.name} is called ${layer.inbound_nodes.length} times`);
    }
    return (layer.inbound_nodes[0] ?? []).map(([name, nodeIndex, tensorIndex]) => {
      const v = this.values.get(name);
      if (!v || nodeIndex !== 0 || tensorIndex !== 0) {
        throw new KerasConversionError(
          `layer ${layer.name}: input ${name}[${nodeIndex}][${tensorIndex}] unknown`,
        );
      }
      return v;
    });
  }

  single(layer: KerasLayer): Value {
    const ins = this.inputOf(layer);
    if (ins.length !== 1 || !ins[0]) throw new KerasConversionError(`layer ${layer.name} expects one input`);
    return ins[0];
  }

  /** Appends a keras activation after `v`; channel axis is 1 both for NCHW and flat tensors. */
  activation(layerName: string, act: unknown, v: Value): Value {
    if (act === undefined || act === null || act === 'linear') return v;
    const out = `${layerName}/${String(act)}`;
    switch (act) {
      case 'relu':
        this.emit({ op: 'Relu', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'relu6':
        this.emit({
          op: 'Clip',
          name: out,
          inputs: [v.name, this.scalar(`${out}/min`, 0).name, this.scalar(`${out}/max`, 6).name],
          outputs: [out],
        });
        break;
      case 'sigmoid':
        this.emit({ op: 'Sigmoid', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'tanh':
        this.emit({ op: 'Tanh', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'softmax':
        if (v.shape.length !== 1) throw new KerasConversionError(`${layerName}: softmax on a feature map`);
        this.emit({ op: 'Softmax', name: out, inputs: [v.name], outputs: [out], attrs: { axis: -1 } });
        break;
      default:
        throw new KerasConversionError(`${layerName}: unsupported activation '${String(act)}'`);
    }
    return { name: out, shape: v.shape };
  }
}

type LayerConverter = (g: GraphBuilder, layer: KerasLayer) => Value;

/** The uint8 NHWC graph input, cast to float, scaled and transposed once to NCHW. */
const convertInputLayer: LayerConverter = (g, layer) => {
  const shape = layer.config.batch_input_shape as (number | null)[];
  if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new KerasConversionError(
      `input ${layer.name}: expected [batch,H,W,C], got ${JSON.stringify(shape)}`,
    );
  }
  const [, h, w, ch] = shape as [null, number, number, number];
  g.inputShape = [h, w, ch];
  g.emit({
    op: 'Cast',
    name: 'input/cast',
    inputs: [g.options.inputName],
    outputs: ['input/float'],
    attrs: { to: FLOAT },
  });
  g.emit({
    op: 'Div',
    name: 'input/scale',
    inputs: ['input/float', g.scalar('input/divisor', g.options.inputDivisor).name],
    outputs: ['input/scaled'],
  });
  g.emit({
    op: 'Transpose',
    name: 'input/nchw',
    inputs: ['input/scaled'],
    outputs: [layer.name],
    attrs: { perm: [0, 3, 1, 2] },
  });
  return { name: layer.name, shape: [ch, h, w] };
};

/** keras depthwise [kh,kw,C,M] → onnx [C*M,1,kh,kw]; output channel c*M+m, as TF orders them. */
function depthwiseKernel(kernel: Weight, kh: number, kw: number, cin: number, m: number) {
  const outC = cin * m;
  const data = new Float32Array(outC * kh * kw);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ci = 0; ci < cin; ci++)
        for (let mi = 0; mi < m; mi++) {
          data[((ci * m + mi) * kh + y) * kw + x] = kernel.data[((y * kw + x) * cin + ci) * m + mi] as number;
        }
  return { outC, dims: [outC, 1, kh, kw], data };
}

/** keras HWIO → onnx OIHW. */
function standardKernel(kernel: Weight, kh: number, kw: number, cin: number, outC: number) {
  const data = new Float32Array(outC * cin * kh * kw);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ci = 0; ci < cin; ci++)
        for (let o = 0; o < outC; o++) {
          data[((o * cin + ci) * kh + y) * kw + x] = kernel.data[
            ((y * kw + x) * cin + ci) * outC + o
          ] as number;
        }
  return { outC, dims: [outC, cin, kh, kw], data };
}

/** Conv2D or DepthwiseConv2D, absorbing a pending ZeroPadding2D into its pads where it can. */
function convertConv(g: GraphBuilder, layer: KerasLayer, depthwise: boolean): Value {
  const c = layer.config;
  if (c.data_format !== undefined && c.data_format !== 'channels_last') {
    throw new KerasConversionError(`${layer.name}: data_format ${String(c.data_format)}`);
  }
  let input = g.single(layer);
  const [cin, h, w] = input.shape as [number, number, number];
  const [kh, kw] = pair(c.kernel_size, `${layer.name}.kernel_size`);
  const [sh, sw] = pair(c.strides ?? 1, `${layer.name}.strides`);
  const [dh, dw] = pair(c.dilation_rate ?? 1, `${layer.name}.dilation_rate`);
  const padding = String(c.padding);
  let extra: Pads = [0, 0, 0, 0];
  // A ZeroPadding2D feeding only this 'valid' conv becomes part of its pads: no Pad node.
  if (input.pending && padding === 'valid') {
    extra = input.pending.pads;
    input = input.pending.source;
  } else {
    input = g.materialize(input);
  }
  const py = spatial(h, kh, sh, dh, padding);
  const px = spatial(w, kw, sw, dw, padding);
  const pads = [py.before + extra[0], px.before + extra[2], py.after + extra[1], px.after + extra[3]];

  const kernel = g.weight(layer, depthwise ? 'depthwise_kernel' : 'kernel');
  const { outC, dims, data } = depthwise
    ? depthwiseKernel(kernel, kh, kw, cin, Number(c.depth_multiplier ?? 1))
    : standardKernel(kernel, kh, kw, cin, Number(c.filters));
  if (kernel.data.length !== data.length) {
    throw new KerasConversionError(
      `${layer.name}: kernel ${kernel.shape} does not fit input channels ${cin}`,
    );
  }
  const wInit = g.addInit({ name: `${layer.name}/W`, dims, data });
  const node: NodeSpec = {
    op: 'Conv',
    name: layer.name,
    inputs: [input.name, wInit.name],
    outputs: [layer.name],
    attrs: {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      dilations: [dh, dw],
      pads,
      group: depthwise ? cin : 1,
    },
  };
  if (c.use_bias) {
    const bias = g.weight(layer, 'bias');
    node.inputs.push(
      g.addInit({ name: `${layer.name}/B`, dims: [outC], data: Float32Array.from(bias.data) }).name,
    );
  }
  g.emit(node);
  const out: Value = { name: layer.name, shape: [outC, py.out, px.out] };
  if ((c.activation ?? 'linear') === 'linear')
    g.convs.set(out.name, { weight: wInit, node, outChannels: outC });
  return g.activation(layer.name, c.activation, out);
}

interface BatchNormParams {
  ch: number;
  eps: number;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta, folded into the convolution's W (in
 * place) and a new bias initializer, computed in float64.
 */
function foldIntoConv(g: GraphBuilder, record: ConvRecord, bn: BatchNormParams): void {
  const { ch, eps, gamma, beta, mean, variance } = bn;
  const per = record.weight.data.length / ch;
  const bias = new Float32Array(ch);
  const oldBias = record.node.inputs[2];
  const oldBiasData = oldBias ? g.initializers.find((i) => i.name === oldBias)?.data : undefined;
  for (let o = 0; o < ch; o++) {
    const s = (gamma ? (gamma[o] as number) : 1) / Math.sqrt((variance[o] as number) + eps);
    for (let i = 0; i < per; i++)
      record.weight.data[o * per + i] = (record.weight.data[o * per + i] as number) * s;
    const b0 = oldBiasData ? Number(oldBiasData[o]) : 0;
    bias[o] = (b0 - (mean[o] as number)) * s + (beta ? (beta[o] as number) : 0);
  }
  const bName = `${record.node.name}/B_folded`;
  g.addInit({ name: bName, dims: [ch], data: bias });
  record.node.inputs[2] = bName;
}

/** BatchNormalization: folded into the convolution it follows when exact, else its own node. */
function convertBatchNorm(g: GraphBuilder, layer: KerasLayer): Value {
  const input = g.single(layer);
  const c = layer.config;
  const axis = Number(c.axis ?? -1);
  if (!((axis === -1 || axis === input.shape.length) && input.shape.length >= 1)) {
    throw new KerasConversionError(`${layer.name}: BatchNormalization over axis ${axis}`);
  }
  const bn: BatchNormParams = {
    ch: input.shape[0] as number,
    eps: Number(c.epsilon ?? 1e-3),
    gamma: c.scale === false ? null : g.weight(layer, 'gamma').data,
    beta: c.center === false ? null : g.weight(layer, 'beta').data,
    mean: g.weight(layer, 'moving_mean').data,
    variance: g.weight(layer, 'moving_variance').data,
  };
  const inLayer = layer.inbound_nodes[0]?.[0]?.[0];
  const record = g.convs.get(input.name);
  if (
    record &&
    g.consumers.get(input.name) === 1 &&
    g.consumers.get(inLayer ?? '') === 1 &&
    record.outChannels === bn.ch
  ) {
    foldIntoConv(g, record, bn);
    g.convs.delete(input.name);
    return input;
  }
  const param = (suffix: string, d: Float32Array | null, fill: number) =>
    g.addInit({
      name: `${layer.name}/${suffix}`,
      dims: [bn.ch],
      data: d ? Float32Array.from(d) : new Float32Array(bn.ch).fill(fill),
    }).name;
  const x = g.materialize(input);
  g.emit({
    op: 'BatchNormalization',
    name: layer.name,
    inputs: [
      x.name,
      param('scale', bn.gamma, 1),
      param('B', bn.beta, 0),
      param('mean', bn.mean, 0),
      param('var', bn.variance, 1),
    ],
    outputs: [layer.name],
    attrs: { epsilon: bn.eps },
  });
  return { name: layer.name, shape: input.shape };
}

/** Keras padding (n, [h, w] or [[top, bottom], [left, right]]) as [top, bottom, left, right]. */
function zeroPads(p: unknown, layerName: string): Pads {
  if (typeof p === 'number') return [p, p, p, p];
  if (Array.isArray(p) && p.every((x) => typeof x === 'number')) {
    const [a, b] = pair(p, layerName);
    return [a, a, b, b];
  }
  const [[t, bo], [l, r]] = [pair((p as unknown[])[0], layerName), pair((p as unknown[])[1], layerName)];
  return [t, bo, l, r];
}

/** ZeroPadding2D: left pending when a single consumer may absorb it, else emitted as a Pad node. */
const convertZeroPadding: LayerConverter = (g, layer) => {
  const input = g.single(layer);
  const pads = zeroPads(layer.config.padding, layer.name);
  const [ch, h, w] = input.shape as [number, number, number];
  const shape = [ch, h + pads[0] + pads[1], w + pads[2] + pads[3]];
  return g.consumers.get(layer.name) === 1
    ? { name: layer.name, shape, pending: { source: input, pads } }
    : g.materialize({ name: layer.name, shape, pending: { source: input, pads } });
};

/** ReLU, or Clip for a ReLU with max_value (relu6). */
const convertReLU: LayerConverter = (g, layer) => {
  const c = layer.config;
  const input = g.materialize(g.single(layer));
  const max = c.max_value as number | null | undefined;
  if (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0) {
    throw new KerasConversionError(`${layer.name}: leaky/thresholded ReLU is not supported`);
  }
  if (max === null || max === undefined) {
    g.emit({ op: 'Relu', name: layer.name, inputs: [input.name], outputs: [layer.name] });
  } else {
    const min = g.scalar(`${layer.name}/min`, 0);
    const maxInit = g.scalar(`${layer.name}/max`, max);
    g.emit({
      op: 'Clip',
      name: layer.name,
      inputs: [input.name, min.name, maxInit.name],
      outputs: [layer.name],
    });
  }
  return { name: layer.name, shape: input.shape };
};

const convertActivation: LayerConverter = (g, layer) =>
  g.activation(layer.name, layer.config.activation, g.materialize(g.single(layer)));

const convertSoftmax: LayerConverter = (g, layer) => {
  const input = g.materialize(g.single(layer));
  if (input.shape.length !== 1) throw new KerasConversionError(`${layer.name}: softmax on a feature map`);
  g.emit({
    op: 'Softmax',
    name: layer.name,
    inputs: [input.name],
    outputs: [layer.name],
    attrs: { axis: -1 },
  });
  return { name: layer.name, shape: input.shape };
};

/** Add of n inputs as a chain of binary Adds; the last one carries the layer's name. */
const convertAdd: LayerConverter = (g, layer) => {
  const ins = g.inputOf(layer).map((v) => g.materialize(v));
  let acc = ins[0];
  if (!acc || ins.length < 2) throw new KerasConversionError(`${layer.name}: Add needs two inputs or more`);
  for (let i = 1; i < ins.length; i++) {
    const name = i === ins.length - 1 ? layer.name : `${layer.name}/${i}`;
    g.emit({ op: 'Add', name, inputs: [acc.name, (ins[i] as Value).name], outputs: [name] });
    acc = { name, shape: acc.shape };
  }
  return acc;
};

const convertPooling: LayerConverter = (g, layer) => {
  const c = layer.config;
  const input = g.materialize(g.single(layer));
  const [ch, h, w] = input.shape as [number, number, number];
  const [kh, kw] = pair(c.pool_size, `${layer.name}.pool_size`);
  const [sh, sw] = pair(c.strides ?? c.pool_size, `${layer.name}.strides`);
  const py = spatial(h, kh, sh, 1, String(c.padding));
  const px = spatial(w, kw, sw, 1, String(c.padding));
  // TF's 'same' average excludes the padding, which is ONNX's count_include_pad=0 default.
  // Trap: onnxruntime's PadFusion merges a single-consumer zero Pad into a following MaxPool
  // and then rejects the session when the merged pads reach the kernel size.
  g.emit({
    op: layer.class_name === 'AveragePooling2D' ? 'AveragePool' : 'MaxPool',
    name: layer.name,
    inputs: [input.name],
    outputs: [layer.name],
    attrs: {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      pads: [py.before, px.before, py.after, px.after],
    },
  });
  return { name: layer.name, shape: [ch, py.out, px.out] };
};

const convertGlobalPooling: LayerConverter = (g, layer) => {
  const input = g.materialize(g.single(layer));
  const pooled = `${layer.name}/pooled`;
  const op = layer.class_name === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
  g.emit({ op, name: pooled, inputs: [input.name], outputs: [pooled] });
  g.emit({
    op: 'Flatten',
    name: layer.name,
    inputs: [pooled],
    outputs: [layer.name],
    attrs: { axis: 1 },
  });
  return { name: layer.name, shape: [input.shape[0] as number] };
};

const convertFlatten: LayerConverter = (g, layer) => {
  let input = g.materialize(g.single(layer));
  const size = input.shape.reduce((a, b) => a * b, 1);
  // keras flattens in HWC order; only a 1×1 map has the same order in NCHW.
  if (input.shape.length === 3 && size !== input.shape[0]) {
    const t = `${layer.name}/nhwc`;
    g.emit({
      op: 'Transpose',
      name: t,
      inputs: [input.name],
      outputs: [t],
      attrs: { perm: [0, 2, 3, 1] },
    });
    input = { name: t, shape: input.shape };
  }
  g.emit({
    op: 'Flatten',
    name: layer.name,
    inputs: [input.name],
    outputs: [layer.name],
    attrs: { axis: 1 },
  });
  return { name: layer.name, shape: [size] };
};

/** Dense as Gemm (keras kernels are [in, out], which is Gemm's B as is), then its activation. */
const convertDense: LayerConverter = (g, layer) => {
  const c = layer.config;
  const input = g.materialize(g.single(layer));
  if (input.shape.length !== 1) throw new KerasConversionError(`${layer.name}: Dense on a non-flat input`);
  const kernel = g.weight(layer, 'kernel');
  const units = Number(c.units);
  const inputs = [
    input.name,
    g.addInit({
      name: `${layer.name}/W`,
      dims: [input.shape[0] as number, units],
      data: Float32Array.from(kernel.data),
    }).name,
  ];
  if (c.use_bias) {
    inputs.push(
      g.addInit({
        name: `${layer.name}/B`,
        dims: [units],
        data: Float32Array.from(g.weight(layer, 'bias').data),
      }).name,
    );
  }
  const mm = `${layer.name}/linear`;
  g.emit({ op: 'Gemm', name: mm, inputs, outputs: [mm] });
  return g.activation(layer.name, c.activation, { name: mm, shape: [units] });
};

/** Inference-time identity. */
const passThrough: LayerConverter = (g, layer) => g.single(layer);

/** Every supported keras layer class. A Map, so that a class name can never hit Object.prototype. */
const CONVERTERS = new Map<string, LayerConverter>([
  ['InputLayer', convertInputLayer],
  ['Conv2D', (g, layer) => convertConv(g, layer, false)],
  ['DepthwiseConv2D', (g, layer) => convertConv(g, layer, true)],
  ['BatchNormalization', convertBatchNorm],
  ['ZeroPadding2D', convertZeroPadding],
  ['ReLU', convertReLU],
  ['Activation', convertActivation],
  ['Softmax', convertSoftmax],
  ['Add', convertAdd],
  ['AveragePooling2D', convertPooling],
  ['MaxPooling2D', convertPooling],
  ['GlobalAveragePooling2D', convertGlobalPooling],
  ['GlobalMaxPooling2D', convertGlobalPooling],
  ['Flatten', convertFlatten],
  ['Dense', convertDense],
  ['Dropout', passThrough],
  ['SpatialDropout2D', passThrough],
  ['GaussianDropout', passThrough],
  ['GaussianNoise', passThrough],
]);

/** An Identity node per requested output, so graph outputs have the names the caller chose. */
function emitOutputs(g: GraphBuilder): Record<string, number[]> {
  const outputShapes: Record<string, number[]> = {};
  for (const [onnxName, layerName] of Object.entries(g.options.outputs)) {
    const v = g.values.get(layerName);
    if (!v) throw new KerasConversionError(`output layer ${layerName} not found`);
    g.emit({
      op: 'Identity',
      name: `output/${onnxName}`,
      inputs: [g.materialize(v).name],
      outputs: [onnxName],
    });
    outputShapes[onnxName] = v.shape;
  }
  return outputShapes;
}

/** Converts a keras model to ONNX nodes; `weights` are keyed `<layer>/<weight>` as tfjs names them. */
export function convertKerasModel(
  model: KerasModel,
  weights: Map<string, Weight>,
  options: ConvertOptions,
): ConvertedGraph {
  const g = new GraphBuilder(weights, countConsumers(model, options.outputs), options);
  const layerCounts: Record<string, number> = {};
  for (const layer of model.layers) {
    layerCounts[layer.class_name] = (layerCounts[layer.class_name] ?? 0) + 1;
    const convert = CONVERTERS.get(layer.class_name);
    if (!convert) {
      throw new KerasConversionError(`layer ${layer.name}: unsupported keras layer ${layer.class_name}`);
    }
    g.values.set(layer.name, convert(g, layer));
  }
  const { inputShape } = g;
  if (!inputShape) throw new KerasConversionError('the model has no InputLayer');
  const outputShapes = emitOutputs(g);
  // Folding leaves the conv's original bias initializer unused when BN replaced it: drop orphans.
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  return {
    nodes: g.nodes,
    initializers: g.initializers.filter((i) => used.has(i.name)),
    outputShapes,
    inputShape,
    layerCounts,
  };
}
