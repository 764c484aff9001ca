/** Tensors in memory and their wire encodings (the formats themselves: shared/contracts/tensor-wire.ts). */

import {
  DTYPE_BYTES,
  DTYPES,
  type DType,
  TENSOR_WIRE,
  type TensorMessageHeader,
  type WireTensor,
} from '#shared/contracts/tensor-wire.ts';

export type {
  DType,
  InvocationRequest,
  InvocationResponse,
  WireTensor,
} from '#shared/contracts/tensor-wire.ts';

export type TypedData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A tensor in memory: row-major data with its shape. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TypedData;
}

const CTORS = {
  float32: Float32Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

export class TensorFormatError extends Error {
  override name = 'TensorFormatError';
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function encodeTensor(t: Tensor): WireTensor {
  const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { dtype: t.dtype, dims: [...t.dims], data: bytes.toString('base64') };
}

export function decodeTensor(w: WireTensor): Tensor {
  const Ctor = CTORS[w.dtype];
  if (!Ctor) throw new TensorFormatError(`unknown dtype ${JSON.stringify(w.dtype)}`);
  if (!Array.isArray(w.dims) || !w.dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TensorFormatError(`dims must be non-negative integers, got ${JSON.stringify(w.dims)}`);
  }
  const bytes = Buffer.from(w.data, 'base64');
  const expected = elementCount(w.dims) * Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expected) {
    throw new TensorFormatError(
      `tensor of dims [${w.dims}] needs ${expected} bytes, got ${bytes.byteLength}`,
    );
  }
  // Copy into a fresh, aligned buffer: Buffer slices may not be aligned for 8-byte element types.
  const data = new Ctor(expected / Ctor.BYTES_PER_ELEMENT);
  new Uint8Array(data.buffer).set(bytes);
  return { dtype: w.dtype, dims: [...w.dims], data };
}

/** Exact byte length of the JSON request body `{"inputs":<stringifyTensors(inputs)>}`, without encoding it. */
export function jsonRequestBytes(inputs: Record<string, Tensor>): number {
  let bytes = '{"inputs":{}}'.length;
  let first = true;
  for (const [name, t] of Object.entries(inputs)) {
    if (!first) bytes += 1;
    first = false;
    const frame = `${JSON.stringify(name)}:{"dtype":${JSON.stringify(t.dtype)},"dims":${JSON.stringify(t.dims)},"data":""}`;
    bytes += Buffer.byteLength(frame) + 4 * Math.ceil(t.data.byteLength / 3);
  }
  return bytes;
}

export function encodeTensors(ts: Record<string, Tensor>): Record<string, WireTensor> {
  return Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, encodeTensor(v)]));
}

/**
 * The JSON text of `encodeTensors(ts)`, byte for byte, with each base64 payload spliced in rather
 * than passed through JSON.stringify, which scans every character of a string for escapes: for a
 * 224² image that scan was 0.9 ms of the ~2 ms a request spent encoding and decoding (bench/run.ts).
 * Base64's alphabet needs no escaping in JSON, so splicing is exact.
 */
export function stringifyTensors(ts: Record<string, Tensor>): string {
  const parts = Object.entries(ts).map(([name, t]) => {
    const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64');
    return `${JSON.stringify(name)}:{"dtype":${JSON.stringify(t.dtype)},"dims":${JSON.stringify(t.dims)},"data":"${data}"}`;
  });
  return `{${parts.join(',')}}`;
}

export function decodeTensors(ws: Record<string, WireTensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(ws).map(([k, v]) => [k, decodeTensor(v)]));
}

/** Row `i` of a tensor whose first dimension is the batch, as a plain number array. */
export function row(t: Tensor, i: number): number[] {
  const width = elementCount(t.dims.slice(1));
  return Array.from(t.data.subarray(i * width, (i + 1) * width), Number);
}

// ---- The binary tensor wire (TENSOR_CONTENT_TYPE) ------------------------------------------------

const MAGIC = Buffer.from(TENSOR_WIRE.magic, 'latin1');
const HEADER_DECODER = new TextDecoder('utf-8', { fatal: true });
const align = (n: number) => Math.ceil(n / TENSOR_WIRE.alignment) * TENSOR_WIRE.alignment;

/** A decoded binary message: its tensors (views on the body where aligned) and, in a response, the model. */
export interface TensorMessage {
  model?: { name: string; version: string };
  tensors: Record<string, Tensor>;
}

interface Layout {
  header: Buffer;
  dataStart: number;
  offsets: number[];
  total: number;
}

function layout(tensors: Record<string, Tensor>, model?: TensorMessage['model']): Layout {
  const entries: TensorMessageHeader['tensors'] = Object.entries(tensors).map(([name, t]) => ({
    name,
    dtype: t.dtype,
    dims: t.dims,
  }));
  const header = Buffer.from(JSON.stringify(model ? { model, tensors: entries } : { tensors: entries }));
  if (header.byteLength > TENSOR_WIRE.maxHeaderBytes) {
    throw new TensorFormatError(
      `tensor message header of ${header.byteLength} bytes exceeds ${TENSOR_WIRE.maxHeaderBytes} bytes`,
    );
  }
  const dataStart = align(TENSOR_WIRE.prefixBytes + header.byteLength);
  const offsets: number[] = [];
  let end = 0;
  for (const t of Object.values(tensors)) {
    const offset = offsets.length === 0 ? 0 : align(end);
    offsets.push(offset);
    end = offset + t.data.byteLength;
  }
  return { header, dataStart, offsets, total: dataStart + end };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    throw new TensorFormatError(`bad tensor message header: ${where} has unknown keys [${extra}]`);
}

/** The header's shape (TensorMessageHeader), checked field by field with the path in the message. */
function checkHeader(json: unknown): TensorMessageHeader {
  const bad = (why: string) => new TensorFormatError(`bad tensor message header: ${why}`);
  if (!isObject(json)) throw bad('must be a JSON object');
  onlyKeys(json, ['model', 'tensors'], 'the header');
  const { model, tensors } = json;
  if (model !== undefined) {
    if (!isObject(model) || typeof model.name !== 'string' || typeof model.version !== 'string') {
      throw bad('model must be {"name": string, "version": string}');
    }
    onlyKeys(model, ['name', 'version'], 'model');
  }
  if (!Array.isArray(tensors)) throw bad('tensors must be an array');
  if (tensors.length > TENSOR_WIRE.maxTensors) {
    throw bad(`${tensors.length} tensors, at most ${TENSOR_WIRE.maxTensors}`);
  }
  const names = new Set<string>();
  tensors.forEach((t: unknown, i) => {
    const where = `tensors[${i}]`;
    if (!isObject(t)) throw bad(`${where} must be an object`);
    onlyKeys(t, ['name', 'dtype', 'dims'], where);
    if (typeof t.name !== 'string' || t.name === '') throw bad(`${where}.name must be a non-empty string`);
    if (names.has(t.name)) throw bad(`tensor name ${JSON.stringify(t.name)} appears twice`);
    names.add(t.name);
    if (!(DTYPES as readonly unknown[]).includes(t.dtype)) {
      throw bad(`${where}.dtype must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(t.dtype)}`);
    }
    const { dims } = t;
    if (
      !Array.isArray(dims) ||
      dims.length > TENSOR_WIRE.maxRank ||
      !dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    ) {
      throw bad(
        `${where}.dims must be at most ${TENSOR_WIRE.maxRank} non-negative integers, got ${JSON.stringify(dims)}`,
      );
    }
  });
  return json as unknown as TensorMessageHeader;
}

/** Exact byte length of `encodeTensorMessage(tensors, model)`, without encoding it. */
export function tensorMessageBytes(tensors: Record<string, Tensor>, model?: TensorMessage['model']): number {
  return layout(tensors, model).total;
}

/** Encodes tensors (and a response's model) as one binary message; one copy of each tensor's bytes. */
export function encodeTensorMessage(tensors: Record<string, Tensor>, model?: TensorMessage['model']): Buffer {
  const { header, dataStart, offsets, total } = layout(tensors, model);
  // Zero-filled: the reserved fields and the padding must be zero.
  const body = Buffer.alloc(total);
  MAGIC.copy(body, 0);
  body.writeUInt8(TENSOR_WIRE.version, 4);
  body.writeUInt32LE(header.byteLength, 8);
  header.copy(body, TENSOR_WIRE.prefixBytes);
  Object.values(tensors).forEach((t, i) => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    body.set(bytes, dataStart + (offsets[i] as number));
  });
  return body;
}

/**
 * Decodes a binary message, checking everything a hostile body could get wrong: magic, version,
 * reserved bytes, header size and schema, every tensor's byte count against its dims and dtype, and
 * the body's exact length. Tensors are views on `body` where their offset suits their element size
 * (always, when the body starts on an 8-byte boundary, as Node's buffers do), copies otherwise.
 */
export function decodeTensorMessage(body: Uint8Array): TensorMessage {
  const { prefixBytes, maxHeaderBytes, version } = TENSOR_WIRE;
  if (body.byteLength < prefixBytes) {
    throw new TensorFormatError(
      `tensor message of ${body.byteLength} bytes is shorter than its ${prefixBytes}-byte prefix`,
    );
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  // Byte compares, not subarray(): a subarray of the SDK's Uint8Array subclass costs a species lookup.
  if (body[0] !== MAGIC[0] || body[1] !== MAGIC[1] || body[2] !== MAGIC[2] || body[3] !== MAGIC[3]) {
    throw new TensorFormatError(
      `not a tensor message: bad magic (expected ${JSON.stringify(TENSOR_WIRE.magic)})`,
    );
  }
  const got = view.getUint8(4);
  if (got !== version)
    throw new TensorFormatError(`tensor message version ${got} is not supported (only ${version})`);
  if (view.getUint8(5) | view.getUint8(6) | view.getUint8(7) || view.getUint32(12, true) !== 0) {
    throw new TensorFormatError('tensor message reserved bytes must be zero');
  }
  const headerBytes = view.getUint32(8, true);
  if (headerBytes > maxHeaderBytes) {
    throw new TensorFormatError(
      `tensor message header of ${headerBytes} bytes exceeds ${maxHeaderBytes} bytes`,
    );
  }
  if (prefixBytes + headerBytes > body.byteLength) {
    throw new TensorFormatError(
      `truncated tensor message: header of ${headerBytes} bytes but the body has ${body.byteLength - prefixBytes} after the prefix`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(
      HEADER_DECODER.decode(new Uint8Array(body.buffer, body.byteOffset + prefixBytes, headerBytes)),
    );
  } catch (err) {
    throw new TensorFormatError(`tensor message header is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const header = checkHeader(json);
  const dataStart = align(prefixBytes + headerBytes);
  const entries: [string, Tensor][] = [];
  let end = 0;
  for (const [i, spec] of header.tensors.entries()) {
    const offset = i === 0 ? 0 : align(end);
    const size = DTYPE_BYTES[spec.dtype];
    const count = elementCount(spec.dims);
    const byteLength = count * size;
    const start = dataStart + offset;
    if (!Number.isSafeInteger(byteLength) || start + byteLength > body.byteLength) {
      throw new TensorFormatError(
        `truncated tensor message: tensor ${spec.name} ${spec.dtype}[${spec.dims}] needs ${byteLength} bytes at offset ${start}, the body has ${body.byteLength}`,
      );
    }
    const Ctor = CTORS[spec.dtype];
    let data: TypedData;
    if ((body.byteOffset + start) % size === 0) {
      data = new Ctor(body.buffer as ArrayBuffer, body.byteOffset + start, count);
    } else {
      data = new Ctor(count);
      new Uint8Array(data.buffer).set(new Uint8Array(body.buffer, body.byteOffset + start, byteLength));
    }
    entries.push([spec.name, { dtype: spec.dtype, dims: spec.dims, data }]);
    end = offset + byteLength;
  }
  const expected = header.tensors.length === 0 ? dataStart : dataStart + end;
  if (body.byteLength !== expected) {
    throw new TensorFormatError(
      `tensor message is ${body.byteLength} bytes but its header describes ${expected} (dims × dtype size must match the bytes)`,
    );
  }
  // fromEntries defines own properties, so a tensor named "__proto__" is just a name.
  const tensors = Object.fromEntries(entries);
  return header.model ? { model: header.model, tensors } : { tensors };
}
