/**
 * The synchronous API on the local stack (`npm run api`'s code): one request at a time after
 * warm-up, timed from the client's `fetch` to the parsed response, for a short text and a 640×480
 * JPEG. Each request carries new content, so none is answered from a stored verdict. Beside each,
 * the raw model time of the same item in the same run: one onnxruntime `session.run` of the text
 * (or image) encoder, the floor the API's overhead sits on.
 */
import { join } from 'node:path';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { REPO_ROOT } from '#bench/lib/child.ts';
import { emit, progress, suiteArgs } from '#bench/lib/line.ts';
import { quantile, round } from '#bench/lib/measure.ts';
import { makeJpeg } from '#bench/lib/media.ts';
import { startLocalApi } from '#local/api.ts';
import { startLocalStack } from '#local/stack.ts';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { readSessionEnv } from '#shared/contracts/env.ts';
import { MODELS } from '#shared/contracts/models.ts';
import { featurize, padBatch } from '#shared/text/featurize.ts';

const { quick } = suiteArgs();
const PLAN = quick ? { warmup: 3, text: 20, image: 6 } : { warmup: 20, text: 300, image: 60 };
const TARGETS = { text: { p50: 15, p99: 50 }, image: { p50: 60 } } as const;

const SENTENCES = [
  'Thank you so much for the lovely dinner last night, the soup was delicious.',
  'You are a worthless idiot and everyone at school laughs at you behind your back.',
  'The meeting has been moved to Thursday at three; please bring the quarterly figures.',
  'Shut up, you pathetic loser, nobody asked for your stupid opinion.',
];

async function timeRequests(count: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await send(i);
    await res.json();
    latencies.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`request ${i} answered ${res.status}`);
  }
  return latencies;
}

/** p50 of `fn` over `n` runs, ms. */
async function p50Of(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return quantile(times, 0.5);
}

async function rawModelMs(): Promise<{ text: number; image: number }> {
  const pack = loadPack();
  const session = readSessionEnv();
  const modelsDir = join(REPO_ROOT, 'model-artifacts/models');
  const text = await loadModel(join(modelsDir, MODELS.text), session);
  const batch = padBatch([featurize(SENTENCES[1] as string, pack.text.featurizer)]);
  const dims = [1, batch.tokens];
  const textFeeds = {
    ids: new OrtTensor('int64', batch.ids, dims),
    weights: new OrtTensor('float32', batch.weights, dims),
  };
  const image = await loadModel(join(modelsDir, MODELS.image), session);
  const side = pack.image.size;
  const pixels = new Uint8Array(side * side * 3).map((_, i) => (i * 31) % 256);
  const imageFeeds = { image: new OrtTensor('uint8', pixels, [1, side, side, 3]) };
  await text.session.run(textFeeds);
  await image.session.run(imageFeeds);
  return {
    text: await p50Of(200, () => text.session.run(textFeeds)),
    image: await p50Of(40, () => image.session.run(imageFeeds)),
  };
}

async function main(): Promise<void> {
  progress('api: starting the local stack and the API');
  // As deployed by default (KEEP_INPUTS=none on AWS): kept inputs would add a put per request.
  const stack = await startLocalStack({
    keepInputs: 'none',
    onError: (err) => progress(`api error: ${String(err)}`),
  });
  const api = await startLocalApi(stack, { key: 'bench', ratePerMinute: 1_000_000 });
  const headers = { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' };
  const moderateText = (i: number) =>
    fetch(`${api.url}/v1/moderate`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ text: `${SENTENCES[i % SENTENCES.length]} (${i})` }),
    });
  try {
    const jpegs = await Promise.all(
      Array.from({ length: PLAN.warmup + PLAN.image }, (_, i) => makeJpeg(i + 1)),
    );
    const moderateImage = (i: number) =>
      fetch(`${api.url}/v1/moderate`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'image/jpeg' },
        body: jpegs[i] as Buffer,
      });
    progress('api: warm-up');
    await timeRequests(PLAN.warmup, (i) => moderateText(1_000_000 + i));
    await timeRequests(PLAN.warmup, (i) => moderateImage(PLAN.image + i));
    const raw = await rawModelMs();

    progress(`api: ${PLAN.text} texts one at a time`);
    const text = await timeRequests(PLAN.text, moderateText);
    const textP50 = quantile(text, 0.5);
    const textP99 = quantile(text, 0.99);
    emit({
      name: 'api/native/text/one-at-a-time',
      itemsPerSec: round(1000 / textP50),
      p50Ms: round(textP50),
      p99Ms: round(textP99),
      samples: text.length,
      rawModelP50Ms: round(raw.text),
      target: `p50 <= ${TARGETS.text.p50} ms, p99 <= ${TARGETS.text.p99} ms`,
      met: textP50 <= TARGETS.text.p50 && textP99 <= TARGETS.text.p99,
      note: 'POST /v1/moderate {text}: key check, rate limit (one DynamoDB write), strict JSON, text model + fusion over HTTP, one conditional verdict write',
    });

    progress(`api: ${PLAN.image} 640×480 JPEGs one at a time`);
    const image = await timeRequests(PLAN.image, moderateImage);
    const imageP50 = quantile(image, 0.5);
    emit({
      name: 'api/native/image-640x480/one-at-a-time',
      itemsPerSec: round(1000 / imageP50),
      p50Ms: round(imageP50),
      p99Ms: round(quantile(image, 0.99)),
      samples: image.length,
      rawModelP50Ms: round(raw.image),
      target: `p50 <= ${TARGETS.image.p50} ms`,
      met: imageP50 <= TARGETS.image.p50,
      note: 'POST /v1/moderate with a raw JPEG: sniff, decode in the killable decoder, OCR, image model + fusion',
    });
  } finally {
    await api.close();
    await stack.stop();
  }
}

await main();
