/**
 * `npx tsx bench/gpu.ts [--json] [--quick]`: the models on ONNX Runtime's CUDA execution provider,
 * as the SageMaker GPU image runs them (`ORT_EXECUTION_PROVIDERS=cuda,cpu`, sessions.ts).
 *
 * A script, not a test: it needs an NVIDIA GPU, its driver, and onnxruntime-node's CUDA provider
 * libraries (installed by the GPU image's build, skipped on CPU machines: see TOOLCHAIN.md). Where
 * any of those is missing it says which and exits 0 without measuring.
 *
 * Per model and batch size (1 … 256) it measures a raw CUDA session, and the inference server on
 * CUDA fed by 256 concurrent single-item requests through the real SageMakerRuntimeClient (dynamic
 * batching, MAX_BATCH_SIZE 256). Output lines have the shape of `npm run bench` (bench/lib/line.ts);
 * the cost model (docs/COST.md) takes its GPU throughput from these lines when they exist.
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { listSupportedBackends } from 'onnxruntime-node';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { startInferenceServer } from '#model-artifacts/server/server.ts';
import { ENCODER_MODELS } from '#shared/contracts/models.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import type { SessionConfig } from '#shared/onnx/sessions.ts';
import { REPO_ROOT } from './lib/child.ts';
import { type BenchLine, formatJsonLine } from './lib/line.ts';
import { concurrentRate, paired, rate, round } from './lib/measure.ts';
import { makeInputs, toOrt } from './lib/model-inputs.ts';
import { humanLine } from './lib/report.ts';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const BATCHES = quick ? [1, 64] : [1, 8, 32, 64, 128, 256];
const CONCURRENCY = quick ? 64 : 256;
const MS = quick ? 300 : 1000;
const REPS = quick ? 1 : 3;
const modelsDir = join(REPO_ROOT, 'model-artifacts/models');
const CUDA: Partial<SessionConfig> = { executionProviders: ['cuda'], cpuFallback: false };

function say(line: BenchLine): void {
  process.stdout.write(`${json ? formatJsonLine(line) : humanLine(line)}\n`);
}

function skip(reason: string): never {
  process.stderr.write(`bench/gpu: skipped: ${reason}\n`);
  process.exit(0);
}

/** Why the CUDA provider cannot run here, or undefined when it can. */
async function cudaUnavailable(): Promise<string | undefined> {
  try {
    const gpus = execFileSync(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
      {
        encoding: 'utf8',
      },
    ).trim();
    process.stderr.write(`bench/gpu: ${gpus}\n`);
  } catch {
    return 'no NVIDIA GPU (nvidia-smi is missing or failed)';
  }
  if (!listSupportedBackends().some((b) => b.name === 'cuda')) {
    return 'this onnxruntime-node build has no CUDA backend';
  }
  try {
    const probe = await loadModel(join(modelsDir, 'fusion'), CUDA);
    await probe.session.release();
  } catch (err) {
    return `cannot create a CUDA session (${(err as Error).message.split('\n')[0]}); the CUDA provider libraries come from onnxruntime-node's install step, which CPU machines skip (ONNXRUNTIME_NODE_INSTALL=skip); the GPU image runs it`;
  }
  return undefined;
}

async function main(): Promise<void> {
  const why = await cudaUnavailable();
  if (why) skip(why);
  const maxBatch = Math.max(...BATCHES);
  const server = await startInferenceServer({
    modelsDir,
    port: 0,
    session: CUDA,
    batching: { maxBatchSize: maxBatch, maxQueueDelayMs: 0 },
  });
  const sagemaker = new SageMakerRuntimeClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 }) },
  });
  const client = createInferenceClient({ sagemaker, endpointName: (m) => m });
  try {
    for (const model of ENCODER_MODELS) {
      const cuda = await loadModel(join(modelsDir, model), CUDA);
      const cpu = await loadModel(join(modelsDir, model), { executionProviders: ['cpu'] });
      for (const b of BATCHES) {
        const feeds = toOrt(makeInputs(model, b));
        for (let i = 0; i < 3; i++) await cuda.session.run(feeds);
        await cpu.session.run(feeds);
        const r = await paired(
          REPS,
          () => rate(() => cpu.session.run(feeds), b, MS / 4, 1),
          () => rate(() => cuda.session.run(feeds), b, MS, 3),
        );
        say({
          name: `gpu/${model}/cuda-vs-cpu/batch=${b}`,
          itemsPerSec: round(r.itemsPerSec),
          baselineItemsPerSec: round(r.baselineItemsPerSec),
          ratio: round(r.ratio),
          batch: b,
        });
      }
      const singles = Array.from({ length: CONCURRENCY }, (_, i) => makeInputs(model, 1, i));
      let next = 0;
      const single = () => client.invoke(model, singles[next++ % singles.length] as Record<string, Tensor>);
      const feeds = toOrt(makeInputs(model, maxBatch));
      await concurrentRate(single, 1, CONCURRENCY, MS / 2);
      const r = await paired(
        REPS,
        () => rate(() => cuda.session.run(feeds), maxBatch, MS, 3),
        () => concurrentRate(single, 1, CONCURRENCY, MS),
      );
      say({
        name: `gpu/${model}/dynamic-batch/single-item-c${CONCURRENCY}`,
        itemsPerSec: round(r.itemsPerSec),
        baselineItemsPerSec: round(r.baselineItemsPerSec),
        ratio: round(r.ratio),
        baselineBatch: maxBatch,
        concurrency: CONCURRENCY,
        client: 'SageMakerRuntimeClient',
      });
      await cuda.session.release();
      await cpu.session.release();
    }
  } finally {
    sagemaker.destroy();
    await server.close();
  }
}

await main();
