import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InferenceServer,
  responseContentType,
  type ServerLogger,
  startInferenceServer,
} from '#model-artifacts/server/server.ts';
import { JSON_CONTENT_TYPE, TENSOR_CONTENT_TYPE, TENSOR_WIRE } from '#shared/contracts/tensor-wire.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import {
  decodeTensorMessage,
  encodeTensorMessage,
  row,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';
import {
  CLASSIFIER_MANIFEST,
  classifierModel,
  classifierReference,
  SCALER_MANIFEST,
  scalerModel,
  writeModelDir,
} from '#test/fixtures/inference/tiny-models.ts';

const silent: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };
const x: Tensor = { dtype: 'float32', dims: [1, 4], data: Float32Array.of(1, -2, 3.5, 0) };

function post(url: string, body: Uint8Array | string, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', headers, body });
}

describe('inference server, binary tensor wire', () => {
  let root: string;
  let server: InferenceServer;
  let sagemaker: SageMakerRuntimeClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'inference-binary-'));
    await writeModelDir(join(root, 'models'), 'classifier', classifierModel(), CLASSIFIER_MANIFEST);
    // A model whose manifest admits only JSON (a server that predates the binary wire).
    await writeModelDir(join(root, 'models'), 'scaler', scalerModel(), {
      ...SCALER_MANIFEST,
      contentTypes: [JSON_CONTENT_TYPE],
    });
    server = await startInferenceServer({ modelsDir: join(root, 'models'), port: 0, logger: silent });
    sagemaker = new SageMakerRuntimeClient({
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    sagemaker?.destroy();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('runs a model over the binary wire through the real SageMaker Runtime client', async () => {
    // Arrange
    const client = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE],
    });
    const text = { ids: [3, 5, 7], weights: [0.5, 1, 0.25] };
    const inputs: Record<string, Tensor> = {
      ids: { dtype: 'int64', dims: [1, 3], data: BigInt64Array.from(text.ids, BigInt) },
      weights: { dtype: 'float32', dims: [1, 3], data: Float32Array.from(text.weights) },
    };

    // Act
    const result = await client.invoke('classifier', inputs);

    // Assert
    expect(result.model).toEqual({ name: 'classifier', version: '1.2.3' });
    const expected = classifierReference(text.ids, text.weights);
    row(result.outputs.probs as Tensor, 0).forEach((p, i) => {
      expect(Math.abs(p - (expected.probs[i] as number))).toBeLessThanOrEqual(1e-5);
    });
  });

  it('answers in the type the Accept header prefers', async () => {
    // Arrange
    const url = `${server.url}/endpoints/classifier/invocations`;
    const inputs: Record<string, Tensor> = {
      ids: { dtype: 'int64', dims: [1, 1], data: BigInt64Array.of(3n) },
      weights: { dtype: 'float32', dims: [1, 1], data: Float32Array.of(1) },
    };
    const body = encodeTensorMessage(inputs);

    // Act
    const binary = await post(url, body, { 'content-type': TENSOR_CONTENT_TYPE });
    const json = await post(url, body, { 'content-type': TENSOR_CONTENT_TYPE, accept: 'application/json' });

    // Assert
    expect(binary.headers.get('content-type')).toBe(TENSOR_CONTENT_TYPE);
    const message = decodeTensorMessage(new Uint8Array(await binary.arrayBuffer()));
    expect(message.model).toEqual({ name: 'classifier', version: '1.2.3' });
    expect(message.tensors.probs?.dims).toEqual([1, 3]);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(((await json.json()) as { outputs: object }).outputs).toHaveProperty('probs');
  });

  it.each([
    {
      why: 'bad magic',
      body: () => Buffer.from('{"inputs":{"x":{"dtype":"float32"}}}'),
      message: /bad magic/,
    },
    {
      why: 'a truncated body',
      body: () => encodeTensorMessage({ x }).subarray(0, -4),
      message: /truncated tensor message: tensor x float32\[1,4\] needs 16 bytes/,
    },
    {
      why: 'dims that do not match the bytes',
      body: () => Buffer.concat([encodeTensorMessage({ x }), Buffer.alloc(4)]),
      message: /dims × dtype size must match/,
    },
    {
      why: 'a header over the limit',
      body: () => {
        const b = Buffer.from(encodeTensorMessage({ x }));
        b.writeUInt32LE(TENSOR_WIRE.maxHeaderBytes + 1, 8);
        return b;
      },
      message: /header of \d+ bytes exceeds/,
    },
    {
      why: 'a model in a request header',
      body: () => encodeTensorMessage({ x }, { name: 'classifier', version: '1' }),
      message: /must not name a model/,
    },
  ])('answers $why with a 400 ValidationError whose JSON body names the problem', async ({
    body,
    message,
  }) => {
    // Act
    const res = await post(`${server.url}/endpoints/classifier/invocations`, body(), {
      'content-type': TENSOR_CONTENT_TYPE,
    });

    // Assert
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationError');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as { message: string }).message).toMatch(message);
  });

  it('checks a binary request against the manifest like a JSON one', async () => {
    // Act
    const res = await post(`${server.url}/endpoints/classifier/invocations`, encodeTensorMessage({ x }), {
      'content-type': TENSOR_CONTENT_TYPE,
    });

    // Assert
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/takes inputs \[ids,weights\]/);
  });

  it('refuses a content type the model does not list with 415, and the client falls back to JSON', async () => {
    // Arrange
    const client = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE],
    });

    // Act
    const res = await post(`${server.url}/endpoints/scaler/invocations`, encodeTensorMessage({ x }), {
      'content-type': TENSOR_CONTENT_TYPE,
    });
    const other = await post(`${server.url}/endpoints/classifier/invocations`, 'x', {
      'content-type': 'text/csv',
    });
    const result = await client.invoke('scaler', { x });

    // Assert
    expect(res.status).toBe(415);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /model scaler takes content types application\/json/,
    );
    expect(other.status).toBe(415);
    expect(result.outputs.y?.dims).toEqual([1, 4]);
    expect(client.contentType('scaler')).toBe(JSON_CONTENT_TYPE);
  });

  it('lists each model’s content types on GET /models', async () => {
    // Act
    const res = await fetch(`${server.url}/models`);

    // Assert
    const { models } = (await res.json()) as { models: { name: string; contentTypes: string[] }[] };
    expect(models.find((m) => m.name === 'classifier')?.contentTypes).toEqual([
      TENSOR_CONTENT_TYPE,
      JSON_CONTENT_TYPE,
    ]);
    expect(models.find((m) => m.name === 'scaler')?.contentTypes).toEqual([JSON_CONTENT_TYPE]);
  });
});

describe('responseContentType', () => {
  it.each([
    { accept: undefined, request: JSON_CONTENT_TYPE, expected: JSON_CONTENT_TYPE },
    { accept: undefined, request: TENSOR_CONTENT_TYPE, expected: TENSOR_CONTENT_TYPE },
    { accept: '*/*', request: TENSOR_CONTENT_TYPE, expected: TENSOR_CONTENT_TYPE },
    { accept: 'application/json', request: TENSOR_CONTENT_TYPE, expected: JSON_CONTENT_TYPE },
    {
      accept: `${TENSOR_CONTENT_TYPE}, application/json;q=0.5`,
      request: TENSOR_CONTENT_TYPE,
      expected: TENSOR_CONTENT_TYPE,
    },
    {
      accept: `application/json;q=0.9, ${TENSOR_CONTENT_TYPE}`,
      request: JSON_CONTENT_TYPE,
      expected: TENSOR_CONTENT_TYPE,
    },
    { accept: `${TENSOR_CONTENT_TYPE};q=0, */*`, request: TENSOR_CONTENT_TYPE, expected: JSON_CONTENT_TYPE },
    { accept: 'text/csv', request: TENSOR_CONTENT_TYPE, expected: JSON_CONTENT_TYPE },
  ] as const)('Accept $accept on a $request request → $expected', ({ accept, request, expected }) => {
    // Act / Assert
    expect(responseContentType(accept, request)).toBe(expected);
  });
});
