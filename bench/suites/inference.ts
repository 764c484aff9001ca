/**
 * Inference server vs a raw onnxruntime session on the same model and session settings.
 *
 * The client is the pipeline's own `createInferenceClient` over the real `SageMakerRuntimeClient`
 * (SigV4, retries, and the wire the model's manifest prefers: the binary tensor type by default):
 * exactly what the Lambda sends. Lines ending `/wire=json` repeat batch 1 and the dynamic-batching
 * line over the JSON + base64 wire, so the two encodings are compared in the same run. The server runs in this
 * process. On a shared 2-core machine a second process would mostly measure the scheduler (each
 * loopback hop waits for a core, and ONNX Runtime's threads starve the other process), so one
 * process it is; the client's own work (SDK, encoding) is therefore counted as server overhead,
 * which makes the figures an upper bound. Besides wall-clock throughput each line carries the
 * process CPU time per item, which other tenants disturb far less.
 */
import { Agent } from 'node:http';
import { join } from 'node:path';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { REPO_ROOT } from '#bench/lib/child.ts';
import { emit, progress, suiteArgs } from '#bench/lib/line.ts';
import { concurrentRate, paired, rate, round } from '#bench/lib/measure.ts';
import { makeInputs, toOrt } from '#bench/lib/model-inputs.ts';
import { DEFAULT_BATCHING } from '#model-artifacts/server/batcher.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { startInferenceServer } from '#model-artifacts/server/server.ts';
import { readSessionEnv } from '#shared/contracts/env.ts';
import { ENCODER_MODELS } from '#shared/contracts/models.ts';
import { JSON_CONTENT_TYPE } from '#shared/contracts/tensor-wire.ts';
import { createInferenceClient, type InferenceClient } from '#shared/inference/client.ts';
import { manifestContentTypes } from '#shared/inference/manifest.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';

const { quick } = suiteArgs();
const BATCHES = quick ? [1, 16] : [1, 4, 16, 32, 64];
const CONCURRENCY = quick ? 16 : 64;
const REPS = quick ? 1 : 5;
const MS = quick ? 100 : 400;
const MAX_BATCH = DEFAULT_BATCHING.maxBatchSize;
/** The raw batch the dynamic batcher is compared with: the largest it can form. */
const DYNAMIC_BASELINE_BATCH = Math.min(CONCURRENCY, MAX_BATCH);
const OVERHEAD_TARGET = 0.1;
const DYNAMIC_TARGET = 0.8;

const modelsDir = join(REPO_ROOT, 'model-artifacts/models');
const SESSION = readSessionEnv();

interface Stats {
  items: number;
  batches: number;
}

async function main(): Promise<void> {
  progress('inference: starting the server and loading the raw sessions');
  const server = await startInferenceServer({ modelsDir, port: 0, host: '127.0.0.1', session: SESSION });
  const sagemaker = new SageMakerRuntimeClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    // Enough sockets for every concurrent request (the SDK's default pool is 50).
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
  });
  const manifests = new Map(server.registry.list().map((m) => [m.manifest.name, m.manifest]));
  // The pipeline's default: the wire the served model's manifest prefers (binary tensors).
  const preferred = createInferenceClient({
    sagemaker,
    endpointName: (m) => m,
    contentTypes: (m) => {
      const manifest = manifests.get(m);
      return manifest && manifestContentTypes(manifest);
    },
  });
  const json = createInferenceClient({
    sagemaker,
    endpointName: (m) => m,
    contentTypes: () => [JSON_CONTENT_TYPE],
  });
  const wires = [
    { client: preferred, suffix: '', wire: (m: string) => preferred.contentType(m) },
    { client: json, suffix: '/wire=json', wire: () => JSON_CONTENT_TYPE },
  ];
  try {
    for (const model of ENCODER_MODELS) {
      const { session } = await loadModel(join(modelsDir, model), SESSION);
      const byBatch = new Map(BATCHES.map((b) => [b, makeInputs(model, b)] as const));
      const feedsByBatch = new Map([...byBatch].map(([b, inputs]) => [b, toOrt(inputs)] as const));
      const raw = (b: number) => () => session.run(feedsByBatch.get(b) as ReturnType<typeof toOrt>);
      const servedBy = (client: InferenceClient, b: number) => () =>
        client.invoke(model, byBatch.get(b) as Record<string, Tensor>);

      progress(`inference: ${model}: warm-up`);
      for (const b of BATCHES) {
        await raw(b)();
        for (const { client } of wires) await servedBy(client, b)();
      }
      await rate(raw(1), 1, MS / 2);
      for (const { client } of wires) await rate(servedBy(client, 1), 1, MS / 2);

      // Every batch size over the default wire; batch 1 (where encoding weighs most) over JSON too.
      const runs = [
        ...BATCHES.map((b) => ({ b, ...(wires[0] as (typeof wires)[number]) })),
        { b: 1, ...(wires[1] as (typeof wires)[number]) },
      ];
      for (const { b, client, suffix, wire } of runs) {
        progress(`inference: ${model}: batch ${b}, server vs raw${suffix}`);
        const served = servedBy(client, b);
        const r = await paired(
          REPS,
          () => rate(raw(b), b, MS, 1),
          () => rate(served, b, MS, 1),
        );
        const overhead = 1 / r.ratio - 1;
        emit({
          name: `inference/${model}/server-vs-raw/batch=${b}${suffix}`,
          wire: wire(model),
          itemsPerSec: round(r.itemsPerSec),
          baselineItemsPerSec: round(r.baselineItemsPerSec),
          ratio: round(r.ratio),
          batch: b,
          cpuMsPerItem: round(r.cpuMsPerItem),
          baselineCpuMsPerItem: round(r.baselineCpuMsPerItem),
          cpuOverheadPct: round((r.cpuRatio - 1) * 100, 2),
          client: 'SageMakerRuntimeClient',
          ...(b === 1
            ? {
                overheadPct: round(overhead * 100, 2),
                // The target is the default wire's; the JSON line is the comparison.
                ...(suffix === '' && {
                  target: `server overhead <= ${OVERHEAD_TARGET * 100}% at batch 1`,
                  met: overhead <= OVERHEAD_TARGET,
                }),
              }
            : {}),
        });
      }

      const singles = Array.from({ length: CONCURRENCY }, (_, i) => makeInputs(model, 1, i));
      const baselineFeeds = toOrt(makeInputs(model, DYNAMIC_BASELINE_BATCH));
      for (const { client, suffix, wire } of wires) {
        progress(
          `inference: ${model}: ${CONCURRENCY} concurrent single-item requests (dynamic batching)${suffix}`,
        );
        let next = 0;
        const single = () => client.invoke(model, singles[next++ % singles.length] as Record<string, Tensor>);
        const before = server.stats()[model] as Stats;
        const r = await paired(
          REPS,
          () => rate(() => session.run(baselineFeeds), DYNAMIC_BASELINE_BATCH, MS, 1),
          () => concurrentRate(single, 1, CONCURRENCY, MS),
        );
        const after = server.stats()[model] as Stats;
        emit({
          name: `inference/${model}/dynamic-batch/single-item-c${CONCURRENCY}${suffix}`,
          wire: wire(model),
          itemsPerSec: round(r.itemsPerSec),
          baselineItemsPerSec: round(r.baselineItemsPerSec),
          ratio: round(r.ratio),
          baselineBatch: DYNAMIC_BASELINE_BATCH,
          meanBatch: round((after.items - before.items) / Math.max(1, after.batches - before.batches), 3),
          concurrency: CONCURRENCY,
          cpuMsPerItem: round(r.cpuMsPerItem),
          baselineCpuMsPerItem: round(r.baselineCpuMsPerItem),
          cpuOverheadPct: round((r.cpuRatio - 1) * 100, 2),
          client: 'SageMakerRuntimeClient',
          ...(suffix === '' && {
            target: `>= ${DYNAMIC_TARGET} of raw batch-${DYNAMIC_BASELINE_BATCH} throughput`,
            met: r.ratio >= DYNAMIC_TARGET,
          }),
        });
      }
      await session.release();
    }
  } finally {
    sagemaker.destroy();
    await server.close();
  }
}

await main();
