/**
 * `npm start -- [--json] <file|dir>...` — moderates local files through the full pipeline on the
 * embedded local stack (local/stack.ts) and prints one verdict per input.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalStack } from '#local/stack.ts';
import { ENV } from '#shared/contracts/env.ts';
import type { ErrorCode } from '#shared/domain/errors.ts';
import { errorVerdict, type Verdict } from '#shared/domain/verdict.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';
import { startHardDeadline } from './deadline.ts';
import { MATCH_LIST_OPTIONS, MATCH_LIST_USAGE, matchListsOrReport } from './match-lists.ts';
import { startRunProgress } from './progress.ts';

// stdout carries verdicts and nothing else: everything else the process prints (SDK warnings,
// emulator chatter, logs) is sent to stderr before any of it loads.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

/**
 * Resolves once `text` has been handed to the OS. stdout to a pipe is asynchronous in Node: a
 * `process.exit` right after a large write keeps only what the pipe took at once (64 KiB), which cut
 * the verdicts of a 10,000-file run piped into another program.
 */
function writeVerdicts(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    writeStdout(text, (err) => (err ? reject(err) : resolve()));
  });
}

const USAGE = `usage: npm start -- [options] [file|dir ...]

Moderates local files (text, images, audio, video, post manifests) through the full pipeline on embedded
emulators (S3, SQS, DynamoDB, SageMaker Runtime) and prints one verdict per input.
With no inputs, moderates the bundled samples/ folder.

options:
  --json             one JSON verdict per line on stdout, nothing else there
  --policy <name>    policy preset: balanced (default), strict, lenient
  --data-dir <dir>   keep emulator data here (default: in memory, large uploads in a temporary folder)
                     (with the model inputs of each scored verdict, for npm run replay -- --models;
                     KEEP_INPUTS=text keeps only texts, KEEP_INPUTS=none nothing; without
                     --data-dir nothing is kept, since no replay could read it)
  --timeout <s>      hard deadline, counted from the start (default 300): then the verdicts so far are
                     printed, each missing one as a TIMEOUT error verdict, and the command exits (status 1)
${MATCH_LIST_USAGE}
  --verbose          pipeline logs on stderr
  -h, --help         this text`;

const DEFAULT_INPUT = join(import.meta.dirname, '..', 'samples');

async function walk(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name));
  return (await Promise.all(entries.map((e) => walk(join(path, e.name))))).flat();
}

function commonDir(paths: string[]): string {
  const split = paths.map((p) => dirname(p).split(sep));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

function localError(object: string, code: ErrorCode, message: string): Verdict {
  return errorVerdict({ object, policyVersion: 'none' }, code, message);
}

/**
 * How long the stack gets to shut down before the process exits anyway (the emulators run in this
 * process, so exiting stops them): after the deadline, work in flight is not waited for.
 */
const STOP_GRACE_MS = { deadline: 1_000, normal: 10_000 };
/** How long the stack's threads get to end themselves after that (local/thread.ts, `exit`). */
const ABANDON_GRACE_MS = 1_000;
/** After the deadline: how long the watchdog waits for a busy main thread before it prints and kills. */
const WATCHDOG_GRACE_MS = 1_500;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A file as verdicts name it: relative to the working directory. */
const displayName = (file: string) => relative(process.cwd(), file) || file;

/** The verdicts in input order, a TIMEOUT error verdict for each file that has none yet. */
function withTimeouts(files: string[], results: Map<string, Verdict>, timeoutS: number): Verdict[] {
  return files.map(
    (f) =>
      results.get(f) ??
      localError(displayName(f), 'TIMEOUT', `no verdict within the ${timeoutS} s deadline (--timeout)`),
  );
}

function render(verdicts: Verdict[], json: boolean): string {
  return json ? verdicts.map((v) => `${JSON.stringify(v)}\n`).join('') : `${formatTable(verdicts)}\n`;
}

function formatTable(rows: Verdict[]): string {
  const lines = rows.map((v) => {
    const top = Object.entries(v.categories).sort((a, b) => b[1] - a[1])[0];
    // The policy's own reasons when it flagged something, else the highest category.
    const detail =
      v.decision === 'error'
        ? `${v.error?.code}: ${v.error?.message}`
        : v.reasons.length
          ? v.reasons.join('; ')
          : top
            ? `${top[0]} ${top[1].toFixed(2)}`
            : '';
    return [v.decision, v.decision === 'error' ? '-' : v.score.toFixed(2), detail, v.object];
  });
  const header = ['DECISION', 'SCORE', 'WHY', 'FILE'];
  const widths = header.map((h, i) =>
    Math.min(72, Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length))),
  );
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i] ?? 0)))
      .join('  ');
  return [fmt(header), ...lines.map(fmt)].join('\n');
}

/** Files read and uploaded at once: enough to keep the emulators busy, few enough to hold in memory. */
const UPLOADS_IN_FLIGHT = 16;
/** Uploads handed to one `waitForVerdicts`. */
const WAIT_CHUNK = 100;
/**
 * Most uploads without a verdict yet: past it, uploading pauses. Reading and uploading are cheaper
 * than moderating, so without a bound a large folder's uploads would run thousands ahead, the
 * backlog (queued notifications, pending waits) growing in memory and taking CPU from the pipeline.
 */
const MAX_AHEAD = 1_000;

interface UploadHooks {
  keyOf: (file: string) => string;
  /** Each upload done, with the count so far. */
  onUpload: (uploaded: number) => void;
  /** Uploads handed over for waiting, in chunks of `WAIT_CHUNK` (the last one smaller). */
  onChunk: (chunk: { file: string; ref: ObjectRef }[]) => void;
  /** Verdicts found so far. */
  moderated: () => number;
}

/**
 * Reads and uploads the files, `UPLOADS_IN_FLIGHT` at a time (a window, not lock-step groups), at
 * most `MAX_AHEAD` ahead of the verdicts.
 */
async function uploadAll(files: readonly string[], stack: LocalStack, hooks: UploadHooks): Promise<void> {
  let next = 0;
  let uploaded = 0;
  let chunk: { file: string; ref: ObjectRef }[] = [];
  const worker = async () => {
    while (next < files.length) {
      if (uploaded - hooks.moderated() >= MAX_AHEAD) {
        await sleep(50);
        continue;
      }
      const file = files[next++] as string;
      const ref = await stack.upload(hooks.keyOf(file), await readFile(file));
      hooks.onUpload(++uploaded);
      chunk.push({ file, ref });
      if (chunk.length >= WAIT_CHUNK) {
        hooks.onChunk(chunk);
        chunk = [];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOADS_IN_FLIGHT, files.length) }, worker));
  if (chunk.length) hooks.onChunk(chunk);
}

/**
 * How often the watchdog's copy of the output is refreshed: twice a second for a small run, less
 * often for a large one, where each copy is the whole rendered output (10,000 verdicts: ~10 MB).
 */
const refreshMs = (files: number) => Math.max(500, files);

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      policy: { type: 'string', default: 'balanced' },
      'data-dir': { type: 'string' },
      timeout: { type: 'string', default: '300' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...MATCH_LIST_OPTIONS,
    },
  });
  if (values.help) {
    writeStdout(`${USAGE}\n`);
    return 0;
  }
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0 && Number.isFinite(timeoutS))) {
    process.stderr.write(`error: --timeout must be a positive number of seconds, got ${values.timeout}\n`);
    return 2;
  }
  // Banks and term lists are checked whole before anything starts: a bad file loads nothing.
  const matchLists = await matchListsOrReport(values);
  if (!matchLists) return 2;
  const inputs = positionals.length ? positionals : [DEFAULT_INPUT];
  const progress = (msg: string) => process.stderr.write(`${msg}\n`);

  // Each input path → the files it names, in order; a path that doesn't exist gets its verdict now.
  const files: string[] = [];
  const results = new Map<string, Verdict>();
  for (const input of inputs) {
    try {
      files.push(...(await walk(resolve(input))));
    } catch (err) {
      results.set(resolve(input), localError(input, 'OBJECT_NOT_FOUND', (err as Error).message));
      files.push(resolve(input));
    }
  }
  const toUpload = files.filter((f) => !results.has(f));
  const output = () => render(withTimeouts(files, results, timeoutS), values.json);

  // The emulators' data: the caller's folder, or one of ours that goes however the run ends.
  const ownDataDir = values['data-dir'] ? undefined : await mkdtemp(join(tmpdir(), 'moderation-'));
  const removeOwnData = () => ownDataDir && rmSync(ownDataDir, { recursive: true, force: true });
  // performance.now() counts from the process start, so --timeout bounds the command's wall time.
  const deadline = startHardDeadline({
    atMs: timeoutS * 1000,
    watchdogGraceMs: WATCHDOG_GRACE_MS,
    // The stack's stop and abandon graces, and room for a loaded machine to finish exiting once it has printed.
    exitGraceMs: STOP_GRACE_MS.deadline + ABANDON_GRACE_MS + 3000,
    output: output(),
    cleanup: ownDataDir ? [ownDataDir] : [],
  });
  // The watchdog's copy of the output follows the verdicts (refreshMs).
  let changed = false;
  const refresh = setInterval(() => {
    if (changed) deadline.fallback(output());
    changed = false;
  }, refreshMs(files.length)).unref();

  let stack: LocalStack | undefined;
  let timedOut = false;
  /** Stops the progress bar (once: cli-progress ignores a second stop). */
  let stopBar = () => {};
  const started = performance.now();
  const work = (async () => {
    if (values.verbose) process.env[ENV.logLevel] = 'INFO';
    const { startLocalStack } = await import('#local/stack.ts');
    progress(`starting local stack (S3, SQS, DynamoDB, inference server) for ${toUpload.length} file(s)…`);
    stack = await startLocalStack({
      dataDir: ownDataDir ?? values['data-dir'],
      // Ours goes when the command ends: the emulators need not write their tables and objects to it.
      persistData: !ownDataDir,
      // Kept inputs serve a later replay of the data folder; ours is gone when the command ends.
      keepInputs: ownDataDir ? 'none' : undefined,
      policyName: values.policy,
      matchLists,
      onError: (err) => progress(`pipeline: ${(err as Error).message}`),
    });
    // Upload under one run folder, keeping the inputs' relative layout so a post's media refs resolve.
    const base = toUpload.length ? commonDir(toUpload) : '';
    const runId = new Date().toISOString().replace(/[:.]/g, '-');
    const bar = startRunProgress(toUpload.length);
    stopBar = () => bar.stop();
    let uploaded = 0;
    let moderated = 0;
    const waits: Promise<unknown>[] = [];
    try {
      await uploadAll(toUpload, stack, {
        keyOf: (file) => `${runId}/${relative(base, file).split(sep).join('/')}`,
        onUpload: (count) => {
          uploaded = count;
          bar.update(moderated, uploaded);
        },
        moderated: () => moderated,
        onChunk: (chunk) => {
          const fileOf = new Map<ObjectRef, string>();
          for (const { file, ref } of chunk) fileOf.set(ref, file);
          // Each chunk is waited for from the moment it is uploaded, so verdicts (and the bar) come
          // while later files are still being read and uploaded.
          waits.push(
            (stack as LocalStack).waitForVerdicts([...fileOf.keys()], {
              timeoutMs: deadline.remaining(),
              onVerdict: (ref, verdict) => {
                const file = fileOf.get(ref);
                if (file) results.set(file, { ...verdict, object: displayName(file) });
                changed = true;
                bar.update(++moderated, uploaded);
              },
            }),
          );
        },
      });
      await Promise.all(waits);
    } finally {
      stopBar();
    }
  })();
  try {
    // Whatever the pipeline is doing (a decode that will not stop, a poll that never returns), the
    // deadline ends the wait: print what there is, give the stack a moment to stop, and go.
    timedOut = await Promise.race([work.then(() => false), deadline.reached.then(() => true)]);
    if (timedOut) work.catch(() => undefined);
    stopBar();
    const verdicts = withTimeouts(files, results, timeoutS);
    const missing = verdicts.filter((v) => v.error?.code === 'TIMEOUT').length;
    const seconds = (performance.now() - started) / 1000;
    // ru_maxrss is in kilobytes on Linux: the whole local pipeline's high-water mark (it runs in this process).
    const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    progress(
      `moderated ${files.length - missing} of ${files.length} file(s) in ${seconds.toFixed(1)} s ` +
        `(${((files.length - missing) / seconds).toFixed(1)}/s, peak RSS ${peakRssMiB} MiB)` +
        (missing ? `; ${missing} had no verdict by the ${timeoutS} s deadline` : ''),
    );
    if (deadline.claimOutput()) await writeVerdicts(render(verdicts, values.json));
    // Whatever is still in flight belongs to an input that already has its TIMEOUT verdict.
    timedOut ||= missing > 0;
    return missing ? 1 : 0;
  } finally {
    clearInterval(refresh);
    deadline.dispose();
    // A stack still starting, or stuck on an upload that will not finish, is abandoned with the process.
    await Promise.race([
      stack?.stop().catch(() => undefined),
      sleep(timedOut ? STOP_GRACE_MS.deadline : STOP_GRACE_MS.normal),
    ]);
    // Threads still at work end themselves before the process exits: exiting around a thread busy
    // in native code (the VAD's onnxruntime) aborts the process, and the exit status with it.
    await Promise.race([stack?.abandon().catch(() => undefined), sleep(ABANDON_GRACE_MS)]);
    removeOwnData();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
