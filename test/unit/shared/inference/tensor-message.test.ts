import { describe, expect, it } from 'vitest';
import { TENSOR_WIRE } from '#shared/contracts/tensor-wire.ts';
import {
  decodeTensorMessage,
  encodeTensorMessage,
  jsonRequestBytes,
  stringifyTensors,
  type Tensor,
  TensorFormatError,
  tensorMessageBytes,
} from '#shared/inference/tensor-codec.ts';

const tensors: Record<string, Tensor> = {
  image: { dtype: 'uint8', dims: [1, 2, 3], data: Uint8Array.of(1, 2, 3, 4, 5, 250) },
  ids: { dtype: 'int64', dims: [2, 2], data: BigInt64Array.of(1n, -2n, 2n ** 40n, 0n) },
  weights: { dtype: 'float32', dims: [1, 3], data: new Float32Array([9, 1.5, -2, 3e-8]).subarray(1) },
  counts: { dtype: 'int32', dims: [3], data: Int32Array.of(-7, 0, 7) },
  empty: { dtype: 'float32', dims: [0, 4], data: new Float32Array(0) },
};
const model = { name: 'image-nsfw', version: '4.4.0' };

/** A valid message with its header replaced (the prefix's length field updated, data kept). */
function withHeader(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const start =
    Math.ceil((TENSOR_WIRE.prefixBytes + json.byteLength) / TENSOR_WIRE.alignment) * TENSOR_WIRE.alignment;
  const body = Buffer.alloc(start + data.byteLength);
  body.write(TENSOR_WIRE.magic, 0, 'latin1');
  body.writeUInt8(TENSOR_WIRE.version, 4);
  body.writeUInt32LE(json.byteLength, 8);
  json.copy(body, TENSOR_WIRE.prefixBytes);
  body.set(data, start);
  return body;
}

const values = (t: Tensor | undefined) => Array.from((t?.data ?? []) as ArrayLike<number | bigint>);

describe('binary tensor messages', () => {
  it('round-trips every dtype, the model and empty tensors', () => {
    // Act
    const body = encodeTensorMessage(tensors, model);
    const back = decodeTensorMessage(body);

    // Assert
    expect(back.model).toEqual(model);
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name]?.dtype, name).toBe(t.dtype);
      expect(back.tensors[name]?.dims, name).toEqual(t.dims);
      expect(values(back.tensors[name]), name).toEqual(values(t));
    }
    expect(decodeTensorMessage(encodeTensorMessage(tensors)).model).toBeUndefined();
  });

  it('starts every tensor on an alignment boundary and returns views on the body, not copies', () => {
    // Act
    const body = encodeTensorMessage(tensors);
    const back = decodeTensorMessage(body);

    // Assert
    for (const [name, t] of Object.entries(back.tensors)) {
      expect(t.data.buffer, name).toBe(body.buffer);
      if (t.data.byteLength > 0)
        expect((t.data.byteOffset - body.byteOffset) % TENSOR_WIRE.alignment, name).toBe(0);
    }
  });

  it('copies a tensor whose bytes are not aligned for its element type', () => {
    // Arrange: the same message one byte into a larger buffer
    const body = encodeTensorMessage(tensors);
    const shifted = new Uint8Array(body.byteLength + 1).subarray(1);
    shifted.set(body);

    // Act
    const back = decodeTensorMessage(shifted);

    // Assert
    expect(back.tensors.ids?.data.buffer).not.toBe(shifted.buffer);
    expect(back.tensors.ids?.data).toEqual(tensors.ids?.data);
    expect(back.tensors.image?.data.buffer).toBe(shifted.buffer); // uint8 needs no alignment
  });

  it('predicts its encoded size exactly, and the JSON request body size too', () => {
    // Act / Assert
    expect(tensorMessageBytes(tensors, model)).toBe(encodeTensorMessage(tensors, model).byteLength);
    expect(tensorMessageBytes(tensors)).toBe(encodeTensorMessage(tensors).byteLength);
    const named = { ...tensors, 'we"ird\\näme': tensors.counts as Tensor };
    expect(jsonRequestBytes(named)).toBe(Buffer.byteLength(`{"inputs":${stringifyTensors(named)}}`));
    expect(jsonRequestBytes({})).toBe(Buffer.byteLength(`{"inputs":${stringifyTensors({})}}`));
  });

  it('is smaller than base64 JSON for an image', () => {
    // Arrange
    const image: Record<string, Tensor> = {
      image: { dtype: 'uint8', dims: [1, 224, 224, 3], data: new Uint8Array(150_528) },
    };

    // Act / Assert
    expect(tensorMessageBytes(image)).toBeLessThan(150_528 + 256);
    expect(jsonRequestBytes(image)).toBeGreaterThan(200_000);
  });

  const good = encodeTensorMessage(tensors);
  const rejects: { why: string; body: () => Uint8Array; message: RegExp }[] = [
    {
      why: 'a body shorter than the prefix',
      body: () => good.subarray(0, 10),
      message: /shorter than its 16-byte prefix/,
    },
    {
      why: 'bad magic',
      body: () => Buffer.concat([Buffer.from('{"in'), good.subarray(4)]),
      message: /bad magic/,
    },
    {
      why: 'an unknown version',
      body: () => {
        const b = Buffer.from(good);
        b.writeUInt8(2, 4);
        return b;
      },
      message: /version 2 is not supported/,
    },
    {
      why: 'non-zero reserved bytes',
      body: () => {
        const b = Buffer.from(good);
        b.writeUInt32LE(1, 12);
        return b;
      },
      message: /reserved bytes must be zero/,
    },
    {
      why: 'a header over the limit',
      body: () => {
        const b = Buffer.from(good);
        b.writeUInt32LE(TENSOR_WIRE.maxHeaderBytes + 1, 8);
        return b;
      },
      message: /header of 65537 bytes exceeds 65536 bytes/,
    },
    {
      why: 'a header longer than the body',
      body: () => {
        const b = Buffer.from(good.subarray(0, 40));
        return b;
      },
      message: /truncated tensor message: header of \d+ bytes/,
    },
    {
      why: 'a body cut inside the data',
      body: () => good.subarray(0, good.byteLength - 60),
      message: /truncated tensor message: tensor counts int32\[3\] needs 12 bytes/,
    },
    {
      why: 'trailing bytes',
      body: () => Buffer.concat([good, Buffer.alloc(8)]),
      message: /dims × dtype size must match/,
    },
    {
      why: 'dims that do not match the bytes',
      body: () => withHeader({ tensors: [{ name: 'x', dtype: 'float32', dims: [1, 3] }] }, new Uint8Array(8)),
      message: /x float32\[1,3\] needs 12 bytes/,
    },
    {
      why: 'a header that is not JSON',
      body: () => withHeader('x').fill(0x7b, 16, 19),
      message: /header is not JSON/,
    },
    {
      why: 'an unknown dtype',
      body: () => withHeader({ tensors: [{ name: 'x', dtype: 'float16', dims: [1] }] }, new Uint8Array(2)),
      message: /tensors\[0\]\.dtype must be one of float32, int64, int32, uint8, got "float16"/,
    },
    {
      why: 'negative or fractional dims',
      body: () => withHeader({ tensors: [{ name: 'x', dtype: 'uint8', dims: [1.5] }] }),
      message: /tensors\[0\]\.dims must be/,
    },
    {
      why: 'a rank over the limit',
      body: () =>
        withHeader({ tensors: [{ name: 'x', dtype: 'uint8', dims: Array(9).fill(1) }] }, new Uint8Array(1)),
      message: /at most 8 non-negative integers/,
    },
    {
      why: 'duplicate names',
      body: () =>
        withHeader({
          tensors: [
            { name: 'x', dtype: 'uint8', dims: [0] },
            { name: 'x', dtype: 'uint8', dims: [0] },
          ],
        }),
      message: /"x" appears twice/,
    },
    {
      why: 'unknown header keys',
      body: () => withHeader({ tensors: [], extra: 1 }),
      message: /unknown keys \[extra\]/,
    },
    {
      why: 'dims whose product overflows',
      body: () => withHeader({ tensors: [{ name: 'x', dtype: 'int64', dims: [2 ** 52, 2 ** 10] }] }),
      message: /truncated tensor message: tensor x/,
    },
  ];

  it.each(rejects)('refuses $why with a TensorFormatError naming it', ({ body, message }) => {
    // Act
    const error = (() => {
      try {
        decodeTensorMessage(body());
      } catch (err) {
        return err;
      }
    })();

    // Assert
    expect(error).toBeInstanceOf(TensorFormatError);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps a tensor named __proto__ as an own entry', () => {
    // Arrange
    const body = encodeTensorMessage({
      ['__proto__']: { dtype: 'uint8', dims: [1], data: Uint8Array.of(7) },
    });

    // Act
    const back = decodeTensorMessage(body);

    // Assert
    expect(Object.hasOwn(back.tensors, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
  });
});
