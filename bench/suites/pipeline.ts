/**
 * The local pipeline end to end (`startLocalStack`): S3 put → s3rver event → fauxqs → the real
 * handler → the inference server → dynalite, timed from just before the PutObject until the stack
 * sees DynamoDB answer the write that stores the verdict (`waitForVerdicts` takes the verdict from
 * that write, local/table-writes.ts, rather than reading it back). Everything runs in this one
 * process, as `npm start` does (S3 and the functions in threads of their own, local/thread.ts), so
 * the process's RSS high-water mark is the pipeline's peak memory.
 *
 * Latency is measured one upload at a time (p50/p99); throughput with a burst of uploads sent
 * together (items per second from the first PutObject to the last verdict). The target lines come
 * after a warm-up of bursts (1,000 texts, 200 images), as a stack that has been serving a while: the
 * pipeline's JavaScript is still being optimised by V8 for its first few hundred uploads, which
 * made the text p50 fall from ~21 to ~13 ms (docs/PERFORMANCE.md, "Warm-up"). What the first users
 * after a start wait for is its own line, `pipeline/text/one-at-a-time-after-start`. Last,
 * `npm start -- --json` runs in processes of its own: on one text (the quick start's wait: start-up,
 * a verdict, shutdown), then on a folder of generated texts (10,000; 50 with --quick;
 * BENCH_PIPELINE_FOLDER_FILES to choose): wall time, every verdict accounted for, and that
 * process's peak RSS.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '#bench/lib/child.ts';
import { emit, progress, suiteArgs } from '#bench/lib/line.ts';
import { median, quantile, round } from '#bench/lib/measure.ts';
import { makeJpeg } from '#bench/lib/media.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';

const { quick } = suiteArgs();
/** Least pause between the waiter's reads (its first read, writes that are not puts). */
const POLL_MS = 5;
/** Issue 16's targets: one-at-a-time text p50, and burst throughput. */
const TARGET_P50_MS = { text: 20, image: 150 } as const;
const TARGET_BURST_PER_SEC = { text: 400, image: 60 } as const;
const PLAN = quick
  ? {
      warmup: 2,
      warmupBurst: { text: 10, image: 4 },
      sequential: { text: 4, image: 3 },
      burst: { text: 10, image: 4 },
      folder: 50,
      cliRuns: 1,
    }
  : {
      /** Uploads of each kind one at a time right after the start (first loads, first connections). */
      warmup: 6,
      /** Then bursts until V8 has optimised the pipeline's hot paths (the p50 settles; see above). */
      warmupBurst: { text: 1000, image: 200 },
      sequential: { text: 40, image: 25 },
      burst: { text: 100, image: 30 },
      folder: 10_000,
      cliRuns: 3,
    };
const FOLDER_TARGET_S = 60;
/** How many files the folder line uses instead (a slow machine, a quick look): the line's name says it. */
const folderFiles = Number(process.env.BENCH_PIPELINE_FOLDER_FILES) || PLAN.folder;

type Kind = 'text' | 'image';

const SENTENCES = [
  'Thank you so much for the lovely dinner last night, the soup was delicious.',
  'You are a worthless idiot and everyone at school laughs at you behind your back.',
  'The meeting has been moved to Thursday at three; please bring the quarterly figures.',
  'Shut up, you pathetic loser, nobody asked for your stupid opinion.',
  'Our team won the match on Saturday after a penalty in the last minute of extra time.',
];

let counter = 0;
async function makeUpload(kind: Kind, jpegs: Uint8Array[]): Promise<{ key: string; body: Uint8Array }> {
  const n = counter++;
  if (kind === 'text') {
    const text = `${SENTENCES[n % SENTENCES.length]} ${SENTENCES[(n + 2) % SENTENCES.length]} (message ${n})`;
    return { key: `bench/${n}.txt`, body: Buffer.from(text) };
  }
  return { key: `bench/${n}.jpg`, body: jpegs[n % jpegs.length] as Uint8Array };
}

/** Uploads one object and waits for its verdict; resolves to the milliseconds it took. */
async function timeOne(stack: LocalStack, kind: Kind, jpegs: Uint8Array[]): Promise<number> {
  const { key, body } = await makeUpload(kind, jpegs);
  const started = performance.now();
  const ref = await stack.upload(key, body);
  const found = await stack.waitForVerdicts([ref], { timeoutMs: 30_000, pollMs: POLL_MS });
  const verdict = found.get(ref);
  if (!verdict) throw new Error(`no verdict for ${key} within 30 s`);
  if (verdict.decision === 'error') throw new Error(`${key}: error verdict ${JSON.stringify(verdict.error)}`);
  return performance.now() - started;
}

async function burst(
  stack: LocalStack,
  kind: Kind,
  count: number,
  jpegs: Uint8Array[],
): Promise<{ itemsPerSec: number; latencies: number[]; cpuMsPerItem: number }> {
  const uploads = await Promise.all(Array.from({ length: count }, () => makeUpload(kind, jpegs)));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const startedAt = new Map<ObjectRef, number>();
  const refs = await Promise.all(
    uploads.map(async ({ key, body }) => {
      const t = performance.now();
      const ref = await stack.upload(key, body);
      startedAt.set(ref, t);
      return ref;
    }),
  );
  const latencies: number[] = [];
  const found = await stack.waitForVerdicts(refs, {
    timeoutMs: 120_000,
    pollMs: POLL_MS,
    onVerdict: (ref) => latencies.push(performance.now() - (startedAt.get(ref) ?? started)),
  });
  if (found.size !== count)
    throw new Error(`burst of ${count} ${kind}: only ${found.size} verdicts in 120 s`);
  const { user, system } = process.cpuUsage(cpu);
  return {
    itemsPerSec: count / ((performance.now() - started) / 1000),
    latencies,
    cpuMsPerItem: (user + system) / 1000 / count,
  };
}

/** `count` uploads, each after the previous one's verdict: the line's figures, and the p50 unrounded. */
async function oneAtATime(stack: LocalStack, kind: Kind, count: number, jpegs: Uint8Array[]) {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) latencies.push(await timeOne(stack, kind, jpegs));
  const p50 = quantile(latencies, 0.5);
  const line = {
    itemsPerSec: round(latencies.length / ((performance.now() - started) / 1000)),
    p50Ms: round(p50),
    p99Ms: round(quantile(latencies, 0.99)),
    samples: latencies.length,
    pollMs: POLL_MS,
  };
  return { line, p50 };
}

async function main(): Promise<void> {
  progress('pipeline: starting the local stack');
  const stack = await startLocalStack({
    // As deployed by default (KEEP_INPUTS=none on AWS): kept inputs would add a put per verdict.
    keepInputs: 'none',
    onError: (err) => progress(`pipeline error: ${String(err)}`),
  });
  try {
    const jpegs = await Promise.all([1, 2, 3, 4].map(makeJpeg));
    progress('pipeline: warm-up after the start');
    for (let i = 0; i < PLAN.warmup; i++) {
      await timeOne(stack, 'text', jpegs);
      await timeOne(stack, 'image', jpegs);
    }
    progress(`pipeline: text: ${PLAN.sequential.text} uploads one at a time, right after the start`);
    const afterStart = await oneAtATime(stack, 'text', PLAN.sequential.text, jpegs);
    emit({
      name: 'pipeline/text/one-at-a-time-after-start',
      ...afterStart.line,
      note: 'the first uploads after the stack starts, before V8 has optimised the pipeline (no target)',
    });
    for (const kind of ['text', 'image'] as const) {
      progress(`pipeline: ${kind}: warm-up burst of ${PLAN.warmupBurst[kind]} uploads`);
      await burst(stack, kind, PLAN.warmupBurst[kind], jpegs);
    }
    const warmup = `${PLAN.warmupBurst.text} texts and ${PLAN.warmupBurst.image} images in bursts`;
    for (const kind of ['text', 'image'] as const) {
      progress(`pipeline: ${kind}: ${PLAN.sequential[kind]} uploads one at a time`);
      const sequential = await oneAtATime(stack, kind, PLAN.sequential[kind], jpegs);
      emit({
        name: `pipeline/${kind}/one-at-a-time`,
        ...sequential.line,
        warmup,
        target: `p50 <= ${TARGET_P50_MS[kind]} ms`,
        met: sequential.p50 <= TARGET_P50_MS[kind],
      });

      progress(`pipeline: ${kind}: burst of ${PLAN.burst[kind]} uploads`);
      const b = await burst(stack, kind, PLAN.burst[kind], jpegs);
      emit({
        name: `pipeline/${kind}/burst`,
        itemsPerSec: round(b.itemsPerSec),
        p50Ms: round(quantile(b.latencies, 0.5)),
        p99Ms: round(quantile(b.latencies, 0.99)),
        samples: b.latencies.length,
        // Every thread of the process (the stack runs in it): steadier than items/s on a shared machine.
        cpuMsPerItem: round(b.cpuMsPerItem),
        pollMs: POLL_MS,
        warmup,
        target: `>= ${TARGET_BURST_PER_SEC[kind]} items/s`,
        met: b.itemsPerSec >= TARGET_BURST_PER_SEC[kind],
      });
    }
    emit({
      name: 'pipeline/peak-rss',
      itemsPerSec: null,
      // ru_maxrss is in kilobytes on Linux.
      value: round(process.resourceUsage().maxRSS / 1024),
      unit: 'MiB',
      note: 'RSS high-water mark of the whole local pipeline process (emulators, inference server, handler)',
    });
  } finally {
    await stack.stop();
  }
}

/** `count` short texts, each different (the sentences above, numbered), in a new temporary folder. */
async function writeTexts(count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-folder-'));
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, j) => {
        const n = i + j;
        const text = `${SENTENCES[n % SENTENCES.length]} ${SENTENCES[(n * 7 + 3) % SENTENCES.length]} (text ${n})`;
        return writeFile(join(dir, `${String(n).padStart(5, '0')}.txt`), text);
      }),
    );
  }
  return dir;
}

/** The CLI as a user runs it, on a folder: wall time from the command's start to its exit, and its output. */
async function runCli(dir: string): Promise<{ wallS: number; stdout: string; stderr: string }> {
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'cli/moderate.ts', '--json', '--timeout', '600', dir],
    { cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  return { wallS: (performance.now() - started) / 1000, stdout, stderr };
}

/** One verdict per file, none an error, or the line is not worth printing. */
function checkVerdicts(stdout: string, count: number): void {
  const verdicts = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { object: string; decision: string });
  const objects = new Set(verdicts.map((v) => v.object));
  const errors = verdicts.filter((v) => v.decision === 'error').length;
  if (verdicts.length !== count || objects.size !== count || errors) {
    throw new Error(
      `folder of ${count}: ${verdicts.length} verdicts, ${objects.size} files, ${errors} errors`,
    );
  }
}

/**
 * `npm start` on one text, as the quick start runs it: Node and tsx loading, the stack starting,
 * one verdict, the stack stopping. What a user waits for on every command; the median of a few runs.
 */
async function oneTextRun(): Promise<void> {
  progress(`pipeline: npm start -- --json <one text>, ${PLAN.cliRuns} times`);
  const dir = await writeTexts(1);
  try {
    const walls: number[] = [];
    for (let i = 0; i < PLAN.cliRuns; i++) {
      const { wallS, stdout } = await runCli(dir);
      checkVerdicts(stdout, 1);
      walls.push(wallS);
    }
    emit({
      name: 'pipeline/cli/one-text',
      itemsPerSec: null,
      value: round(median(walls)),
      unit: 's',
      runs: walls.length,
      note: 'wall time of `npm start -- --json <one text>`: start-up, one verdict, shutdown',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI on a folder, as a user runs it: wall time from the command's start (Node, the stack, every
 * upload and verdict, the shutdown), one verdict per file checked, and the peak RSS it reports.
 */
async function folderRun(count: number): Promise<void> {
  progress(`pipeline: npm start -- --json <folder of ${count} texts>`);
  const dir = await writeTexts(count);
  try {
    const { wallS, stdout, stderr } = await runCli(dir);
    checkVerdicts(stdout, count);
    const rss = /peak RSS (\d+) MiB/.exec(stderr)?.[1];
    emit({
      name: `pipeline/text/folder-${count}`,
      itemsPerSec: round(count / wallS),
      value: round(wallS),
      unit: 's',
      peakRssMiB: rss === undefined ? null : Number(rss),
      files: count,
      // The target is for 10,000 files; a smaller folder is mostly start-up and gets none.
      ...(count === 10_000 && { target: `<= ${FOLDER_TARGET_S} s`, met: wallS <= FOLDER_TARGET_S }),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
await oneTextRun();
await folderRun(folderFiles);
