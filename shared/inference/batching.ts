/**
 * Batching of tensors along dim 0: shared by the inference server's dynamic batcher and the
 * pipeline's request coalescer, so both pad and split exactly the same way.
 */
import { type DType, elementCount, type Tensor, TensorFormatError, type TypedData } from './tensor-codec.ts';

type ArrayCtor = new (length: number) => TypedData;

const CTORS: Record<DType, ArrayCtor> = {
  float32: Float32Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

/** Same-dtype copy; the union type hides that both arrays are of one kind. */
function copyInto(dst: TypedData, src: TypedData, offset: number): void {
  (dst as Float32Array).set(src as Float32Array, offset);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Copies a row-major block of `srcDims` into the (larger or equal) block `dstDims` at `dstOff`. */
function copyPadded(
  src: TypedData,
  srcOff: number,
  srcDims: readonly number[],
  dst: TypedData,
  dstOff: number,
  dstDims: readonly number[],
  level: number,
): void {
  const srcInner = srcDims.slice(level + 1);
  const dstInner = dstDims.slice(level + 1);
  const count = srcDims[level] ?? 0;
  if (sameDims(srcInner, dstInner)) {
    const len = count * elementCount(srcInner);
    copyInto(dst, src.subarray(srcOff, srcOff + len), dstOff);
    return;
  }
  const srcStride = elementCount(srcInner);
  const dstStride = elementCount(dstInner);
  for (let k = 0; k < count; k++) {
    copyPadded(src, srcOff + k * srcStride, srcDims, dst, dstOff + k * dstStride, dstDims, level + 1);
  }
}

/**
 * Concatenates tensors of one dtype and rank along dim 0, padding every other dimension to the
 * largest among `parts` with `padValue`.
 */
export function concatBatch(parts: readonly Tensor[], padValue = 0): Tensor {
  const first = parts[0];
  if (!first) throw new TensorFormatError('concatBatch needs at least one tensor');
  const rank = first.dims.length;
  const dims = first.dims.map((_, i) => (i === 0 ? 0 : Math.max(...parts.map((p) => p.dims[i] ?? 0))));
  dims[0] = parts.reduce((sum, p) => sum + (p.dims[0] ?? 0), 0);
  const Ctor = CTORS[first.dtype];
  const data = new Ctor(elementCount(dims));
  if (padValue !== 0) {
    if (data instanceof BigInt64Array) data.fill(BigInt(padValue));
    else data.fill(padValue);
  }
  const rowWidth = elementCount(dims.slice(1));
  let row = 0;
  for (const part of parts) {
    if (part.dtype !== first.dtype || part.dims.length !== rank) {
      throw new TensorFormatError(
        `cannot batch ${part.dtype}[${part.dims}] with ${first.dtype}[${first.dims}]`,
      );
    }
    copyPadded(part.data, 0, part.dims, data, row * rowWidth, dims, 0);
    row += part.dims[0] ?? 0;
  }
  return { dtype: first.dtype, dims, data };
}

/** Rows [start, end) of a tensor whose first dimension is the batch (a view, not a copy). */
export function sliceBatch(t: Tensor, start: number, end: number): Tensor {
  const width = elementCount(t.dims.slice(1));
  return {
    dtype: t.dtype,
    dims: [end - start, ...t.dims.slice(1)],
    data: t.data.subarray(start * width, end * width),
  };
}
