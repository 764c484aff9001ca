import { describe, expect, it } from 'vitest';
import {
  decodeTensors,
  encodeTensors,
  stringifyTensors,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';

describe('stringifyTensors', () => {
  it('writes exactly the JSON that JSON.stringify(encodeTensors(…)) writes, for every dtype', () => {
    // Arrange: odd offsets and names that need escaping
    const backing = new Float32Array([9, 1.5, -2, 3e-8, 7]);
    const tensors: Record<string, Tensor> = {
      image: { dtype: 'uint8', dims: [1, 2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 21) },
      ids: { dtype: 'int64', dims: [2, 2], data: BigInt64Array.of(1n, -2n, 2n ** 40n, 0n) },
      'we"ird\\name': { dtype: 'float32', dims: [1, 3], data: backing.subarray(1, 4) },
      empty: { dtype: 'int32', dims: [0, 4], data: new Int32Array(0) },
    };

    // Act
    const text = stringifyTensors(tensors);

    // Assert
    expect(text).toBe(JSON.stringify(encodeTensors(tensors)));
    const back = decodeTensors(JSON.parse(text));
    expect(Array.from(back['we"ird\\name']?.data as Float32Array)).toEqual([1.5, -2, Math.fround(3e-8)]);
    expect(back.ids?.data).toEqual(BigInt64Array.of(1n, -2n, 2n ** 40n, 0n));
  });
});
