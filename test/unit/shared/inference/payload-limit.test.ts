import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Uint8ArrayBlobAdapter } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { JSON_CONTENT_TYPE, TENSOR_CONTENT_TYPE } from '#shared/contracts/tensor-wire.ts';
import {
  createInferenceClient,
  InferenceResponseError,
  InferenceValidationError,
} from '#shared/inference/client.ts';
import { createCoalescingClient } from '#shared/inference/coalesce.ts';
import { planChunks, withPayloadLimit } from '#shared/inference/payload-limit.ts';
import {
  decodeTensorMessage,
  decodeTensors,
  encodeTensorMessage,
  type InvocationRequest,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';

const sagemaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sagemakerMock = mockClient(sagemaker);

/** `n` 4×4×3 images; every byte of image i is i (so answers can be traced back to rows). */
function images(n: number, first = 0): Record<string, Tensor> {
  const data = new Uint8Array(n * 48);
  for (let i = 0; i < n; i++) data.fill(first + i, i * 48, (i + 1) * 48);
  return { image: { dtype: 'uint8', dims: [n, 4, 4, 3], data } };
}

/** An endpoint that answers each row with its first byte, over whichever wire it was sent. */
function echoEndpoint(version: (call: number) => string = () => '1') {
  let call = 0;
  sagemakerMock
    .on(InvokeEndpointCommand)
    .callsFake((input: { Body: Uint8Array | string; ContentType: string }) => {
      const sent =
        input.ContentType === TENSOR_CONTENT_TYPE
          ? decodeTensorMessage(input.Body as Uint8Array).tensors
          : decodeTensors((JSON.parse(String(input.Body)) as InvocationRequest).inputs);
      const image = sent.image as Tensor;
      const n = image.dims[0] as number;
      const first = Float32Array.from({ length: n }, (_, i) => (image.data as Uint8Array)[i * 48] as number);
      const body = encodeTensorMessage(
        { first: { dtype: 'float32', dims: [n, 1], data: first } },
        { name: 'image-nsfw', version: version(call++) },
      );
      return { Body: Uint8ArrayBlobAdapter.mutate(new Uint8Array(body)), ContentType: TENSOR_CONTENT_TYPE };
    });
}

const sentBytes = () =>
  sagemakerMock.commandCalls(InvokeEndpointCommand).map((c) => {
    const body = c.args[0].input.Body;
    return typeof body === 'string' ? Buffer.byteLength(body) : (body as Uint8Array).byteLength;
  });

describe('withPayloadLimit', () => {
  beforeEach(() => {
    sagemakerMock.reset();
  });

  it.each([
    TENSOR_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
  ])('splits a request over the limit into requests under it (%s) and rejoins the outputs in order', async (wire) => {
    // Arrange
    const inner = createInferenceClient({ sagemaker, endpointName: (m) => m, contentTypes: () => [wire] });
    const limit = inner.requestBytes('image-nsfw', images(5)); // five images fit, six do not
    const client = withPayloadLimit(inner, { maxRequestBytes: () => limit });
    echoEndpoint();

    // Act
    const result = await client.invoke('image-nsfw', images(23));

    // Assert
    const sizes = sentBytes();
    expect(sizes).toHaveLength(5); // 5 + 5 + 5 + 5 + 3
    for (const size of sizes) expect(size).toBeLessThanOrEqual(limit);
    expect(result.outputs.first?.dims).toEqual([23, 1]);
    expect(Array.from(result.outputs.first?.data as Float32Array)).toEqual(
      Array.from({ length: 23 }, (_, i) => i),
    );
  });

  it('passes a request under the limit through unchanged', async () => {
    // Arrange
    const inner = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE],
    });
    const client = withPayloadLimit(inner, { maxRequestBytes: () => 1_000_000 });
    echoEndpoint();

    // Act
    await client.invoke('image-nsfw', images(23));

    // Assert
    expect(sentBytes()).toEqual([inner.requestBytes('image-nsfw', images(23))]);
  });

  it('refuses an item that alone exceeds the limit with a non-retryable InferenceValidationError, sending nothing', async () => {
    // Arrange
    const inner = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE],
    });
    const client = withPayloadLimit(inner, {
      maxRequestBytes: () => 100,
      endpointName: (m) => `moderation-${m}`,
    });
    echoEndpoint();

    // Act
    const single = await client.invoke('image-nsfw', images(1)).catch((err: unknown) => err);
    const batch = await client.invoke('image-nsfw', images(3)).catch((err: unknown) => err);

    // Assert
    for (const error of [single, batch]) {
      expect(error).toBeInstanceOf(InferenceValidationError);
      expect(error).toMatchObject({ retryable: false, endpoint: 'moderation-image-nsfw' });
      expect((error as Error).message).toMatch(
        /item 0 alone encodes to \d+ bytes as application\/vnd\.moderation\.tensors, over the endpoint's request limit of 100 bytes/,
      );
    }
    expect(sagemakerMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it('fails retryably when the parts of one request were served by different model versions', async () => {
    // Arrange
    const inner = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE],
    });
    const client = withPayloadLimit(inner, {
      maxRequestBytes: () => inner.requestBytes('image-nsfw', images(2)),
    });
    echoEndpoint((call) => (call === 0 ? '1' : '2'));

    // Act
    const error = await client.invoke('image-nsfw', images(4)).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceResponseError);
    expect(error).toMatchObject({ retryable: true });
  });

  it('keeps the requests of a coalesced batch of concurrent callers under the limit', async () => {
    // Arrange
    const inner = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE],
    });
    const limit = inner.requestBytes('image-nsfw', images(4));
    const client = createCoalescingClient(withPayloadLimit(inner, { maxRequestBytes: () => limit }), {
      windowMs: 0,
    });
    echoEndpoint();

    // Act: 10 callers of 1–3 images each, in one event-loop turn
    const sizes = [1, 3, 2, 1, 3, 2, 1, 3, 2, 1];
    let first = 0;
    const calls = sizes.map((n) => {
      const call = client.invoke('image-nsfw', images(n, first));
      first += n;
      return call;
    });
    const results = await Promise.all(calls);

    // Assert
    for (const size of sentBytes()) expect(size).toBeLessThanOrEqual(limit);
    let expected = 0;
    results.forEach((r, i) => {
      const n = sizes[i] as number;
      expect(Array.from(r.outputs.first?.data as Float32Array)).toEqual(
        Array.from({ length: n }, (_, k) => expected + k),
      );
      expected += n;
    });
  });
});

describe('planChunks', () => {
  it('takes the longest run that fits from each start', () => {
    // Arrange: 10 bytes of overhead, 3 per row, limit 20 → 3 rows a chunk
    const bytesOf = (s: number, e: number) => 10 + 3 * (e - s);

    // Act / Assert
    expect(planChunks(7, bytesOf, 20)).toEqual({
      chunks: [
        [0, 3],
        [3, 6],
        [6, 7],
      ],
    });
    expect(planChunks(7, bytesOf, 12)).toEqual({ oversizedRow: 0, bytes: 13 });
  });

  it('names the first row that fits nowhere, even after others fitted', () => {
    // Arrange: row 2 is huge
    const rows = [1, 1, 50, 1];
    const bytesOf = (s: number, e: number) => rows.slice(s, e).reduce((a, b) => a + b, 0);

    // Act / Assert
    expect(planChunks(4, bytesOf, 10)).toEqual({ oversizedRow: 2, bytes: 50 });
  });
});
