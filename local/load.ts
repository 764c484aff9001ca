/**
 * A bounded load test of the local pipeline (`npm run load`): uploads a fixed number of mixed items
 * (texts, JPEG and PNG images, posts with an image) at a set rate, waits for every verdict, and
 * reports throughput, upload→verdict latency and how many uploads got no verdict (lost). Loopback
 * only; it stops by itself after the last verdict or the timeout.
 */
import { BatchGetCommand, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import type { LocalStack } from './stack.ts';

export interface LoadOptions {
  /** Objects to upload (a post counts as two: its image and its manifest). @default 200 */
  count?: number;
  /** Uploads started per second. @default 20 */
  ratePerSecond?: number;
  /** Give up waiting for verdicts this long after the last upload. @default 120000 */
  timeoutMs?: number;
  /** Key prefix, so runs on one stack don't collide. @default load-<time> */
  prefix?: string;
  onProgress?(done: number, total: number): void;
}

export interface LoadReport {
  uploaded: number;
  verdicts: number;
  /** Uploads with no verdict when the test stopped: must be 0. */
  lost: number;
  /** Verdicts per second, from the first upload to the last verdict. */
  throughputPerSecond: number;
  /** Upload start → verdict seen in the table (polled every 25 ms), in ms. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Verdicts by decision, and error verdicts by code. */
  decisions: Record<string, number>;
  errorCodes: Record<string, number>;
  durationMs: number;
  ratePerSecond: number;
}

const TEXTS = [
  'Thank you for the lovely dinner last night, the soup was delicious.',
  'You are a worthless idiot and everybody laughs at you.',
  'The quarterly report is attached; comments welcome by Friday.',
  'Go back to where you came from, nobody wants your kind here.',
  'Lovely weather for a walk along the river this morning.',
  'Shut up, you pathetic loser, nobody asked for your opinion.',
];

/** The n-th item of the mix: its objects, in upload order (a post's image before the post). */
async function item(n: number, prefix: string): Promise<{ key: string; body: Uint8Array }[]> {
  const colour = `#${((n * 2654435761) >>> 8).toString(16).padStart(6, '0').slice(0, 6)}`;
  const image = (format: 'jpeg' | 'png') =>
    sharp({ create: { width: 96 + (n % 64), height: 72 + (n % 32), channels: 3, background: colour } })
      [format]()
      .toBuffer();
  const text = `${TEXTS[n % TEXTS.length]} (#${n})`;
  switch (n % 4) {
    case 0:
    case 1:
      return [{ key: `${prefix}/${n}.txt`, body: Buffer.from(text) }];
    case 2:
      return [
        {
          key: `${prefix}/${n}.${n % 8 === 2 ? 'jpg' : 'png'}`,
          body: await image(n % 8 === 2 ? 'jpeg' : 'png'),
        },
      ];
    default:
      return [
        { key: `${prefix}/post-${n}/pic.jpg`, body: await image('jpeg') },
        {
          key: `${prefix}/post-${n}/post.json`,
          body: Buffer.from(JSON.stringify({ text, media: ['pic.jpg'] })),
        },
      ];
  }
}

/** One read of the verdicts that exist now, by verdict key (BatchGetItem, 100 keys a request). */
async function readVerdicts(stack: LocalStack, refs: ObjectRef[]): Promise<Map<string, Verdict>> {
  const { partitionKey } = VERDICT_TABLE;
  const pks = [...new Set(refs.map(verdictKey))];
  const found = new Map<string, Verdict>();
  for (let i = 0; i < pks.length; i += 100) {
    const chunk = pks.slice(i, i + 100);
    let keys: Record<string, unknown>[] | undefined = chunk.map((pk) => ({ [partitionKey]: pk }));
    while (keys?.length) {
      const out: BatchGetCommandOutput = await stack.doc.send(
        new BatchGetCommand({ RequestItems: { [stack.tableName]: { Keys: keys } } }),
      );
      for (const item of out.Responses?.[stack.tableName] ?? []) {
        const { [partitionKey]: pk, ...verdict } = item as Verdict & { [partitionKey]: string };
        found.set(pk, verdict);
      }
      keys = out.UnprocessedKeys?.[stack.tableName]?.Keys;
    }
  }
  return found;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function runLoad(stack: LocalStack, options: LoadOptions = {}): Promise<LoadReport> {
  const count = options.count ?? 200;
  const rate = options.ratePerSecond ?? 20;
  const prefix = options.prefix ?? `load-${Date.now()}`;
  // Build the objects first, so generating images does not eat into the upload schedule.
  const objects: { key: string; body: Uint8Array }[] = [];
  for (let n = 0; objects.length < count; n++) objects.push(...(await item(n, prefix)));
  objects.length = count;

  const started = performance.now();
  const startedAt = new Map<string, number>();
  const refs: ObjectRef[] = [];
  const seen = new Map<string, { at: number; verdict: Verdict }>();
  let uploadsDone = false;

  const waiting = (async () => {
    // Poll until every uploaded object has a verdict, or the timeout after the last upload.
    let lastUploadAt = Number.POSITIVE_INFINITY;
    while (true) {
      const pending = refs.filter((r) => !seen.has(verdictKey(r)));
      if (uploadsDone && pending.length === 0) return;
      if (uploadsDone) lastUploadAt = Math.min(lastUploadAt, performance.now());
      if (performance.now() - lastUploadAt > (options.timeoutMs ?? 120_000)) return;
      if (pending.length) {
        for (const [pk, verdict] of await readVerdicts(stack, pending))
          seen.set(pk, { at: performance.now(), verdict });
        options.onProgress?.(seen.size, count);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  // Start each upload on its slot of the schedule (rate per second), without waiting for the last.
  const uploads: Promise<void>[] = [];
  const inOrder = new Map<string, Promise<void>>();
  for (const [i, object] of objects.entries()) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // A post's manifest goes up only after its image is stored (same folder = same chain).
    const folder = object.key.slice(0, object.key.lastIndexOf('/'));
    const previous = folder.includes('/post-') ? inOrder.get(folder) : undefined;
    const upload = (async () => {
      await previous;
      const t = performance.now();
      const ref = await stack.upload(object.key, object.body);
      startedAt.set(verdictKey(ref), t);
      refs.push(ref);
    })();
    if (folder.includes('/post-')) inOrder.set(folder, upload);
    uploads.push(upload);
  }
  await Promise.all(uploads);
  uploadsDone = true;
  await waiting;

  const latencies = [...seen.entries()]
    .map(([pk, { at }]) => at - (startedAt.get(pk) ?? at))
    .sort((a, b) => a - b);
  const lastVerdictAt = Math.max(started, ...[...seen.values()].map((s) => s.at));
  const decisions: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  for (const { verdict } of seen.values()) {
    decisions[verdict.decision] = (decisions[verdict.decision] ?? 0) + 1;
    if (verdict.error) errorCodes[verdict.error.code] = (errorCodes[verdict.error.code] ?? 0) + 1;
  }
  return {
    uploaded: refs.length,
    verdicts: seen.size,
    lost: refs.length - seen.size,
    throughputPerSecond: round(seen.size / ((lastVerdictAt - started) / 1000 || 1)),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? 0),
    },
    decisions,
    errorCodes,
    durationMs: Math.round(performance.now() - started),
    ratePerSecond: rate,
  };
}
