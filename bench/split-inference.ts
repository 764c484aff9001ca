/**
 * `npx tsx bench/split-inference.ts [model]` — the inference suite's "server overhead", split into
 * the server's and the client's (docs/PERFORMANCE.md, "Binary tensor wire"). The suite
 * (bench/suites/inference.ts) keeps client and server in one process, so its CPU per item holds
 * both. Here the server runs in a process of its own, started as its container starts it
 * (model-artifacts/server/main.ts), as on SageMaker, where the client's share is paid by the
 * Lambda. The pipeline's client drives it from this process. Each process's CPU time per item is
 * printed beside a raw onnxruntime session's in this process: the server's from /proc (Linux),
 * this process's from `process.cpuUsage`. Wall-clock ratios on a 2-core machine still mix both,
 * since the two processes share the cores. Prints a Markdown table on stdout.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { REPO_ROOT, spawnTs } from '#bench/lib/child.ts';
import { concurrentRate, median, rate, type Sample } from '#bench/lib/measure.ts';
import { makeInputs, toOrt } from '#bench/lib/model-inputs.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { readSessionEnv } from '#shared/contracts/env.ts';
import { ENCODER_MODELS, MODELS, type ModelName } from '#shared/contracts/models.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import { manifestContentTypes } from '#shared/inference/manifest.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';

const model = (process.argv[2] ?? MODELS.image) as ModelName;
if (!ENCODER_MODELS.includes(model)) throw new Error(`model must be one of ${ENCODER_MODELS.join(', ')}`);
const REPS = 3;
const MS = 1000;
const CONCURRENCY = 64;

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
/** User + system CPU milliseconds of process `pid` so far (fields 14 and 15 of /proc/<pid>/stat). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the inference server at ${url} did not answer /ping within ${timeoutMs} ms`);
}

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const server = spawnTs('model-artifacts/server/main.ts', ['serve'], {
  PORT: String(port),
  HOST: '127.0.0.1',
});
server.stdout?.resume();
let serverErr = '';
server.stderr?.on('data', (d: Buffer) => {
  serverErr = (serverErr + d.toString()).slice(-2000);
});
const pid = server.pid as number;
const sagemaker = new SageMakerRuntimeClient({
  endpoint: url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
});
try {
  await waitForPing(url, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${serverErr}`);
  });
  const { session, manifest } = await loadModel(
    join(REPO_ROOT, 'model-artifacts/models', model),
    readSessionEnv(),
  );
  // The wire the model's manifest prefers, as the pipeline chooses it (the binary tensors).
  const client = createInferenceClient({
    sagemaker,
    endpointName: (m) => m,
    contentTypes: () => manifestContentTypes(manifest),
  });
  const cases = [
    { label: 'batch 1, sequential', batch: 1, concurrency: 1, rawBatch: 1 },
    { label: 'batch 16, sequential', batch: 16, concurrency: 1, rawBatch: 16 },
    {
      label: `${CONCURRENCY} concurrent single-item (vs raw batch 32)`,
      batch: 1,
      concurrency: CONCURRENCY,
      rawBatch: 32,
    },
  ];
  console.log(
    `Inference server in a process of its own, ${model} over ${client.contentType(model)}, medians of ${REPS} × ${MS} ms:\n`,
  );
  console.log(
    '| requests | raw items/s | served items/s | ratio | CPU ms/item: raw | server process | client process |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const singles = Array.from({ length: Math.max(1, c.concurrency) }, (_, i) =>
      makeInputs(model, c.batch, i),
    );
    const feeds = toOrt(makeInputs(model, c.rawBatch));
    let next = 0;
    const served = () => client.invoke(model, singles[next++ % singles.length] as Record<string, Tensor>);
    const raw = () => session.run(feeds);
    for (let i = 0; i < 20; i++) await Promise.all([raw(), served()]);
    const rows: { raw: Sample; served: Sample; serverCpu: number }[] = [];
    for (let r = 0; r < REPS; r++) {
      const rawSample = await rate(raw, c.rawBatch, MS);
      const before = processCpuMs(pid);
      const servedSample =
        c.concurrency > 1
          ? await concurrentRate(served, c.batch, c.concurrency, MS)
          : await rate(served, c.batch, MS);
      rows.push({
        raw: rawSample,
        served: servedSample,
        serverCpu: (processCpuMs(pid) - before) / servedSample.items,
      });
    }
    const m = (f: (row: (typeof rows)[number]) => number) => median(rows.map(f));
    const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
    console.log(
      `| ${c.label} | ${fmt(m((r) => r.raw.itemsPerSec))} | ${fmt(m((r) => r.served.itemsPerSec))} | ` +
        `${m((r) => r.served.itemsPerSec / r.raw.itemsPerSec).toFixed(3)} | ${fmt(m((r) => r.raw.cpuMsPerItem))} | ` +
        `${fmt(m((r) => r.serverCpu))} | ${fmt(m((r) => r.served.cpuMsPerItem))} |`,
    );
  }
  await session.release();
} finally {
  sagemaker.destroy();
  server.kill('SIGTERM');
}
