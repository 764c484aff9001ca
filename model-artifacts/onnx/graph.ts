/**
 * A small ONNX graph writer used by every project model builder (image conversion, text and fusion
 * training). ONNX has no TypeScript writer of its own; `onnx-proto` gives the protobuf types.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ElemType = 'float32' | 'int64' | 'uint8' | 'int32';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A graph input or output; a string dimension is symbolic (e.g. 'batch'). */
export interface ValueInfo {
  name: string;
  type: ElemType;
  shape: (number | string)[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, number | number[] | string>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers: Initializer[];
  /** Stored as ONNX metadata_props (model version, labels, provenance). */
  metadata?: Record<string, string>;
  /** @default 15 */
  opset?: number;
}

function valueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: number | number[] | string): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  // Integers are INT attributes except where the operator wants a float (epsilon, alpha, ...).
  if (Number.isInteger(value) && !FLOAT_ATTRS.has(name)) return { name, type: T.INT, i: value };
  return { name, type: T.FLOAT, f: value };
}

const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'momentum', 'min', 'max', 'value_float']);

function tensor(init: Initializer): onnxProto.onnx.ITensorProto {
  const { data } = init;
  const dataType =
    data instanceof Float32Array
      ? ELEM.float32
      : data instanceof BigInt64Array
        ? ELEM.int64
        : data instanceof Int32Array
          ? ELEM.int32
          : ELEM.uint8;
  // raw_data is little-endian bytes, which is what typed arrays hold on every platform Node runs on.
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name: init.name, dims: init.dims, dataType, rawData };
}

/** Serialises a graph to ONNX model bytes. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'moderation-pipeline',
    opsetImport: [{ domain: '', version: spec.opset ?? 15 }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: spec.initializers.map(tensor),
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `${n.op}_${i}`,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** An int64 initializer from plain numbers (shapes, axes). */
export function int64s(name: string, values: number[]): Initializer {
  return { name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) };
}
