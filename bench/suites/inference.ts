/**
 * Inference server vs a raw onnxruntime session on the same model, same process settings.
 *
 * The server runs in its own process (bench/suites/serve.ts), as it does on SageMaker; this process
 * is the client — the pipeline's own `createInferenceClient` over the real `SageMakerRuntimeClient`
 * (SigV4, retries, JSON + base64 tensors), exactly what the Lambda sends — and also holds the raw
 * session, created by the project's one session factory from the same model bytes. So a ratio below
 * 1 is everything the HTTP path adds: client encode and SDK, HTTP on loopback, server parse and
 * validation, batch assembly, response encode and decode.
 */
import { Agent } from 'node:http';
import { join } from 'node:path';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { DEFAULT_BATCHING } from '#model-artifacts/server/batcher.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { loadModelPack } from '#shared/moderation/model-pack.ts';
import { featurize, padBatch } from '#shared/text/featurize.ts';
import { firstJsonLine, REPO_ROOT, spawnTs } from '../lib/child.ts';
import { emit, progress, suiteArgs } from '../lib/line.ts';
import { concurrentRate, paired, rate, round } from '../lib/measure.ts';

const { quick } = suiteArgs();
const MODELS = ['image-nsfw', 'text-toxicity'] as const;
type ModelName = (typeof MODELS)[number];
const BATCHES = quick ? [1, 16] : [1, 4, 16, 32, 64];
const CONCURRENCY = quick ? 16 : 64;
const REPS = quick ? 1 : 3;
const MS = quick ? 100 : 400;
const MAX_BATCH = DEFAULT_BATCHING.maxBatchSize;
/** The raw batch the dynamic batcher is compared with: the largest it can form. */
const DYNAMIC_BASELINE_BATCH = Math.min(CONCURRENCY, MAX_BATCH);
const OVERHEAD_TARGET = 0.1;
const DYNAMIC_TARGET = 0.8;

const modelsDir = join(REPO_ROOT, 'model-artifacts/models');
const pack = loadModelPack();

const SENTENCES = [
  'Thank you so much for the lovely dinner last night, the soup was delicious and the company even better.',
  'You are a worthless idiot and everyone at school laughs at you behind your back.',
  'The meeting has been moved to Thursday at three; please bring the quarterly figures.',
  'Go back to where you came from, nobody wants people like you here.',
  'I loved the film, although the ending felt a little rushed compared with the book.',
  'Shut up, you pathetic loser, nobody asked for your stupid opinion.',
  'Our team won the match on Saturday after a penalty in the last minute of extra time.',
  'If you post that again I will find you and make you regret it.',
];

/** `n` items of the model's input, as the pipeline would send them. */
function makeInputs(model: ModelName, n: number, offset = 0): Record<string, Tensor> {
  if (model === 'text-toxicity') {
    const texts = Array.from({ length: n }, (_, i) => `${SENTENCES[(offset + i) % SENTENCES.length]} (${offset + i})`);
    const batch = padBatch(texts.map((t) => featurize(t, pack.text.featurizer)));
    const dims = [n, batch.tokens];
    return {
      ids: { dtype: 'int64', dims, data: batch.ids },
      weights: { dtype: 'float32', dims, data: batch.weights },
    };
  }
  const size = pack.image.size;
  const data = new Uint8Array(n * size * size * 3);
  let x = 12345 + offset;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = x >>> 23;
  }
  return { image: { dtype: 'uint8', dims: [n, size, size, 3], data } };
}

const toOrt = (inputs: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new OrtTensor(t.dtype, t.data, t.dims)]));

interface Stats {
  items: number;
  batches: number;
}

async function main(): Promise<void> {
  progress('inference: starting the server process and loading the raw sessions');
  const child = spawnTs('bench/suites/serve.ts', [modelsDir]);
  try {
    const { url } = await firstJsonLine<{ url: string }>(child);
    const sagemaker = new SageMakerRuntimeClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      // Enough sockets for every concurrent request (the SDK's default pool is 50).
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
    });
    const client = createInferenceClient({ sagemaker, endpointName: (m) => m });
    const stats = async (model: ModelName): Promise<Stats> => {
      const body = (await (await fetch(`${url}/stats`)).json()) as { models: Record<string, Stats> };
      return body.models[model] as Stats;
    };

    for (const model of MODELS) {
      const loaded = await loadModel(join(modelsDir, model));
      const session = loaded.session;
      const byBatch = new Map(BATCHES.map((b) => [b, makeInputs(model, b)] as const));
      const feedsByBatch = new Map([...byBatch].map(([b, inputs]) => [b, toOrt(inputs)] as const));
      const raw = (b: number) => () => session.run(feedsByBatch.get(b) as Record<string, OrtTensor>);
      const served = (b: number) => () => client.invoke(model, byBatch.get(b) as Record<string, Tensor>);

      progress(`inference: ${model}: warm-up`);
      for (const b of BATCHES) {
        await raw(b)();
        await served(b)();
      }
      await rate(raw(1), 1, MS / 2);
      await rate(served(1), 1, MS / 2);

      for (const b of BATCHES) {
        progress(`inference: ${model}: batch ${b}, server vs raw`);
        const r = await paired(
          REPS,
          () => rate(raw(b), b, MS, 1),
          () => rate(served(b), b, MS, 1),
        );
        const overhead = 1 / r.ratio - 1;
        emit({
          name: `inference/${model}/server-vs-raw/batch=${b}`,
          itemsPerSec: round(r.itemsPerSec),
          baselineItemsPerSec: round(r.baselineItemsPerSec),
          ratio: round(r.ratio),
          batch: b,
          client: 'SageMakerRuntimeClient',
          ...(b === 1
            ? {
                overheadPct: round(overhead * 100, 2),
                target: `server overhead <= ${OVERHEAD_TARGET * 100}% at batch 1`,
                met: overhead <= OVERHEAD_TARGET,
              }
            : {}),
        });
      }

      progress(`inference: ${model}: ${CONCURRENCY} concurrent single-item requests (dynamic batching)`);
      const singles = Array.from({ length: CONCURRENCY }, (_, i) => makeInputs(model, 1, i));
      let next = 0;
      const single = () => client.invoke(model, singles[next++ % singles.length] as Record<string, Tensor>);
      const baselineFeeds = toOrt(makeInputs(model, DYNAMIC_BASELINE_BATCH));
      const before = await stats(model);
      const r = await paired(
        REPS,
        () => rate(() => session.run(baselineFeeds), DYNAMIC_BASELINE_BATCH, MS, 1),
        () => concurrentRate(single, 1, CONCURRENCY, MS),
      );
      const after = await stats(model);
      emit({
        name: `inference/${model}/dynamic-batch/single-item-c${CONCURRENCY}`,
        itemsPerSec: round(r.itemsPerSec),
        baselineItemsPerSec: round(r.baselineItemsPerSec),
        ratio: round(r.ratio),
        baselineBatch: DYNAMIC_BASELINE_BATCH,
        meanBatch: round((after.items - before.items) / Math.max(1, after.batches - before.batches), 3),
        concurrency: CONCURRENCY,
        client: 'SageMakerRuntimeClient',
        target: `>= ${DYNAMIC_TARGET} of raw batch-${DYNAMIC_BASELINE_BATCH} throughput`,
        met: r.ratio >= DYNAMIC_TARGET,
      });
      await session.release();
    }
    sagemaker.destroy();
  } finally {
    child.stdin?.end();
    await new Promise((resolve) => {
      if (child.exitCode !== null) resolve(undefined);
      else child.once('exit', resolve);
    });
  }
}

await main();
