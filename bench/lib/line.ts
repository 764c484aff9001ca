/**
 * One benchmark result: what `npm run bench -- --json` prints, one JSON object per line. Every line
 * has `name` and `itemsPerSec` (null where the figure is not a throughput: sizes, times, memory).
 */
export interface BenchLine {
  /** `<suite>/<subject>/<variant>`, e.g. `inference/image-nsfw/dynamic-batch/c64`. */
  name: string;
  itemsPerSec: number | null;
  /** The same work done the reference way, measured in the same run. */
  baselineItemsPerSec?: number;
  /** itemsPerSec / baselineItemsPerSec (median of back-to-back pairs). */
  ratio?: number;
  /** End-to-end latency, upload to verdict in DynamoDB. */
  p50Ms?: number;
  p99Ms?: number;
  /** Non-throughput figures (bytes, milliseconds, MiB) and their unit. */
  value?: number;
  unit?: string;
  /** The target this line is checked against, in words, and whether this run met it. */
  target?: string;
  met?: boolean;
  /** Anything else worth keeping (batch sizes formed, sample counts, …). */
  [extra: string]: unknown;
}

/** Serialises a line for the --json output (one line, no spaces to trip line-based tools). */
export function formatJsonLine(line: BenchLine): string {
  return JSON.stringify(line);
}

/** Checks that a value is a well-formed line; returns the problems found (none: valid). */
export function lineProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.name !== 'string' || v.name === '') problems.push('name must be a non-empty string');
  if (!(v.itemsPerSec === null || (typeof v.itemsPerSec === 'number' && v.itemsPerSec > 0))) {
    problems.push('itemsPerSec must be a positive number or null');
  }
  const numbers = ['baselineItemsPerSec', 'ratio', 'p50Ms', 'p99Ms', 'value'] as const;
  for (const key of numbers) {
    if (v[key] !== undefined && !(typeof v[key] === 'number' && Number.isFinite(v[key]))) {
      problems.push(`${key} must be a finite number`);
    }
  }
  if ((v.baselineItemsPerSec === undefined) !== (v.ratio === undefined)) {
    problems.push('baselineItemsPerSec and ratio come together');
  }
  if ((v.p50Ms === undefined) !== (v.p99Ms === undefined)) problems.push('p50Ms and p99Ms come together');
  if (typeof v.p50Ms === 'number' && typeof v.p99Ms === 'number' && v.p99Ms < v.p50Ms) {
    problems.push('p99Ms is below p50Ms');
  }
  if (v.met !== undefined && typeof v.met !== 'boolean') problems.push('met must be a boolean');
  if (v.met !== undefined && typeof v.target !== 'string') problems.push('met needs a target');
  return problems;
}

/** What a suite child process prints on stdout: one line per result, tagged so stray output can't pass. */
export const LINE_TAG = 'BENCH_LINE ';

/** Called by suites to hand a result to the runner. */
export function emit(line: BenchLine): void {
  process.stdout.write(`${LINE_TAG}${JSON.stringify(line)}\n`);
}

/** Progress for the person watching (stderr, passed through by the runner). */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Parses the common suite flags. */
export function suiteArgs(argv: readonly string[] = process.argv.slice(2)): { quick: boolean } {
  return { quick: argv.includes('--quick') };
}
