/**
 * `npm start -- [--json] <file|dir>...` — moderates local files through the full pipeline on the
 * embedded local stack (local/stack.ts) and prints one verdict per input.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { ENV } from '#shared/contracts/env.ts';
import { errorVerdict, type Verdict } from '#shared/domain/verdict.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';

// stdout carries verdicts and nothing else: everything else the process prints (SDK warnings,
// emulator chatter, logs) is sent to stderr before any of it loads.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const USAGE = `usage: npm start -- [options] [file|dir ...]

Moderates local files (text, images, audio, video, post manifests) through the full pipeline on embedded
emulators (S3, SQS, DynamoDB, SageMaker Runtime) and prints one verdict per input.
With no inputs, moderates the bundled samples/ folder.

options:
  --json             one JSON verdict per line on stdout, nothing else there
  --policy <name>    policy preset: balanced (default), strict, lenient
  --data-dir <dir>   keep emulator data here (default: a temporary folder, removed afterwards)
  --timeout <s>      give up waiting for verdicts after this many seconds (default 300)
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

function localError(object: string, code: string, message: string): Verdict {
  return errorVerdict({ object, policyVersion: 'none' }, code, message);
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
    },
  });
  if (values.help) {
    writeStdout(`${USAGE}\n`);
    return 0;
  }
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

  if (values.verbose) process.env[ENV.logLevel] = 'INFO';
  const { startLocalStack } = await import('#local/stack.ts');
  progress(`starting local stack (S3, SQS, DynamoDB, inference server) for ${toUpload.length} file(s)…`);
  const stack = await startLocalStack({
    dataDir: values['data-dir'],
    policyName: values.policy,
    onError: (err) => progress(`pipeline: ${(err as Error).message}`),
  });
  try {
    // Upload under one run folder, keeping the inputs' relative layout so a post's media refs resolve.
    const base = toUpload.length ? commonDir(toUpload) : '';
    const runId = new Date().toISOString().replace(/[:.]/g, '-');
    const refs = new Map<string, ObjectRef>();
    const started = performance.now();
    for (let i = 0; i < toUpload.length; i += 8) {
      await Promise.all(
        toUpload.slice(i, i + 8).map(async (file) => {
          const key = `${runId}/${relative(base, file).split(sep).join('/')}`;
          refs.set(file, await stack.upload(key, await readFile(file)));
        }),
      );
    }

    let lastReport = 0;
    const verdicts = await stack.waitForVerdicts([...refs.values()], {
      timeoutMs: Number(values.timeout) * 1000,
      onProgress: (done, total) => {
        if (Date.now() - lastReport < 2000 || done === total) return;
        progress(`moderated ${done}/${total}…`);
        lastReport = Date.now();
      },
    });
    for (const [file, ref] of refs) {
      const verdict = verdicts.get(ref);
      if (verdict) results.set(file, { ...verdict, object: relative(process.cwd(), file) || file });
    }
    for (const file of files) {
      if (!results.has(file))
        results.set(file, localError(file, 'TIMEOUT', `no verdict within ${values.timeout} s`));
    }
    progress(`moderated ${files.length} file(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await stack.stop();
  }

  const ordered = files.map((f) => results.get(f)!);
  if (values.json) for (const v of ordered) writeStdout(`${JSON.stringify(v)}\n`);
  else writeStdout(`${formatTable(ordered)}\n`);
  return ordered.some((v) => v.error?.code === 'TIMEOUT') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
