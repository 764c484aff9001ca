import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, ModelLoadError } from '#model-artifacts/server/errors.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import {
  type InferenceServer,
  type ServerLogger,
  startInferenceServer,
} from '#model-artifacts/server/server.ts';
import { MODEL_NAMES } from '#shared/contracts/models.ts';
import {
  createInferenceClient,
  type InferenceClient,
  InferenceModelError,
  InferenceValidationError,
} from '#shared/inference/client.ts';
import { ManifestError, parseManifest } from '#shared/inference/manifest.ts';
import {
  decodeTensor,
  encodeTensor,
  encodeTensors,
  type InvocationResponse,
  row,
  type Tensor,
  type WireTensor,
} from '#shared/inference/tensor-codec.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import {
  CLASSIFIER_MANIFEST,
  classifierModel,
  classifierReference,
  randomText,
  SCALER_MANIFEST,
  scalerModel,
  seeded,
  writeModelDir,
  writeTinyModels,
} from '#test/fixtures/inference/tiny-models.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';
import {
  localInferenceClient,
  SMOKE_BATCH,
  smokeModel,
  smokePing,
} from '../../../../scripts/smoke-inference.ts';

const silent: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };

function sdkClient(url: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // One attempt: these tests assert on the first answer, 5xx included.
    maxAttempts: 1,
  });
}

/** Text inputs for the classifier, right-padded with zeros to `length` (default: no padding). */
function textInputs(texts: { ids: number[]; weights: number[] }[], length?: number): Record<string, Tensor> {
  const width = length ?? Math.max(...texts.map((t) => t.ids.length));
  const ids = new BigInt64Array(texts.length * width);
  const weights = new Float32Array(texts.length * width);
  texts.forEach((t, i) => {
    t.ids.forEach((id, j) => {
      ids[i * width + j] = BigInt(id);
      weights[i * width + j] = t.weights[j] ?? 0;
    });
  });
  return {
    ids: { dtype: 'int64', dims: [texts.length, width], data: ids },
    weights: { dtype: 'float32', dims: [texts.length, width], data: weights },
  };
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(Math.abs(a - (expected[i] as number))).toBeLessThanOrEqual(tolerance);
  });
}

function rawInvoke(url: string, path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('inference server', () => {
  let root: string;
  let server: InferenceServer;
  let sagemaker: SageMakerRuntimeClient;
  let client: InferenceClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'inference-server-'));
    await writeTinyModels(join(root, 'models'));
    server = await startInferenceServer({
      modelsDir: join(root, 'models'),
      port: 0,
      host: '127.0.0.1',
      // A generous delay keeps the batching assertions deterministic on a slow CI machine.
      batching: { maxBatchSize: 64, maxQueueDelayMs: 20 },
      logger: silent,
    });
    sagemaker = sdkClient(server.url);
    client = createInferenceClient({ sagemaker, endpointName: (m) => m });
  });

  afterAll(async () => {
    sagemaker?.destroy();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers /ping with 200 once models are loaded', async () => {
    // Act
    const res = await fetch(`${server.url}/ping`);

    // Assert
    expect(res.status).toBe(200);
  });

  it('lists the loaded models with their versions', async () => {
    // Act
    const res = await fetch(`${server.url}/models`);

    // Assert
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: { name: string; version: string }[] };
    expect(body.models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'classifier', version: '1.2.3' }),
        expect.objectContaining({ name: 'scaler', version: '0.1.0' }),
      ]),
    );
  });

  it('runs a model through the real SageMaker Runtime client', async () => {
    // Arrange
    const texts = [
      { ids: [3, 5, 7], weights: [0.5, 1, 0.25] },
      { ids: [1], weights: [1] },
    ];

    // Act
    const result = await client.invoke('classifier', textInputs(texts));

    // Assert
    expect(result.model).toEqual({ name: 'classifier', version: '1.2.3' });
    expect(result.outputs.probs?.dims).toEqual([2, 3]);
    expect(result.outputs.embedding?.dims).toEqual([2, 4]);
    texts.forEach((t, i) => {
      const expected = classifierReference(t.ids, t.weights);
      expectClose(row(result.outputs.probs as Tensor, i), expected.probs, 1e-5);
      expectClose(row(result.outputs.embedding as Tensor, i), expected.embedding, 1e-5);
    });
  });

  it('serves POST /invocations with the X-Amzn-SageMaker-Target-Model header', async () => {
    // Arrange
    const x: Tensor = { dtype: 'float32', dims: [1, 4], data: Float32Array.of(1, -2, 3.5, 0) };

    // Act
    const res = await rawInvoke(
      server.url,
      '/invocations',
      JSON.stringify({ inputs: { x: encodeTensor(x) } }),
      {
        'X-Amzn-SageMaker-Target-Model': 'scaler',
      },
    );

    // Assert
    expect(res.status).toBe(200);
    const body = (await res.json()) as InvocationResponse;
    expect(body.model.name).toBe('scaler');
    expect(Array.from(decodeTensor(body.outputs.y as WireTensor).data as Float32Array)).toEqual([
      2, -4, 7, 0,
    ]);
  });

  it('refuses POST /invocations without a target when several models are loaded', async () => {
    // Act
    const res = await rawInvoke(server.url, '/invocations', '{"inputs":{}}');

    // Assert
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationError');
    expect(((await res.json()) as { message: string }).message).toMatch(/MODEL_NAME/);
  });

  it('answers an unknown endpoint with a ValidationError that lists the known models', async () => {
    // Arrange
    const command = new InvokeEndpointCommand({
      EndpointName: 'no-such-model',
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs: {} }),
    });

    // Act
    const error = await sagemaker.send(command).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/no-such-model.*classifier.*scaler/s);
  });

  it('maps the unknown endpoint to a non-retryable InferenceValidationError in the client', async () => {
    // Act
    const error = await client.invoke('no-such-model', {}).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceValidationError);
    expect(error).toMatchObject({ retryable: false, cause: expect.any(ValidationError) });
  });

  it.each([
    {
      why: 'data shorter than its dims',
      inputs: () => {
        const wire = encodeTensors(textInputs([{ ids: [1, 2], weights: [1, 1] }]));
        return { ...wire, weights: { ...wire.weights, dims: [1, 3] } };
      },
      message: /needs 12 bytes/,
    },
    {
      why: 'a wrong dtype',
      inputs: () => {
        const ok = textInputs([{ ids: [1, 2], weights: [1, 1] }]);
        return encodeTensors({ ...ok, ids: { dtype: 'int32', dims: [1, 2], data: Int32Array.of(1, 2) } });
      },
      message: /ids of model classifier must be int64, got int32/,
    },
    {
      why: 'a missing input',
      inputs: () => {
        const { ids } = encodeTensors(textInputs([{ ids: [1], weights: [1] }]));
        return { ids };
      },
      message: /missing \[weights\]/,
    },
    {
      why: "'tokens' differing between ids and weights",
      inputs: () => {
        const wire = encodeTensors(textInputs([{ ids: [1, 2, 3], weights: [1, 1, 1] }]));
        const short = encodeTensors(textInputs([{ ids: [1, 2], weights: [1, 1] }]));
        return { ids: wire.ids, weights: short.weights };
      },
      message: /'tokens' is 3 in input ids but 2 in input weights/,
    },
    {
      why: 'a wrong rank',
      inputs: () =>
        encodeTensors({
          ...textInputs([{ ids: [1], weights: [1] }]),
          weights: { dtype: 'float32', dims: [1], data: Float32Array.of(1) },
        }),
      message: /must have shape \[batch,tokens\]/,
    },
  ])('answers a bad tensor ($why) with a ValidationError', async ({ inputs, message }) => {
    // Arrange
    const command = new InvokeEndpointCommand({
      EndpointName: 'classifier',
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs: inputs() }),
    });

    // Act
    const error = await sagemaker.send(command).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(message);
    expect((error as ValidationError).$metadata.httpStatusCode).toBe(400);
  });

  it('answers a body that is not JSON with a ValidationError', async () => {
    // Act
    const res = await rawInvoke(server.url, '/endpoints/scaler/invocations', '{not json');

    // Assert
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationError');
  });

  it('answers a model failure with a 500 ModelError and keeps serving the model', async () => {
    // Arrange: 2 values cannot be reshaped to [-1, 3]
    const bad = { x: { dtype: 'float32', dims: [1, 2], data: Float32Array.of(1, 2) } } satisfies Record<
      string,
      Tensor
    >;
    const good = { x: { dtype: 'float32', dims: [1, 3], data: Float32Array.of(1, 2, 3) } } satisfies Record<
      string,
      Tensor
    >;

    // Act
    const error = await sagemaker
      .send(
        new InvokeEndpointCommand({
          EndpointName: 'fragile',
          ContentType: 'application/json',
          Body: JSON.stringify({ inputs: encodeTensors(bad) }),
        }),
      )
      .catch((err: unknown) => err);
    const viaClient = await client.invoke('fragile', bad).catch((err: unknown) => err);
    const after = await client.invoke('fragile', good);

    // Assert
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).$metadata.httpStatusCode).toBe(500);
    expect((error as ModelError).OriginalStatusCode).toBe(500);
    expect(viaClient).toBeInstanceOf(InferenceModelError);
    expect(viaClient).toMatchObject({ retryable: true });
    expect(Array.from((after.outputs.y?.data ?? []) as ArrayLike<number>)).toEqual([1, 2, 3]);
  });

  it('batches 50 concurrent single-item requests and answers each correctly', async () => {
    // Arrange
    const next = seeded(7);
    const texts = Array.from({ length: 50 }, () => randomText(next));
    const before = server.stats().classifier;

    // Act
    const results = await Promise.all(texts.map((t) => client.invoke('classifier', textInputs([t]))));

    // Assert
    const after = server.stats().classifier;
    results.forEach((r, i) => {
      const t = texts[i] as { ids: number[]; weights: number[] };
      expect(r.outputs.probs?.dims).toEqual([1, 3]);
      expectClose(row(r.outputs.probs as Tensor, 0), classifierReference(t.ids, t.weights).probs, 1e-5);
    });
    expect((after?.items ?? 0) - (before?.items ?? 0)).toBe(50);
    expect((after?.batches ?? 0) - (before?.batches ?? 0)).toBeLessThan(50);
    expect(after?.maxBatchItems).toBeGreaterThan(1);
  });

  it('gives the same results batched as a raw session gives one request at a time', async () => {
    // Arrange
    const next = seeded(11);
    const texts = Array.from({ length: 24 }, () => randomText(next, 12));
    const session = await createSession(classifierModel());
    const unbatched: number[][] = [];
    for (const t of texts) {
      const { ids, weights } = textInputs([t]);
      const out = await session.run({
        ids: new OrtTensor('int64', ids?.data as BigInt64Array, ids?.dims),
        weights: new OrtTensor('float32', weights?.data as Float32Array, weights?.dims),
      });
      unbatched.push(Array.from(out.probs?.data as Float32Array));
    }
    await session.release();

    // Act
    const batched = await Promise.all(texts.map((t) => client.invoke('classifier', textInputs([t]))));

    // Assert
    batched.forEach((r, i) => {
      expectClose(row(r.outputs.probs as Tensor, 0), unbatched[i] as number[], 1e-6);
    });
  });

  it('gives the same results whether or not a text is padded', async () => {
    // Arrange
    const text = { ids: [4, 9, 2], weights: [0.3, 0.9, 0.6] };

    // Act
    const plain = await client.invoke('classifier', textInputs([text]));
    const padded = await client.invoke('classifier', textInputs([text], 11));

    // Assert
    expectClose(row(padded.outputs.probs as Tensor, 0), row(plain.outputs.probs as Tensor, 0), 1e-6);
    expectClose(row(padded.outputs.embedding as Tensor, 0), row(plain.outputs.embedding as Tensor, 0), 1e-6);
  });

  it('runs a request larger than the maximum batch in chunks', async () => {
    // Arrange
    const next = seeded(3);
    const texts = Array.from({ length: 150 }, () => randomText(next));

    // Act
    const result = await client.invoke('classifier', textInputs(texts));

    // Assert
    expect(result.outputs.probs?.dims).toEqual([150, 3]);
    texts.forEach((t, i) => {
      expectClose(row(result.outputs.probs as Tensor, i), classifierReference(t.ids, t.weights).probs, 1e-5);
    });
    expect(server.stats().classifier?.maxBatchItems).toBeLessThanOrEqual(64);
  });

  it('exposes the batching counters on GET /stats', async () => {
    // Act
    const res = await fetch(`${server.url}/stats`);

    // Assert
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: Record<string, { batches: number; items: number }> };
    expect(body.models.classifier?.batches).toBeGreaterThan(0);
    expect(body.models.classifier?.items).toBeGreaterThanOrEqual(body.models.classifier?.batches ?? 0);
  });
});

describe('inference server configuration', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'inference-config-'));
    await writeTinyModels(join(root, 'models'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves a model directory given as the root (SageMaker /opt/ml/model) on POST /invocations', async () => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir: join(root, 'models', 'scaler'),
      port: 0,
      logger: silent,
    });
    const x: Tensor = { dtype: 'float32', dims: [2, 4], data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) };

    // Act
    const res = await rawInvoke(
      server.url,
      '/invocations',
      JSON.stringify({ inputs: { x: encodeTensor(x) } }),
    );
    await server.close();

    // Assert
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { y: { dims: number[] } } };
    expect(body.outputs.y.dims).toEqual([2, 4]);
  });

  it('serves the default model (MODEL_NAME) on POST /invocations', async () => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir: join(root, 'models'),
      port: 0,
      defaultModel: 'scaler',
      logger: silent,
    });
    const x: Tensor = { dtype: 'float32', dims: [1, 4], data: Float32Array.of(1, 1, 1, 1) };

    // Act
    const res = await rawInvoke(
      server.url,
      '/invocations',
      JSON.stringify({ inputs: { x: encodeTensor(x) } }),
    );
    await server.close();

    // Assert
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: { name: string } }).model.name).toBe('scaler');
  });

  it('refuses a body over the size limit with a 413 ValidationError', async () => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir: join(root, 'models', 'scaler'),
      port: 0,
      maxBodyBytes: 2048,
      logger: silent,
    });
    const sagemaker = sdkClient(server.url);
    const x: Tensor = { dtype: 'float32', dims: [200, 4], data: new Float32Array(800) };

    // Act
    const error = await sagemaker
      .send(
        new InvokeEndpointCommand({
          EndpointName: 'scaler',
          ContentType: 'application/json',
          Body: JSON.stringify({ inputs: { x: encodeTensor(x) } }),
        }),
      )
      .catch((err: unknown) => err);
    sagemaker.destroy();
    await server.close();

    // Assert
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).$metadata.httpStatusCode).toBe(413);
    expect((error as ValidationError).message).toMatch(/exceeds 2048 bytes/);
  });

  it('runs every request alone when maxBatchSize is 1', async () => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir: join(root, 'models'),
      port: 0,
      batching: { perModel: { classifier: { maxBatchSize: 1 } } },
      logger: silent,
    });
    const sagemaker = sdkClient(server.url);
    const client = createInferenceClient({ sagemaker, endpointName: (m) => m });
    const next = seeded(5);
    const texts = Array.from({ length: 10 }, () => randomText(next));

    // Act
    await Promise.all(texts.map((t) => client.invoke('classifier', textInputs([t]))));
    const stats = server.stats().classifier;
    sagemaker.destroy();
    await server.close();

    // Assert
    expect(stats).toMatchObject({ batches: 10, items: 10, maxBatchItems: 1 });
  });

  it('finishes queued requests when it closes', async () => {
    // Arrange: a long queue delay, so the request is still queued when close() starts
    const server = await startInferenceServer({
      modelsDir: join(root, 'models'),
      port: 0,
      batching: { maxQueueDelayMs: 5_000 },
      logger: silent,
    });
    const sagemaker = sdkClient(server.url);
    const client = createInferenceClient({ sagemaker, endpointName: (m) => m });
    const x: Tensor = { dtype: 'float32', dims: [1, 4], data: Float32Array.of(1, 2, 3, 4) };
    const pending = client.invoke('scaler', { x });
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Act
    const started = performance.now();
    await server.close();
    const result = await pending;
    sagemaker.destroy();

    // Assert
    expect(Array.from((result.outputs.y?.data ?? []) as ArrayLike<number>)).toEqual([2, 4, 6, 8]);
    expect(performance.now() - started).toBeLessThan(4_000);
  });
});

describe('model loading', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'inference-load-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a model whose sha256 differs from its manifest', async () => {
    // Arrange
    const dir = await writeModelDir(root, 'tampered', scalerModel(), {
      ...SCALER_MANIFEST,
      name: 'tampered',
      sha256: '0'.repeat(64),
    });

    // Act
    const error = await loadModel(dir).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as Error).message).toMatch(
      /sha256 of .*model\.onnx is [0-9a-f]{64} but the manifest says 0{64}/,
    );
  });

  it('refuses to start a server when one model fails its checksum', async () => {
    // Arrange
    const models = join(root, 'mixed');
    await writeModelDir(models, 'scaler', scalerModel(), SCALER_MANIFEST);
    await writeModelDir(models, 'classifier', classifierModel(), {
      ...CLASSIFIER_MANIFEST,
      sha256: 'a'.repeat(64),
    });

    // Act
    const error = await startInferenceServer({ modelsDir: models, port: 0, logger: silent }).catch(
      (e: unknown) => e,
    );

    // Assert
    expect(error).toBeInstanceOf(ChecksumMismatchError);
  });

  it('refuses a manifest whose input names differ from the graph', async () => {
    // Arrange
    const dir = await writeModelDir(root, 'renamed', scalerModel(), {
      ...SCALER_MANIFEST,
      name: 'renamed',
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 4] }],
    });

    // Act
    const error = await loadModel(dir).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/manifest inputs \[input\] differ from the ONNX graph's \[x\]/);
  });

  it('refuses a manifest whose dtype differs from the graph', async () => {
    // Arrange
    const dir = await writeModelDir(root, 'retyped', scalerModel(), {
      ...SCALER_MANIFEST,
      name: 'retyped',
      inputs: [{ name: 'x', dtype: 'uint8', shape: ['batch', 4] }],
    });

    // Act
    const error = await loadModel(dir).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/manifest says uint8, the ONNX graph says float32/);
  });

  it('refuses an invalid manifest with the offending field named', async () => {
    // Arrange
    const dir = await writeModelDir(root, 'unbatched', scalerModel(), {
      ...SCALER_MANIFEST,
      name: 'unbatched',
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
    });

    // Act
    const error = await loadModel(dir).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as Error).message).toMatch(/first dimension must be 'batch'/);
  });

  it("refuses a model directory whose name is not the manifest's name", async () => {
    // Arrange
    const models = join(root, 'misnamed');
    await writeModelDir(models, 'not-scaler', scalerModel(), SCALER_MANIFEST);

    // Act
    const error = await startInferenceServer({ modelsDir: models, port: 0, logger: silent }).catch(
      (e: unknown) => e,
    );

    // Assert
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/not-scaler holds a manifest named scaler/);
  });
});

/**
 * The smoke test of the real models on CPU: what scripts/smoke-inference-image.sh runs against the
 * GPU image on a machine with Docker and a GPU (scripts/smoke-inference.ts), here over the committed
 * model directories, both as the local mode loads them (one server, every model) and as SageMaker
 * mounts them (one model at the root, MODEL_NAME), through the real SageMaker Runtime client.
 */
describe('the real model directories (CPU smoke test)', () => {
  const modelsDir = join(REPO_ROOT, 'model-artifacts', 'models');
  const manifestOf = (name: string) => {
    const path = join(modelsDir, name, 'manifest.json');
    return parseManifest(JSON.parse(readFileSync(path, 'utf8')), path);
  };

  it('answers /ping and one invocation of each model, all models in one server', async () => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir,
      port: 0,
      session: { executionProviders: ['cpu'] },
      logger: silent,
    });
    try {
      // Act
      await smokePing(server.url);
      const client = localInferenceClient(server.url);
      const results = [];
      for (const name of MODEL_NAMES) results.push(await smokeModel(client, manifestOf(name)));

      // Assert
      expect(results.map((r) => r.model)).toEqual([...MODEL_NAMES]);
      for (const r of results) expect(r.outputs.probs?.[0]).toBe(SMOKE_BATCH);
    } finally {
      await server.close();
    }
  });

  it.each([
    ...MODEL_NAMES,
  ])('serves %s alone as SageMaker mounts it (/opt/ml/model, MODEL_NAME)', async (name) => {
    // Arrange
    const server = await startInferenceServer({
      modelsDir: join(modelsDir, name),
      port: 0,
      defaultModel: name,
      session: { executionProviders: ['cpu'] },
      logger: silent,
    });
    try {
      // Act
      await smokePing(server.url);
      const result = await smokeModel(localInferenceClient(server.url), manifestOf(name));

      // Assert
      expect(result).toMatchObject({ model: name, version: manifestOf(name).version });
    } finally {
      await server.close();
    }
  });

  it('rejects an answer that breaks the manifest (the smoke check can fail)', async () => {
    const manifest = manifestOf('fusion');
    const wrongVersion = { ...manifest, version: `${manifest.version}-not-served` };
    const server = await startInferenceServer({ modelsDir, port: 0, logger: silent });
    try {
      await expect(smokeModel(localInferenceClient(server.url), wrongVersion)).rejects.toThrow(
        /fusion: served version .* manifest says .*-not-served/,
      );
    } finally {
      await server.close();
    }
  });
});
