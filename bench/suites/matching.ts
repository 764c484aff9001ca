/**
 * Known-content matching (issue 18): PDQ lookup among a million bank hashes with the
 * multi-index-hashing index (shared/matching/pdq-index.ts) beside a linear scan of the same hashes
 * in the same run, the index's memory per million hashes, and the cost of hashing a photo-sized
 * image (PDQ alone, and decode + MD5 + SHA-256 + PDQ as the pipeline does it).
 *
 * Banks: uniformly random hashes (the index's typical case), and a clustered bank of near-duplicate
 * families (many variants of each banked image, as real banks hold). Queries: half are bank hashes
 * with 0–40 bits flipped (matches at the threshold's edge included), half unrelated (most uploads
 * match nothing). --quick uses 200,000 hashes and no target.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { emit, progress, suiteArgs } from '#bench/lib/line.ts';
import { median, quantile, round } from '#bench/lib/measure.ts';
import { pdqHash } from '#shared/matching/pdq.ts';
import {
  createLinearPdqIndex,
  createPdqIndex,
  type PdqIndex,
  type PdqIndexEntry,
} from '#shared/matching/pdq-index.ts';
import { imageSignals } from '#shared/matching/signals.ts';

const { quick } = suiteArgs();
const BANK = quick ? 200_000 : 1_000_000;
const MAX_DISTANCE = 31;
const TARGET_P99_MS = 5;
const PLAN = quick
  ? { queries: 300, linearQueries: 8, hashRuns: 60, signalRuns: 10 }
  : { queries: 3000, linearQueries: 40, hashRuns: 400, signalRuns: 60 };

/** A deterministic stream of bytes, so runs are comparable. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function flip(hash: string, bits: number, next: () => number): string {
  const b = Buffer.from(hash, 'hex');
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(next() % 256);
  for (const x of chosen) b[x >> 3] = (b[x >> 3] as number) ^ (1 << (x & 7));
  return b.toString('hex');
}

function uniformBank(n: number): PdqIndexEntry[] {
  const bytes = randomBytes(n * 32);
  return Array.from({ length: n }, (_, id) => ({ hash: bytes.toString('hex', id * 32, id * 32 + 32), id }));
}

/** Families of 20 variants within 4–20 bits of a base hash. */
function clusteredBank(n: number, next: () => number): PdqIndexEntry[] {
  const bases = uniformBank(Math.ceil(n / 20));
  return Array.from({ length: n }, (_, id) => ({
    hash: flip((bases[id % bases.length] as PdqIndexEntry).hash, 4 + (next() % 17), next),
    id,
  }));
}

function queriesFor(bank: readonly PdqIndexEntry[], count: number, next: () => number): string[] {
  const unrelated = uniformBank(count);
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? flip((bank[next() % bank.length] as PdqIndexEntry).hash, next() % 41, next)
      : (unrelated[i] as PdqIndexEntry).hash,
  );
}

/**
 * Times each query: wall-clock ms, and this process's CPU ms (on a shared machine the wall-clock
 * tail is mostly time spent waiting for a core), and the total hits.
 */
function timeQueries(
  index: PdqIndex,
  queries: readonly string[],
): { ms: number[]; cpuMs: number[]; hits: number } {
  const ms: number[] = [];
  const cpuMs: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    hits += index.query(q, MAX_DISTANCE).length;
    ms.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
  }
  return { ms, cpuMs, hits };
}

const perSecond = (ms: readonly number[]) => 1000 / (ms.reduce((s, x) => s + x, 0) / ms.length);

function benchBank(label: 'uniform' | 'clustered', bank: PdqIndexEntry[], next: () => number): void {
  progress(`matching: indexing ${bank.length} ${label} hashes`);
  const builtAt = performance.now();
  const index = createPdqIndex(bank);
  const buildMs = performance.now() - builtAt;
  const linear = createLinearPdqIndex(bank);
  const queries = queriesFor(bank, PLAN.queries, next);

  // Warm-up, then the index over every query and the scan over a sample of them.
  timeQueries(index, queries.slice(0, 50));
  timeQueries(linear, queries.slice(0, 2));
  const mih = timeQueries(index, queries);
  const scanSample = queries.slice(0, PLAN.linearQueries);
  const scan = timeQueries(linear, scanSample);
  // The two must agree: the index is exact.
  const sampleHits = scanSample.reduce((s, q) => s + index.query(q, MAX_DISTANCE).length, 0);
  if (sampleHits !== scan.hits) throw new Error(`index found ${sampleHits} hits, the scan ${scan.hits}`);

  const p99 = quantile(mih.ms, 0.99);
  emit({
    name: `matching/pdq-index/mih-d${MAX_DISTANCE}/${label}`,
    itemsPerSec: round(perSecond(mih.ms)),
    baselineItemsPerSec: round(perSecond(scan.ms)),
    ratio: round(perSecond(mih.ms) / perSecond(scan.ms)),
    p50Ms: round(median(mih.ms)),
    p99Ms: round(p99),
    cpuP50Ms: round(median(mih.cpuMs)),
    cpuP99Ms: round(quantile(mih.cpuMs, 0.99)),
    baselineP50Ms: round(median(scan.ms)),
    baselineP99Ms: round(quantile(scan.ms, 0.99)),
    hashes: bank.length,
    queries: queries.length,
    baselineQueries: scanSample.length,
    meanHits: round(mih.hits / queries.length),
    ...(quick
      ? {}
      : { target: `p99 <= ${TARGET_P99_MS} ms at 1,000,000 hashes, d <= 31`, met: p99 <= TARGET_P99_MS }),
  });
  emit({
    name: `matching/pdq-index/linear-d${MAX_DISTANCE}/${label}`,
    itemsPerSec: round(perSecond(scan.ms)),
    p50Ms: round(median(scan.ms)),
    p99Ms: round(quantile(scan.ms, 0.99)),
    hashes: bank.length,
    queries: scanSample.length,
  });
  if (label === 'uniform') {
    emit({
      name: 'matching/pdq-index/memory-per-million',
      itemsPerSec: null,
      value: round(((index.memoryBytes / bank.length) * 1e6) / 2 ** 20),
      unit: 'MiB',
      linearMiB: round(((linear.memoryBytes / bank.length) * 1e6) / 2 ** 20),
      hashes: bank.length,
    });
    emit({
      name: 'matching/pdq-index/build',
      itemsPerSec: round(bank.length / (buildMs / 1000)),
      value: round(buildMs),
      unit: 'ms',
      hashes: bank.length,
    });
  }
}

/** A 640×480 photo-sized JPEG. */
async function photo(): Promise<Uint8Array> {
  const shapes = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#6a8"/><circle cx="220" cy="200" r="120" fill="#c53"/><rect x="360" y="90" width="200" height="300" fill="#246"/></svg>`,
  );
  return new Uint8Array(
    await sharp(shapes)
      .composite([
        {
          input: {
            create: {
              width: 640,
              height: 480,
              channels: 4,
              background: '#0000',
              noise: { type: 'gaussian', mean: 128, sigma: 20 },
            },
          },
          blend: 'overlay',
        },
      ])
      .jpeg({ quality: 85 })
      .toBuffer(),
  );
}

async function benchHashing(): Promise<void> {
  const jpeg = await photo();
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const hashMs: number[] = [];
  for (let i = 0; i < PLAN.hashRuns + 20; i++) {
    const t = performance.now();
    pdqHash(data, info.width, info.height, 3);
    if (i >= 20) hashMs.push(performance.now() - t);
  }
  emit({
    name: 'matching/pdq/640x480',
    itemsPerSec: round(perSecond(hashMs)),
    p50Ms: round(median(hashMs)),
    p99Ms: round(quantile(hashMs, 0.99)),
    samples: hashMs.length,
    target: 'p50 <= 5 ms (PDQ of decoded pixels)',
    met: median(hashMs) <= 5,
  });
  const signalMs: number[] = [];
  for (let i = 0; i < PLAN.signalRuns + 3; i++) {
    const t = performance.now();
    await imageSignals(jpeg, 'bench.jpg');
    if (i >= 3) signalMs.push(performance.now() - t);
  }
  emit({
    name: 'matching/image-signals/640x480-jpeg',
    itemsPerSec: round(perSecond(signalMs)),
    p50Ms: round(median(signalMs)),
    p99Ms: round(quantile(signalMs, 0.99)),
    samples: signalMs.length,
    bytes: jpeg.byteLength,
  });
}

async function main(): Promise<void> {
  await benchHashing();
  const next = seeded(18);
  benchBank('uniform', uniformBank(BANK), next);
  benchBank('clustered', clusteredBank(BANK, next), next);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
