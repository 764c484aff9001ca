/**
 * `npm run bench [-- --json] [--quick] [--write] [--only inference,pipeline,lambda,matching,api]`
 *
 * Runs each suite in a fresh Node process (so the pipeline's peak RSS is its own and no suite
 * warms another's caches), prints one result per line — JSON objects with `--json`, nothing else
 * on stdout — and with `--write` puts the results and the machine they came from into
 * BENCHMARKS.md. Targets missed are reported, not failed: the exit status is non-zero only when a
 * suite crashes or prints a malformed line.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, spawnTs } from './lib/child.ts';
import { type BenchLine, formatJsonLine, LINE_TAG, lineProblems } from './lib/line.ts';
import { describeMachine, humanLine, markdown, spliceResults } from './lib/report.ts';

const SUITES = ['lambda', 'inference', 'pipeline', 'matching', 'api'] as const;
type Suite = (typeof SUITES)[number];

function parseArgs(argv: string[]) {
  const only = argv.find((a) => a.startsWith('--only'));
  const onlyValue = only?.includes('=')
    ? only.split('=')[1]
    : only
      ? argv[argv.indexOf(only) + 1]
      : undefined;
  const suites = onlyValue ? (onlyValue.split(',') as Suite[]) : [...SUITES];
  for (const s of suites) {
    if (!SUITES.includes(s))
      throw new Error(`unknown suite ${JSON.stringify(s)}; suites: ${SUITES.join(', ')}`);
  }
  const known = new Set([
    '--json',
    '--quick',
    '--write',
    ...(only ? [only] : []),
    ...(onlyValue && !only?.includes('=') ? [onlyValue] : []),
  ]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length)
    throw new Error(`unknown arguments ${unknown.join(' ')}; use --json --quick --write --only <suites>`);
  return {
    json: argv.includes('--json'),
    quick: argv.includes('--quick'),
    write: argv.includes('--write'),
    suites,
  };
}

/** Runs one suite; resolves with its lines once the process has exited cleanly. */
function runSuite(suite: Suite, quick: boolean, onLine: (line: BenchLine) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnTs(`bench/suites/${suite}.ts`, quick ? ['--quick'] : [], {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      NODE_NO_WARNINGS: '1',
    });
    child.stdin?.end();
    const problems: string[] = [];
    let stderrTail = '';
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (!text.startsWith(LINE_TAG)) return;
      try {
        const line = JSON.parse(text.slice(LINE_TAG.length)) as BenchLine;
        const bad = lineProblems(line);
        if (bad.length) problems.push(`${line.name}: ${bad.join('; ')}`);
        else onLine(line);
      } catch (err) {
        problems.push(`unparseable line ${text}: ${(err as Error).message}`);
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      if (text.startsWith('bench: ')) process.stderr.write(`${text}\n`);
      else stderrTail = `${stderrTail}${text}\n`.slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && problems.length === 0) resolve();
      else
        reject(
          new Error(
            `suite ${suite} ${code === 0 ? 'printed malformed lines' : `exited with ${code ?? signal}`}: ${problems.join('\n')}\n${stderrTail}`,
          ),
        );
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const started = performance.now();
  const lines: BenchLine[] = [];
  process.stderr.write(
    `bench: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadStart}\n`,
  );
  for (const suite of args.suites) {
    await runSuite(suite, args.quick, (line) => {
      lines.push(line);
      process.stdout.write(`${args.json ? formatJsonLine(line) : humanLine(line)}\n`);
    });
  }
  machine.loadEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const seconds = (performance.now() - started) / 1000;
  const targets = lines.filter((l) => l.target);
  process.stderr.write(
    `bench: done in ${seconds.toFixed(0)} s; targets met ${targets.filter((l) => l.met).length}/${targets.length}` +
      `${
        targets.some((l) => !l.met)
          ? ` (missed: ${targets
              .filter((l) => !l.met)
              .map((l) => l.name)
              .join(', ')})`
          : ''
      }\n`,
  );
  if (args.write) {
    const path = join(REPO_ROOT, 'BENCHMARKS.md');
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
    await writeFile(path, spliceResults(existing, markdown(lines, machine, command)));
    process.stderr.write(`bench: wrote ${path}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
