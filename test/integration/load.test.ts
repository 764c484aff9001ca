/** The bounded load test (`npm run load`) at a small size: it runs, stops by itself, and loses nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadReport, percentile, runLoad } from '#local/load.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';

let stack: LocalStack;
let report: LoadReport;

beforeAll(async () => {
  stack = await startLocalStack();
  report = await runLoad(stack, { count: 24, ratePerSecond: 12, timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('load test', () => {
  it('gets a verdict for every upload of the mix (lost = 0)', () => {
    expect(report.uploaded).toBe(24);
    expect(report.verdicts).toBe(24);
    expect(report.lost).toBe(0);
    expect(report.errorCodes).toEqual({});
  });

  it('reports throughput and ordered latency percentiles', () => {
    expect(report.throughputPerSecond).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
    expect(report.latencyMs.p99).toBeLessThanOrEqual(report.latencyMs.max);
    // 24 uploads at 12/s take about 2 s to start: the run is bounded by the schedule, not open-ended.
    expect(report.durationMs).toBeGreaterThan(1_900);
  });

  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });
});
