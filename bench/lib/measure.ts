/**
 * Measurement helpers shared by the bench suites. The machine is shared and noisy, so every figure
 * is a median of several time-boxed repetitions taken after a warm-up, and a ratio against a
 * baseline is the median of ratios of back-to-back pairs (both sides see the same load).
 */

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Quantile by linear interpolation between closest ranks (q in [0, 1]). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Rounds to `digits` significant digits (for readable output, not for computation). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** One time-boxed measurement: throughput, and CPU time of this whole process per item. */
export interface Sample {
  /** Items done in the measurement. */
  items: number;
  itemsPerSec: number;
  /** User + system CPU of every thread of the process (ONNX Runtime's pool included), per item. */
  cpuMsPerItem: number;
}

function sample(items: number, started: number, cpu: NodeJS.CpuUsage): Sample {
  const used = process.cpuUsage(cpu);
  return {
    items,
    itemsPerSec: items / ((performance.now() - started) / 1000),
    cpuMsPerItem: (used.user + used.system) / 1000 / items,
  };
}

/**
 * Throughput of `call` run back to back for at least `ms` milliseconds and `minCalls` calls.
 */
export async function rate(
  call: () => Promise<unknown>,
  itemsPerCall: number,
  ms: number,
  minCalls = 2,
): Promise<Sample> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (calls < minCalls || performance.now() - started < ms) {
    await call();
    calls++;
  }
  return sample(calls * itemsPerCall, started, cpu);
}

/** Throughput of `concurrency` closed-loop workers, each calling `call` until `ms` pass. */
export async function concurrentRate(
  call: () => Promise<unknown>,
  itemsPerCall: number,
  concurrency: number,
  ms: number,
): Promise<Sample> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - started < ms) {
        await call();
        calls++;
      }
    }),
  );
  return sample(calls * itemsPerCall, started, cpu);
}

export interface Paired {
  /** Median items/s of the measured side. */
  itemsPerSec: number;
  /** Median items/s of the baseline side. */
  baselineItemsPerSec: number;
  /** Median of the per-repetition ratios measured / baseline (wall clock). */
  ratio: number;
  /** Median CPU milliseconds per item of each side. */
  cpuMsPerItem: number;
  baselineCpuMsPerItem: number;
  /** Median of the per-repetition CPU-time ratios measured / baseline (above 1: extra work). */
  cpuRatio: number;
}

/** Runs baseline and measured alternately `reps` times and summarises them. */
export async function paired(
  reps: number,
  baseline: () => Promise<Sample>,
  measured: () => Promise<Sample>,
): Promise<Paired> {
  const b: Sample[] = [];
  const m: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    b.push(await baseline());
    m.push(await measured());
  }
  const at = (list: Sample[], i: number) => list[i] as Sample;
  return {
    itemsPerSec: median(m.map((s) => s.itemsPerSec)),
    baselineItemsPerSec: median(b.map((s) => s.itemsPerSec)),
    ratio: median(m.map((s, i) => s.itemsPerSec / at(b, i).itemsPerSec)),
    cpuMsPerItem: median(m.map((s) => s.cpuMsPerItem)),
    baselineCpuMsPerItem: median(b.map((s) => s.cpuMsPerItem)),
    cpuRatio: median(m.map((s, i) => s.cpuMsPerItem / at(b, i).cpuMsPerItem)),
  };
}
