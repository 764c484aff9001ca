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

/** Converts a keras model to ONNX nodes; `weights` are keyed `<layer>/<weight>` as tfjs names them. */
export function convertKerasModel(
  model: KerasModel,
  weights: Map<string, Weight>,
  options: ConvertOptions,
): ConvertedGraph {
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  const values = new Map<string, Value>();
  const convs = new Map<string, ConvRecord>();
  const layerCounts: Record<string, number> = {};
  let inputShape: [number, number, number] | undefined;

  // How many times each layer's output is consumed: folding is only exact for a single consumer.
  const consumers = new Map<string, number>();
  for (const layer of model.layers) {
    for (const call of layer.inbound_nodes) {
      for (const [name] of call) consumers.set(name, (consumers.get(name) ?? 0) + 1);
    }
  }
  for (const name of Object.values(options.outputs)) consumers.set(name, (consumers.get(name) ?? 0) + 1);

  const weight = (layer: KerasLayer, key: string): Weight => {
    const w = weights.get(`${layer.name}/${key}`);
    if (!w) throw new KerasConversionError(`layer ${layer.name}: weight '${key}' not found`);
    return w;
  };
  const addInit = <T extends Initializer>(init: T): T => {
    initializers.push(init);
    return init;
  };
  const scalar = (name: string, v: number) => addInit({ name, dims: [], data: Float32Array.of(v) });
  const emit = (node: NodeSpec) => nodes.push(node);

  const materialize = (v: Value): Value => {
    if (!v.pending) return v;
    const { source, pads } = v.pending;
    const [t, b, l, r] = pads;
    const padsInit = addInit({
      name: `${v.name}/pads`,
      dims: [8],
      data: BigInt64Array.from([0, 0, t, l, 0, 0, b, r].map(BigInt)),
    });
    emit({ op: 'Pad', name: v.name, inputs: [materialize(source).name, padsInit.name], outputs: [v.name] });
    v.pending = undefined;
    return v;
  };

  const inputOf = (layer: KerasLayer): Value[] => {
    if (layer.inbound_nodes.length !== 1) {
      throw new KerasConversionError(`layer ${layer.name} is called ${layer.inbound_nodes.length} times`);
    }
    return (layer.inbound_nodes[0] ?? []).map(([name, nodeIndex, tensorIndex]) => {
      const v = values.get(name);
      if (!v || nodeIndex !== 0 || tensorIndex !== 0) {
        throw new KerasConversionError(
          `layer ${layer.name}: input ${name}[${nodeIndex}][${tensorIndex}] unknown`,
        );
      }
      return v;
    });
  };
  const single = (layer: KerasLayer): Value => {
    const ins = inputOf(layer);
    if (ins.length !== 1 || !ins[0]) throw new KerasConversionError(`layer ${layer.name} expects one input`);
    return ins[0];
  };

  /** Appends a keras activation after `v`; channel axis is 1 both for NCHW and flat tensors. */
  const activation = (layerName: string, act: unknown, v: Value): Value => {
    if (act === undefined || act === null || act === 'linear') return v;
    const out = `${layerName}/${String(act)}`;
    switch (act) {
      case 'relu':
        emit({ op: 'Relu', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'relu6':
        emit({
          op: 'Clip',
          name: out,
          inputs: [v.name, scalar(`${out}/min`, 0).name, scalar(`${out}/max`, 6).name],
          outputs: [out],
        });
        break;
      case 'sigmoid':
        emit({ op: 'Sigmoid', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'tanh':
        emit({ op: 'Tanh', name: out, inputs: [v.name], outputs: [out] });
        break;
      case 'softmax':
        if (v.shape.length !== 1) throw new KerasConversionError(`${layerName}: softmax on a feature map`);
        emit({ op: 'Softmax', name: out, inputs: [v.name], outputs: [out], attrs: { axis: -1 } });
        break;
      default:
        throw new KerasConversionError(`${layerName}: unsupported activation '${String(act)}'`);
    }
    return { name: out, shape: v.shape };
  };

  const conv = (layer: KerasLayer, depthwise: boolean): Value => {
    const c = layer.config;
    if (c.data_format !== undefined && c.data_format !== 'channels_last') {
      throw new KerasConversionError(`${layer.name}: data_format ${String(c.data_format)}`);
    }
    let input = single(layer);
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
      input = materialize(input);
    }
    const py = spatial(h, kh, sh, dh, padding);
    const px = spatial(w, kw, sw, dw, padding);
    const pads = [py.before + extra[0], px.before + extra[2], py.after + extra[1], px.after + extra[3]];

    const kernel = weight(layer, depthwise ? 'depthwise_kernel' : 'kernel');
    let outC: number;
    let data: Float32Array;
    let dims: number[];
    if (depthwise) {
      // keras [kh,kw,C,M] → onnx [C*M,1,kh,kw]; output channel c*M+m, as TF orders them.
      const m = Number(c.depth_multiplier ?? 1);
      outC = cin * m;
      dims = [outC, 1, kh, kw];
      data = new Float32Array(outC * kh * kw);
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let ci = 0; ci < cin; ci++)
            for (let mi = 0; mi < m; mi++) {
              data[((ci * m + mi) * kh + y) * kw + x] = kernel.data[
                ((y * kw + x) * cin + ci) * m + mi
              ] as number;
            }
    } else {
      // keras HWIO → onnx OIHW
      outC = Number(c.filters);
      dims = [outC, cin, kh, kw];
      data = new Float32Array(outC * cin * kh * kw);
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let ci = 0; ci < cin; ci++)
            for (let o = 0; o < outC; o++) {
              data[((o * cin + ci) * kh + y) * kw + x] = kernel.data[
                ((y * kw + x) * cin + ci) * outC + o
              ] as number;
            }
    }
    if (kernel.data.length !== data.length) {
      throw new KerasConversionError(
        `${layer.name}: kernel ${kernel.shape} does not fit input channels ${cin}`,
      );
    }
    const wInit = addInit({ name: `${layer.name}/W`, dims, data });
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
      const bias = weight(layer, 'bias');
      node.inputs.push(
        addInit({ name: `${layer.name}/B`, dims: [outC], data: Float32Array.from(bias.data) }).name,
      );
    }
    emit(node);
    const out: Value = { name: layer.name, shape: [outC, py.out, px.out] };
    if ((c.activation ?? 'linear') === 'linear')
      convs.set(out.name, { weight: wInit, node, outChannels: outC });
    return activation(layer.name, c.activation, out);
  };

  const batchNorm = (layer: KerasLayer, input: Value): Value => {
    const c = layer.config;
    const axis = Number(c.axis ?? -1);
    if (!((axis === -1 || axis === input.shape.length) && input.shape.length >= 1)) {
      throw new KerasConversionError(`${layer.name}: BatchNormalization over axis ${axis}`);
    }
    const ch = input.shape[0] as number;
    const eps = Number(c.epsilon ?? 1e-3);
    const gamma = c.scale === false ? null : weight(layer, 'gamma').data;
    const beta = c.center === false ? null : weight(layer, 'beta').data;
    const mean = weight(layer, 'moving_mean').data;
    const variance = weight(layer, 'moving_variance').data;
    const inLayer = layer.inbound_nodes[0]?.[0]?.[0];
    const record = convs.get(input.name);
    if (
      record &&
      consumers.get(input.name) === 1 &&
      consumers.get(inLayer ?? '') === 1 &&
      record.outChannels === ch
    ) {
      // y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta, folded into W and B in float64.
      const per = record.weight.data.length / ch;
      const bias = new Float32Array(ch);
      const oldBias = record.node.inputs[2];
      const oldBiasData = oldBias ? initializers.find((i) => i.name === oldBias)?.data : undefined;
      for (let o = 0; o < ch; o++) {
        const s = (gamma ? (gamma[o] as number) : 1) / Math.sqrt((variance[o] as number) + eps);
        for (let i = 0; i < per; i++)
          record.weight.data[o * per + i] = (record.weight.data[o * per + i] as number) * s;
        const b0 = oldBiasData ? Number(oldBiasData[o]) : 0;
        bias[o] = (b0 - (mean[o] as number)) * s + (beta ? (beta[o] as number) : 0);
      }
      const bName = `${record.node.name}/B_folded`;
      addInit({ name: bName, dims: [ch], data: bias });
      record.node.inputs[2] = bName;
      convs.delete(input.name);
      return input;
    }
    const param = (suffix: string, d: Float32Array | null, fill: number) =>
      addInit({
        name: `${layer.name}/${suffix}`,
        dims: [ch],
        data: d ? Float32Array.from(d) : new Float32Array(ch).fill(fill),
      }).name;
    const x = materialize(input);
    emit({
      op: 'BatchNormalization',
      name: layer.name,
      inputs: [
        x.name,
        param('scale', gamma, 1),
        param('B', beta, 0),
        param('mean', mean, 0),
        param('var', variance, 1),
      ],
      outputs: [layer.name],
      attrs: { epsilon: eps },
    });
    return { name: layer.name, shape: input.shape };
  };

  for (const layer of model.layers) {
    const c = layer.config;
    layerCounts[layer.class_name] = (layerCounts[layer.class_name] ?? 0) + 1;
    let out: Value;
    switch (layer.class_name) {
      case 'InputLayer': {
        const shape = c.batch_input_shape as (number | null)[];
        if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) {
          throw new KerasConversionError(
            `input ${layer.name}: expected [batch,H,W,C], got ${JSON.stringify(shape)}`,
          );
        }
        const [, h, w, ch] = shape as [null, number, number, number];
        inputShape = [h, w, ch];
        emit({
          op: 'Cast',
          name: 'input/cast',
          inputs: [options.inputName],
          outputs: ['input/float'],
          attrs: { to: FLOAT },
        });
        emit({
          op: 'Div',
          name: 'input/scale',
          inputs: ['input/float', scalar('input/divisor', options.inputDivisor).name],
          outputs: ['input/scaled'],
        });
        emit({
          op: 'Transpose',
          name: 'input/nchw',
          inputs: ['input/scaled'],
          outputs: [layer.name],
          attrs: { perm: [0, 3, 1, 2] },
        });
        out = { name: layer.name, shape: [ch, h, w] };
        break;
      }
      case 'Conv2D':
        out = conv(layer, false);
        break;
      case 'DepthwiseConv2D':
        out = conv(layer, true);
        break;
      case 'BatchNormalization':
        out = batchNorm(layer, single(layer));
        break;
      case 'ZeroPadding2D': {
        const input = single(layer);
        const p = c.padding;
        let pads: Pads;
        if (typeof p === 'number') pads = [p, p, p, p];
        else if (Array.isArray(p) && p.every((x) => typeof x === 'number')) {
          const [a, b] = pair(p, layer.name);
          pads = [a, a, b, b];
        } else {
          const [[t, bo], [l, r]] = [
            pair((p as unknown[])[0], layer.name),
            pair((p as unknown[])[1], layer.name),
          ];
          pads = [t, bo, l, r];
        }
        const [ch, h, w] = input.shape as [number, number, number];
        const shape = [ch, h + pads[0] + pads[1], w + pads[2] + pads[3]];
        out =
          consumers.get(layer.name) === 1
            ? { name: layer.name, shape, pending: { source: input, pads } }
            : materialize({ name: layer.name, shape, pending: { source: input, pads } });
        break;
      }
      case 'ReLU': {
        const input = materialize(single(layer));
        const max = c.max_value as number | null | undefined;
        if (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0) {
          throw new KerasConversionError(`${layer.name}: leaky/thresholded ReLU is not supported`);
        }
        if (max === null || max === undefined) {
          emit({ op: 'Relu', name: layer.name, inputs: [input.name], outputs: [layer.name] });
        } else {
          const min = scalar(`${layer.name}/min`, 0);
          const maxInit = scalar(`${layer.name}/max`, max);
          emit({
            op: 'Clip',
            name: layer.name,
            inputs: [input.name, min.name, maxInit.name],
            outputs: [layer.name],
          });
        }
        out = { name: layer.name, shape: input.shape };
        break;
      }
      case 'Activation':
        out = activation(layer.name, c.activation, materialize(single(layer)));
        break;
      case 'Softmax': {
        const input = materialize(single(layer));
        if (input.shape.length !== 1)
          throw new KerasConversionError(`${layer.name}: softmax on a feature map`);
        emit({
          op: 'Softmax',
          name: layer.name,
          inputs: [input.name],
          outputs: [layer.name],
          attrs: { axis: -1 },
        });
        out = { name: layer.name, shape: input.shape };
        break;
      }
      case 'Add': {
        const ins = inputOf(layer).map(materialize);
        let acc = ins[0];
        if (!acc || ins.length < 2)
          throw new KerasConversionError(`${layer.name}: Add needs two inputs or more`);
        for (let i = 1; i < ins.length; i++) {
          const name = i === ins.length - 1 ? layer.name : `${layer.name}/${i}`;
          emit({ op: 'Add', name, inputs: [acc.name, (ins[i] as Value).name], outputs: [name] });
          acc = { name, shape: acc.shape };
        }
        out = acc;
        break;
      }
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const input = materialize(single(layer));
        const [ch, h, w] = input.shape as [number, number, number];
        const [kh, kw] = pair(c.pool_size, `${layer.name}.pool_size`);
        const [sh, sw] = pair(c.strides ?? c.pool_size, `${layer.name}.strides`);
        const py = spatial(h, kh, sh, 1, String(c.padding));
        const px = spatial(w, kw, sw, 1, String(c.padding));
        // TF's 'same' average excludes the padding, which is ONNX's count_include_pad=0 default.
        // Trap: onnxruntime's PadFusion merges a single-consumer zero Pad into a following MaxPool
        // and then rejects the session when the merged pads reach the kernel size.
        emit({
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
        out = { name: layer.name, shape: [ch, py.out, px.out] };
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const input = materialize(single(layer));
        const pooled = `${layer.name}/pooled`;
        const op = layer.class_name === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
        emit({ op, name: pooled, inputs: [input.name], outputs: [pooled] });
        emit({
          op: 'Flatten',
          name: layer.name,
          inputs: [pooled],
          outputs: [layer.name],
          attrs: { axis: 1 },
        });
        out = { name: layer.name, shape: [input.shape[0] as number] };
        break;
      }
      case 'Flatten': {
        let input = materialize(single(layer));
        const size = input.shape.reduce((a, b) => a * b, 1);
        // keras flattens in HWC order; only a 1×1 map has the same order in NCHW.
        if (input.shape.length === 3 && size !== input.shape[0]) {
          const t = `${layer.name}/nhwc`;
          emit({
            op: 'Transpose',
            name: t,
            inputs: [input.name],
            outputs: [t],
            attrs: { perm: [0, 2, 3, 1] },
          });
          input = { name: t, shape: input.shape };
        }
        emit({
          op: 'Flatten',
          name: layer.name,
          inputs: [input.name],
          outputs: [layer.name],
          attrs: { axis: 1 },
        });
        out = { name: layer.name, shape: [size] };
        break;
      }
      case 'Dense': {
        const input = materialize(single(layer));
        if (input.shape.length !== 1)
          throw new KerasConversionError(`${layer.name}: Dense on a non-flat input`);
        const kernel = weight(layer, 'kernel');
        const units = Number(c.units);
        const inputs = [
          input.name,
          addInit({
            name: `${layer.name}/W`,
            dims: [input.shape[0] as number, units],
            data: Float32Array.from(kernel.data),
          }).name,
        ];
        if (c.use_bias) {
          inputs.push(
            addInit({
              name: `${layer.name}/B`,
              dims: [units],
              data: Float32Array.from(weight(layer, 'bias').data),
            }).name,
          );
        }
        const mm = `${layer.name}/linear`;
        emit({ op: 'Gemm', name: mm, inputs, outputs: [mm] });
        out = activation(layer.name, c.activation, { name: mm, shape: [units] });
        break;
      }
      case 'Dropout':
      case 'SpatialDropout2D':
      case 'GaussianDropout':
      case 'GaussianNoise':
        // Inference-time identity.
        out = single(layer);
        break;
      default:
        throw new KerasConversionError(`layer ${layer.name}: unsupported keras layer ${layer.class_name}`);
    }
    values.set(layer.name, out);
  }

  if (!inputShape) throw new KerasConversionError('the model has no InputLayer');
  const outputShapes: Record<string, number[]> = {};
  for (const [onnxName, layerName] of Object.entries(options.outputs)) {
    const v = values.get(layerName);
    if (!v) throw new KerasConversionError(`output layer ${layerName} not found`);
    emit({ op: 'Identity', name: `output/${onnxName}`, inputs: [materialize(v).name], outputs: [onnxName] });
    outputShapes[onnxName] = v.shape;
  }
  // Folding leaves the conv's original bias initializer unused when BN replaced it: drop orphans.
  const used = new Set(nodes.flatMap((n) => n.inputs));
  return {
    nodes,
    initializers: initializers.filter((i) => used.has(i.name)),
    outputShapes,
    inputShape,
    layerCounts,
  };
}
