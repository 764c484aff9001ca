/**
 * Fault injection on the local stack: duplicate and out-of-order notifications, the inference server
 * killed and restarted mid-batch, a slow endpoint, DynamoDB throttling, and an outage long enough to
 * dead-letter uploads (then a redrive). After each, every uploaded object version has exactly one
 * verdict and nothing is left in a queue.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DYNAMODB_THROTTLED } from '#local/fault-proxy.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { queueDepth, redriveFailedVerdicts } from '#ops/redrive.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import { createVerdictStore, type VerdictStore } from '#shared/verdict/store.ts';
import { solidJpeg, solidPng } from '#test/fixtures/hostile-inputs.ts';

let stack: LocalStack;
let store: VerdictStore;
/** Every object version uploaded by this file, and the first verdict seen for each. */
const uploaded = new Map<string, ObjectRef>();
const firstSeen = new Map<string, Verdict>();
/** What each fault did, printed with RELIABILITY_REPORT=1 (docs/RELIABILITY.md quotes it). */
const figures: Record<string, unknown> = {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TEXTS = [
  'Thank you for the lovely dinner last night.',
  'You are a worthless idiot and everyone hates you.',
  'The meeting moved to Thursday at ten.',
  'Go back to where you came from, nobody wants you here.',
];

/** A mixed batch: texts and images, each with distinct bytes. */
async function uploadBatch(prefix: string, n: number): Promise<ObjectRef[]> {
  const refs: ObjectRef[] = [];
  for (let i = 0; i < n; i++) {
    const body =
      i % 3 === 2
        ? await (i % 2 ? solidJpeg(96 + i, 64) : solidPng(64 + i, 48))
        : Buffer.from(`${TEXTS[i % TEXTS.length]} (${prefix} #${i})`);
    const ref = await stack.upload(`${prefix}/item-${i}.${i % 3 === 2 ? 'img' : 'txt'}`, body);
    uploaded.set(verdictKey(ref), ref);
    refs.push(ref);
  }
  return refs;
}

async function verdictsFor(refs: ObjectRef[], timeoutMs = 60_000): Promise<Verdict[]> {
  const found = await stack.waitForVerdicts(refs, { timeoutMs, pollMs: 50 });
  for (const [ref, v] of found) if (!firstSeen.has(verdictKey(ref))) firstSeen.set(verdictKey(ref), v);
  return refs.map((r) => found.get(r)).filter((v): v is Verdict => v !== undefined);
}

/** Until the ingest queue and the DLQ hold nothing, visible or in flight. */
async function drained(timeoutMs = 30_000): Promise<boolean> {
  const { sqs, ingestUrl, deadLetterUrl } = stack.queues;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [a, b] = await Promise.all([queueDepth(sqs, ingestUrl), queueDepth(sqs, deadLetterUrl)]);
    if (a.visible + a.inFlight + b.visible + b.inFlight === 0) return true;
    await sleep(100);
  }
  return false;
}

async function scanVerdictKeys(): Promise<string[]> {
  const keys: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.doc.send(
      new ScanCommand({ TableName: stack.tableName, ProjectionExpression: 'pk', ExclusiveStartKey: start }),
    );
    keys.push(...(page.Items ?? []).map((i) => i.pk as string));
    start = page.LastEvaluatedKey;
  } while (start);
  return keys.filter((k) => !k.startsWith('latest#'));
}

beforeAll(async () => {
  stack = await startLocalStack({
    visibilityTimeoutSeconds: 1,
    faultProxies: true,
    // Short attempts and waits, so a fault is retried (and, if it lasts, redelivered) within seconds.
    inferenceRetry: {
      maxAttempts: 3,
      attemptTimeoutMs: 1_500,
      baseDelayMs: 50,
      maxDelayMs: 400,
      reserveMs: 1_000,
    },
  });
  store = createVerdictStore(stack.doc, stack.tableName);
}, 120_000);

afterAll(async () => {
  if (process.env.RELIABILITY_REPORT) process.stderr.write(`fault figures: ${JSON.stringify(figures)}\n`);
  await stack?.stop();
});

describe('fault injection on the local stack', () => {
  it('gives duplicate and out-of-order notifications one verdict per version; the newest stays current', async () => {
    const v1 = await stack.upload('versions/note.txt', Buffer.from('first version of the note'));
    const [first] = await verdictsFor([v1]);
    const v2 = await stack.upload('versions/note.txt', Buffer.from('second version of the note'));
    await verdictsFor([v2]);
    for (const ref of [v1, v2]) uploaded.set(verdictKey(ref), ref);
    expect(verdictKey(v1)).not.toBe(verdictKey(v2));
    // The pointer is written just after the verdict: wait for the delivery to finish.
    expect(await drained()).toBe(true);
    expect((await store.getCurrent(v2))?.pk).toBe(verdictKey(v2));

    // S3 delivers v1's event again, late (an older sequencer), twice, and v2's once more.
    await stack.notify([{ ...v1, sequencer: '0000000000000001' }, v1]);
    await stack.notify([{ ...v1, sequencer: '0000000000000001' }]);
    await stack.notify([v2]);
    expect(await drained()).toBe(true);

    expect((await store.getCurrent(v2))?.pk).toBe(verdictKey(v2));
    expect((await store.get(verdictKey(v1)))?.createdAt).toBe(first?.createdAt);
    const keys = await scanVerdictKeys();
    expect(keys.filter((k) => k.includes('/versions/note.txt#')).sort()).toEqual(
      [verdictKey(v1), verdictKey(v2)].sort(),
    );
  });

  it('survives the inference server being killed and restarted mid-batch', async () => {
    const proxy = stack.control.proxies!.inference;
    const before = proxy.stats().upstreamErrors;
    const requestsBefore = proxy.stats().requests;
    const refs = await uploadBatch('kill-restart', 12);
    // Stop it as soon as the batch's first model call arrives (in-flight calls finish, as in a
    // graceful shutdown; new connections are refused): the rest of the batch meets a dead endpoint.
    while (proxy.stats().requests === requestsBefore) await sleep(2);
    await stack.control.inference.stop();
    const doneAtKill = (await Promise.all(refs.map((r) => store.get(verdictKey(r))))).filter(Boolean).length;
    await sleep(1_500);
    await stack.control.inference.start();

    const verdicts = await verdictsFor(refs);
    figures.killRestart = {
      items: refs.length,
      doneAtKill,
      refusedCalls: proxy.stats().upstreamErrors - before,
    };
    expect(doneAtKill).toBeLessThan(refs.length);
    expect(proxy.stats().upstreamErrors).toBeGreaterThan(before);
    expect(verdicts).toHaveLength(refs.length);
    expect(verdicts.filter((v) => v.decision === 'error')).toEqual([]);
    expect(await drained()).toBe(true);
  });

  it('survives connections dropped mid-request by the endpoint', async () => {
    const proxy = stack.control.proxies!.inference;
    const before = proxy.stats().faulted;
    proxy.set({ kind: 'reset' }, { forMs: 1_500 });
    const refs = await uploadBatch('dropped-connections', 4);

    const verdicts = await verdictsFor(refs);
    figures.droppedConnections = { items: refs.length, resetCalls: proxy.stats().faulted - before };
    expect(proxy.stats().faulted).toBeGreaterThan(before);
    expect(verdicts).toHaveLength(refs.length);
    expect(verdicts.filter((v) => v.decision === 'error')).toEqual([]);
    expect(await drained()).toBe(true);
  });

  it('survives a slow endpoint: attempts time out, are retried, and the batch completes', async () => {
    const proxy = stack.control.proxies!.inference;
    const before = proxy.stats().faulted;
    // Longer than all three attempts of one delivery: the message must go back to the queue once.
    proxy.set({ kind: 'delay', ms: 2_500 }, { forMs: 5_000 });
    const refs = await uploadBatch('slow-endpoint', 6);

    const verdicts = await verdictsFor(refs);
    figures.slowEndpoint = { items: refs.length, delayedCalls: proxy.stats().faulted - before };
    expect(proxy.stats().faulted).toBeGreaterThan(before);
    expect(verdicts).toHaveLength(refs.length);
    expect(verdicts.filter((v) => v.decision === 'error')).toEqual([]);
    expect(await drained()).toBe(true);
  });

  it('survives DynamoDB throttling (ProvisionedThroughputExceededException)', async () => {
    const proxy = stack.control.proxies!.dynamodb;
    const before = proxy.stats().faulted;
    // Longer than the SDK's own retries: deliveries fail and come back.
    proxy.set(DYNAMODB_THROTTLED, { forMs: 4_000 });
    const refs = await uploadBatch('ddb-throttle', 6);

    const verdicts = await verdictsFor(refs);
    figures.dynamoThrottle = { items: refs.length, throttledCalls: proxy.stats().faulted - before };
    expect(proxy.stats().faulted).toBeGreaterThan(before);
    expect(verdicts).toHaveLength(refs.length);
    expect(verdicts.filter((v) => v.decision === 'error')).toEqual([]);
    expect(await drained()).toBe(true);
  });

  it('dead-letters an upload that keeps failing as PROCESSING_FAILED, and a redrive moderates it', async () => {
    await stack.control.inference.stop();
    // 1. The DLQ consumer records the error verdict.
    const [lost] = await uploadBatch('outage-recorded', 1);
    const [placeholder] = await verdictsFor([lost!], 60_000);
    expect(placeholder?.decision).toBe('error');
    expect(placeholder?.error?.code).toBe('PROCESSING_FAILED');

    // 2. With the DLQ consumer paused (as an operator would, to hold messages), the next one waits there.
    await stack.control.deadLetterConsumer.stop();
    const [held] = await uploadBatch('outage-held', 1);
    const { sqs, deadLetterUrl, ingestUrl } = stack.queues;
    const deadline = Date.now() + 60_000;
    while ((await queueDepth(sqs, deadLetterUrl)).visible < 1 && Date.now() < deadline) await sleep(200);
    expect((await queueDepth(sqs, deadLetterUrl)).visible).toBe(1);

    // 3. Fix, then `npm run redrive` (the real script) puts it back on the ingest queue.
    await stack.control.inference.start();
    const { stdout } = await promisify(execFile)(
      join(import.meta.dirname, '../../node_modules/.bin/tsx'),
      [
        join(import.meta.dirname, '../../cli/redrive.ts'),
        '--from',
        deadLetterUrl,
        '--to',
        ingestUrl,
        '--endpoint-url',
        process.env.AWS_ENDPOINT_URL_SQS as string,
      ],
      { env: process.env },
    );
    expect(JSON.parse(stdout)).toEqual({ moved: 1, failed: 0 });
    const [redriven] = await verdictsFor([held!]);
    expect(redriven?.decision).not.toBe('error');

    // 4. The first one's DLQ message was consumed when its placeholder was recorded: redriving the
    // placeholders re-announces it, and its real verdict replaces the placeholder.
    expect(
      await redriveFailedVerdicts({
        doc: stack.doc,
        tableName: stack.tableName,
        sqs,
        to: ingestUrl,
        versionField: 'eTag', // the local S3 is unversioned
      }),
    ).toEqual({ moved: 1, failed: 0 });
    const until = Date.now() + 30_000;
    let replaced = await store.get(verdictKey(lost!));
    while (replaced?.decision === 'error' && Date.now() < until) {
      await sleep(100);
      replaced = await store.get(verdictKey(lost!));
    }
    expect(replaced?.decision).not.toBe('error');
    stack.control.deadLetterConsumer.start();
    expect(await drained()).toBe(true);
  });

  it('lost nothing: every uploaded object version has exactly one verdict', async () => {
    const keys = await scanVerdictKeys();
    figures.total = { objectVersions: uploaded.size, verdicts: keys.length };
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual([...uploaded.keys()].sort());
    const errors = await Promise.all([...uploaded.keys()].map((pk) => store.get(pk)));
    expect(errors.filter((v) => v?.decision === 'error').map((v) => v?.object)).toEqual([]);
  });
});
