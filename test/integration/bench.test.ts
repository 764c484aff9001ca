/**
 * `npm run bench -- --json --quick` end to end: every suite runs (Lambda bundle, inference server
 * vs raw session, local pipeline, PDQ matching) and stdout holds only well-formed result lines. Timings are not
 * asserted: the machine is shared.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BenchLine, lineProblems } from '#bench/lib/line.ts';

let stdout = '';
let lines: BenchLine[] = [];

beforeAll(async () => {
  const run = promisify(execFile);
  ({ stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--json', '--quick'], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 170_000,
  }));
  lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as BenchLine);
}, 180_000);

describe('bench --json --quick', () => {
  it('prints one well-formed JSON object per line and nothing else', () => {
    // Assert
    expect(stdout.endsWith('\n')).toBe(true);
    for (const line of lines) expect(lineProblems(line), line.name).toEqual([]);
    expect(new Set(lines.map((l) => l.name)).size).toBe(lines.length);
  });

  it('compares the server with a raw session for both models, including dynamic batching', () => {
    // Assert
    for (const model of ['image-nsfw', 'text-toxicity']) {
      const ours = lines.filter((l) => l.name.startsWith(`inference/${model}/`));
      expect(ours.map((l) => l.name)).toContain(`inference/${model}/server-vs-raw/batch=1`);
      const dynamic = ours.find((l) => l.name.includes('batch') && l.name.includes('dynamic'));
      expect(dynamic?.baselineItemsPerSec).toBeGreaterThan(0);
      expect(dynamic?.ratio).toBeCloseTo(
        (dynamic?.itemsPerSec ?? 0) / (dynamic?.baselineItemsPerSec ?? 1),
        0,
      );
      expect(typeof dynamic?.met).toBe('boolean');
    }
  });

  it('reports end-to-end latency (warm and right after the start) and burst CPU for text and image, the CLI, peak memory and the Lambda bundle', () => {
    // Assert
    for (const modality of ['text', 'image']) {
      const e2e = lines.find((l) => l.name === `pipeline/${modality}/one-at-a-time`);
      expect(e2e?.itemsPerSec).toBeGreaterThan(0);
      expect(e2e?.p99Ms).toBeGreaterThanOrEqual(e2e?.p50Ms ?? Number.POSITIVE_INFINITY);
      const burst = lines.find((l) => l.name === `pipeline/${modality}/burst`);
      expect(burst?.itemsPerSec).toBeGreaterThan(0);
      expect(burst?.cpuMsPerItem).toBeGreaterThan(0);
      // Target lines say what warmed the pipeline before them (--quick: 10 texts and 4 images).
      expect(e2e?.warmup).toBe('10 texts and 4 images in bursts');
      expect(burst?.warmup).toBe(e2e?.warmup);
    }
    // The first texts after the start: a line of its own, with no target.
    const afterStart = lines.find((l) => l.name === 'pipeline/text/one-at-a-time-after-start');
    expect(afterStart).toMatchObject({ samples: 4 });
    expect(afterStart?.p50Ms).toBeGreaterThan(0);
    expect(afterStart).not.toHaveProperty('target');
    expect(lines.find((l) => l.name === 'pipeline/peak-rss')?.value).toBeGreaterThan(50);
    // The CLI in processes of its own: one text (the quick start's wait), then a folder (50 with --quick).
    expect(lines.find((l) => l.name === 'pipeline/cli/one-text')).toMatchObject({ unit: 's', runs: 1 });
    expect(lines.find((l) => l.name === 'pipeline/cli/one-text')?.value).toBeGreaterThan(0);
    expect(lines.find((l) => l.name === 'pipeline/text/folder-50')).toMatchObject({ unit: 's', files: 50 });
    const bundle = lines.find((l) => l.name === 'lambda/moderate/bundle-zipped');
    expect(bundle?.value).toBeGreaterThan(10_000);
    expect(bundle?.value).toBeLessThan(bundle?.bundleBytes as number);
    expect(lines.find((l) => l.name === 'lambda/moderate/cold-init')?.unit).toBe('ms');
  });

  it('compares the PDQ index with a linear scan on both banks and reports memory and hashing cost', () => {
    // Assert
    for (const bank of ['uniform', 'clustered']) {
      const mih = lines.find((l) => l.name === `matching/pdq-index/mih-d31/${bank}`);
      expect(mih?.baselineItemsPerSec).toBeGreaterThan(0);
      expect(mih?.p99Ms).toBeGreaterThanOrEqual(mih?.p50Ms ?? Number.POSITIVE_INFINITY);
      expect(lines.find((l) => l.name === `matching/pdq-index/linear-d31/${bank}`)?.p50Ms).toBeGreaterThan(0);
    }
    expect(lines.find((l) => l.name === 'matching/pdq-index/memory-per-million')?.unit).toBe('MiB');
    expect(lines.find((l) => l.name === 'matching/pdq/640x480')?.p50Ms).toBeGreaterThan(0);
  });
});
