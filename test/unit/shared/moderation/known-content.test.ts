/**
 * The matching step of moderateObject: banks and term lists before any model. A deny match blocks
 * without a model call; an allow match exempts; a blocklist hit raises the decision, models still run.
 */
import { Readable } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { METRIC, METRIC_DIMENSION } from '#shared/contracts/metrics.ts';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';
import { type Bank, parseBankFile } from '#shared/matching/banks.ts';
import { MODELS_SKIPPED_REASON } from '#shared/matching/match.ts';
import { imageSignals } from '#shared/matching/signals.ts';
import { staticMatchLists } from '#shared/matching/store.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { moderateObject } from '#shared/moderation/moderate-object.ts';
import { createRecordHandler } from '#shared/moderation/record-handler.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

const s3 = mockClient(S3Client);
const pack = loadPack();

const fakeInference = () => fixedInference(pack);

const store: VerdictStore = {
  get: async () => undefined,
  putOnce: async () => 'written',
  advanceLatest: async () => 'unordered',
  getCurrent: async () => undefined,
};

/** A textured picture (PDQ needs detail: a flat image has quality 0) and a half-size copy of it. */
async function pictures(): Promise<{ original: Buffer; resized: Buffer }> {
  const w = 320;
  const h = 240;
  const raw = Buffer.alloc(w * h * 3);
  let seed = 7;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const v = ((x * 3 + y * 5) % 255) ^ (Math.floor(x / 40) * 60) ^ (seed & 15);
      raw.set([v, (v * 7) % 256, (x * y) % 256], (y * w + x) * 3);
    }
  const original = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
  const resized = await sharp(original)
    .resize(w / 2)
    .png()
    .toBuffer();
  return { original, resized };
}

const ref = (key: string): ObjectRef => ({ bucket: 'b', key, versionId: 'v1', size: 10 });
const serve = (bytes: Uint8Array) =>
  s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(bytes)])) }));

function deps(lists: NonNullable<Parameters<typeof staticMatchLists>[0]>, inference = fakeInference()) {
  return {
    s3: s3 as unknown as S3Client,
    store,
    models: createModelGateway(inference, pack),
    policy: loadPolicy(lists.policyName ?? 'balanced'),
    engines: testEngines('sync', { ocr: () => undefined }),
    matchLists: staticMatchLists(lists),
  };
}

let banked: Bank;
let resized: Buffer;

beforeAll(async () => {
  const p = await pictures();
  resized = p.resized;
  const lines = (await imageSignals(p.original, 'original.png'))
    .filter((s) => s.signalType === 'pdq')
    .map((s) => `${s.signal},${s.quality},original.png`)
    .join('\n');
  banked = parseBankFile(lines, { kind: 'deny', file: 'known-abuse.csv', label: 'terror' })[0]!;
});

beforeEach(() => s3.reset());

describe('known content before the models', () => {
  it('blocks a resized copy of a banked image without calling a model, with its matches', async () => {
    serve(resized);
    const inference = fakeInference();

    const { verdict } = await moderateObject(ref('uploads/copy.png'), deps({ banks: [banked] }, inference));

    expect(inference.calls).toBe(0);
    expect(verdict).toMatchObject({ decision: 'block', score: 1, categories: {}, modalities: {} });
    expect(verdict.unscoredCategories).toEqual([...CATEGORIES]);
    expect(verdict.reasons).toContain(MODELS_SKIPPED_REASON);
    expect(verdict.matches).toEqual([
      expect.objectContaining({
        bank: 'known-abuse',
        kind: 'deny',
        label: 'terror',
        signalType: 'pdq',
        source: 's3://b/uploads/copy.png',
      }),
    ]);
    expect(verdict.matches?.[0]?.distance).toBeLessThanOrEqual(31);
    expect(verdict.timings.matchMs).toBeGreaterThanOrEqual(0);
  });

  it('runs the models when an allow bank exempts the deny match', async () => {
    serve(resized);
    const allow = { ...banked, name: 'reviewed-ok', kind: 'allow' as const };
    const inference = fakeInference();

    const { verdict } = await moderateObject(
      ref('uploads/copy.png'),
      deps({ banks: [banked, allow] }, inference),
    );

    expect(inference.calls).toBeGreaterThan(0);
    expect(verdict.decision).toBe('allow');
    expect(verdict.reasons[0]).toBe('deny bank known-abuse matched, exempted by allow bank reviewed-ok');
    expect(verdict.matches?.map((m) => m.kind)).toEqual(['deny', 'allow']);
  });

  it('matches exact hashes of any upload, text included', async () => {
    const bytes = Buffer.from('buy cheap pills at example.com');
    serve(bytes);
    const { createHash } = await import('node:crypto');
    const [spam] = parseBankFile(`md5,${createHash('md5').update(bytes).digest('hex')},spam.txt\n`, {
      kind: 'deny',
      file: 'spam.csv',
    });

    const { verdict } = await moderateObject(ref('uploads/spam.txt'), deps({ banks: [spam!] }));

    expect(verdict.decision).toBe('block');
    expect(verdict.matches?.[0]).toMatchObject({ bank: 'spam', signalType: 'md5', distance: 0 });
  });

  it('raises the decision to the blocklist’s action and keeps the model scores and the span', async () => {
    serve(Buffer.from('honestly, what an 1d10t'));
    const blocklist = parseTermList('idiot\n', 'blocklist');

    const review = await moderateObject(ref('uploads/reply.txt'), deps({ blocklist }));
    const strict = await moderateObject(ref('uploads/reply.txt'), deps({ blocklist, policyName: 'strict' }));

    expect(review.verdict.decision).toBe('review');
    expect(review.verdict.categories).not.toEqual({});
    expect(review.verdict.matches).toEqual([
      expect.objectContaining({
        bank: 'blocklist',
        label: 'idiot',
        signal: '1d10t',
        range: [18, 23],
        channel: 'text',
      }),
    ]);
    expect(strict.verdict.decision).toBe('block');
  });

  it('with no lists, finds nothing and hashes nothing', async () => {
    serve(resized);
    const { verdict } = await moderateObject(ref('uploads/copy.png'), deps({}));
    expect(verdict.matches).toEqual([]);
    expect(verdict.decision).not.toBe('error');
  });
});

describe('bank metrics', () => {
  it('counts each matching bank and term list once per verdict, under its own dimension', async () => {
    serve(resized);
    const counted: Record<string, unknown>[] = [];
    const metrics = {
      addMetric: () => undefined,
      singleMetric: () => {
        const one: Record<string, unknown> = {};
        counted.push(one);
        return {
          addDimension: (name: string, value: string) => Object.assign(one, { [name]: value }),
          addMetric: (name: string, _unit: unknown, value: number) => Object.assign(one, { name, value }),
        };
      },
    } as unknown as Metrics;
    const logger = { info: () => undefined, warn: () => undefined } as unknown as Logger;
    const second = { ...banked, name: 'partner-hashes' };
    const handle = createRecordHandler({ ...deps({ banks: [banked, second] }), metrics, logger });
    const body = JSON.stringify({
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'b' }, object: { key: 'uploads/copy.png', size: 10, versionId: 'v1' } },
        },
      ],
    });

    await handle({ messageId: '1', body } as SQSRecord);

    expect(counted).toEqual([
      { [METRIC_DIMENSION.bank]: 'known-abuse', name: METRIC.bankMatches, value: 1 },
      { [METRIC_DIMENSION.bank]: 'partner-hashes', name: METRIC.bankMatches, value: 1 },
    ]);
  });
});
