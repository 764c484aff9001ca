/**
 * moderateObject's reliability rules with an in-memory store that keeps DynamoDB's conditional
 * semantics: one verdict per version, redriven placeholders replaced, S3 failures classified.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { latestKey, normaliseSequencer, type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import { InferenceUnavailableError } from '#shared/inference/client.ts';
import { createInFlight } from '#shared/inference/coalesce.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { moderateObject, TAG_COUNT_TRUSTED_MS, type UploadTags } from '#shared/moderation/moderate-object.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { deadLetterVerdict } from '#shared/verdict/dead-letter.ts';
import type { LatestPointer, VerdictItem, VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

const s3 = mockClient(S3Client);
const pack = loadPack();

/** DynamoDB's conditions, in memory. */
function memoryStore() {
  const items = new Map<string, VerdictItem | LatestPointer>();
  const store: VerdictStore = {
    async get(pk) {
      return items.get(pk) as VerdictItem | undefined;
    },
    async putOnce(pk, verdict, options = {}) {
      const existing = items.get(pk) as VerdictItem | undefined;
      if (existing && existing.error?.code !== options.replaceErrorCode) return 'duplicate';
      items.set(pk, { pk, ...verdict });
      return 'written';
    },
    async advanceLatest(ref) {
      if (!ref.sequencer) return 'unordered';
      const current = items.get(latestKey(ref)) as LatestPointer | undefined;
      if (current && current.sequencer >= ref.sequencer) return 'not-newer';
      items.set(latestKey(ref), {
        pk: latestKey(ref),
        verdictPk: verdictKey(ref),
        sequencer: ref.sequencer,
        updatedAt: '',
      });
      return 'advanced';
    },
    async getCurrent(ref) {
      const pointer = items.get(latestKey(ref)) as LatestPointer | undefined;
      return pointer && (items.get(pointer.verdictPk) as VerdictItem | undefined);
    },
  };
  return { store, items };
}

/** An endpoint that answers every model with fixed probabilities, or is down. */
const fakeInference = (down = false) =>
  fixedInference(pack, {
    ...(down && {
      fail: (model) => new InferenceUnavailableError('down', { model, endpoint: model, retryable: true }),
    }),
  });

const body = (text: string) => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(text)])) });
const ref = (versionId: string, sequencer: string): ObjectRef => ({
  bucket: 'b',
  key: 'uploads/note.txt',
  versionId,
  size: 10,
  sequencer: normaliseSequencer(sequencer),
});

function deps(store: VerdictStore, inference = fakeInference()) {
  return {
    s3: s3 as unknown as S3Client,
    store,
    models: createModelGateway(inference, pack),
    policy: loadPolicy('balanced'),
    engines: testEngines(),
  };
}

describe('one verdict per object version', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(GetObjectCommand).callsFake(() => body('a perfectly fine note'));
  });

  it('moderates a redelivery only once, and a newer version separately; the newer stays current', async () => {
    const { store, items } = memoryStore();
    const inference = fakeInference();
    const d = deps(store, inference);
    const v1 = ref('v1', '00A0');
    const v2 = ref('v2', '00B0');

    expect((await moderateObject(v1, d)).outcome).toBe('written');
    expect((await moderateObject(v1, d)).outcome).toBe('already-moderated');
    const callsAfterV1 = inference.calls;
    expect((await moderateObject(v2, d)).latest).toBe('advanced');
    expect(inference.calls).toBeGreaterThan(callsAfterV1);
    // v1's event again, late: its verdict is kept and it does not become current.
    const late = await moderateObject(v1, d);
    expect(late).toMatchObject({ outcome: 'already-moderated', latest: 'not-newer' });

    expect((await store.getCurrent(v2))?.pk).toBe(verdictKey(v2));
    expect([...items.keys()].filter((k) => !k.startsWith('latest#')).sort()).toEqual(
      [verdictKey(v1), verdictKey(v2)].sort(),
    );
  });

  it('replaces a PROCESSING_FAILED placeholder when the message is redriven', async () => {
    const { store } = memoryStore();
    const v1 = ref('v1', '01');
    await store.putOnce(verdictKey(v1), deadLetterVerdict(v1, 'dead-lettered', 'p', new Date()));

    const result = await moderateObject(v1, deps(store));

    expect(result.outcome).toBe('written');
    expect((await store.get(verdictKey(v1)))?.decision).toBe('allow');
  });

  it('keeps any other existing verdict, even an error one', async () => {
    const { store } = memoryStore();
    const v1 = ref('v1', '01');
    const existing: Verdict = {
      ...deadLetterVerdict(v1, 'x', 'p', new Date()),
      error: { code: 'TOO_LARGE', message: 'x' },
    };
    await store.putOnce(verdictKey(v1), existing);
    const inference = fakeInference();

    expect((await moderateObject(v1, deps(store, inference))).outcome).toBe('already-moderated');
    expect(inference.calls).toBe(0);
  });

  it('throws on an endpoint outage (so SQS redelivers) and writes nothing', async () => {
    const { store, items } = memoryStore();
    await expect(moderateObject(ref('v1', '01'), deps(store, fakeInference(true)))).rejects.toBeInstanceOf(
      InferenceUnavailableError,
    );
    expect(items.size).toBe(0);
  });
});

describe('objects that cannot be read become error verdicts, not crashes', () => {
  beforeEach(() => s3.reset());
  const s3Error = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it.each([
    ['deleted before processing (NoSuchKey)', s3Error('NoSuchKey', 404), 'OBJECT_NOT_FOUND'],
    ['a bare 404 (NotFound)', s3Error('NotFound', 404), 'OBJECT_NOT_FOUND'],
    ['an unknown 404', s3Error('UnknownError', 404), 'OBJECT_NOT_FOUND'],
    ['a deleted version (NoSuchVersion)', s3Error('NoSuchVersion', 404), 'OBJECT_NOT_FOUND'],
    ['access denied (AccessDenied)', s3Error('AccessDenied', 403), 'ACCESS_DENIED'],
    ['a KMS key we may not use (403)', s3Error('KMS.AccessDeniedException', 403), 'ACCESS_DENIED'],
  ])('%s → %s', async (_what, err, code) => {
    s3.on(GetObjectCommand).rejects(err);
    const { store } = memoryStore();
    const { verdict, outcome } = await moderateObject(ref('v1', '01'), deps(store));
    expect(outcome).toBe('written');
    expect(verdict.decision).toBe('error');
    expect(verdict.error?.code).toBe(code);
  });

  it('lets S3 being unavailable (5xx) through, so the message is retried', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('ServiceUnavailable', 503));
    const { store, items } = memoryStore();
    await expect(moderateObject(ref('v1', '01'), deps(store))).rejects.toThrow('ServiceUnavailable');
    expect(items.size).toBe(0);
  });
});

describe('after the verdict is stored', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(GetObjectCommand).callsFake(() => body('a perfectly fine note'));
  });

  /** A store whose latest-pointer writes wait until `release()`, recording what ran meanwhile. */
  function slowPointerStore() {
    const { store, items } = memoryStore();
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const advanceLatest = store.advanceLatest.bind(store);
    store.advanceLatest = async (r) => {
      events.push('pointer started');
      await released;
      events.push('pointer done');
      return advanceLatest(r);
    };
    return { store, items, events, release };
  }

  it('acts on the verdict while the latest pointer advances, and only once the verdict is stored', async () => {
    const { store, items, events, release } = slowPointerStore();
    const v1 = ref('v1', '01');
    const onVerdict = async (verdict: Verdict) => {
      events.push(`acted, verdict stored: ${items.has(verdictKey(v1))}`);
      expect(verdict.object).toBe('s3://b/uploads/note.txt');
      release();
    };
    const result = await moderateObject(v1, { ...deps(store), onVerdict });
    expect(result).toMatchObject({ outcome: 'written', latest: 'advanced' });
    expect(events).toEqual(['pointer started', 'acted, verdict stored: true', 'pointer done']);
  });

  it('acts again on a redelivery, and leaves a lost race to the delivery that won', async () => {
    const { store } = memoryStore();
    const acted: string[] = [];
    const d = { ...deps(store), onVerdict: async (v: Verdict) => void acted.push(v.decision) };
    const v1 = ref('v1', '01');
    await moderateObject(v1, d);
    expect((await moderateObject(v1, d)).outcome).toBe('already-moderated');
    expect(acted).toEqual(['allow', 'allow']);

    // Another delivery writes its verdict between this one's existence check and its write.
    const v2 = ref('v2', '02');
    const get = store.get.bind(store);
    store.get = async (pk) => {
      const seen = await get(pk);
      const won = deadLetterVerdict(v2, 'won', 'p', new Date());
      await store.putOnce(pk, { ...won, error: { code: 'TOO_LARGE', message: 'won' } });
      return seen;
    };
    expect((await moderateObject(v2, d)).outcome).toBe('duplicate');
    expect(acted).toHaveLength(2);
  });

  it('fails the record when an action fails, with the verdict already stored', async () => {
    const { store, items } = memoryStore();
    const v1 = ref('v1', '01');
    const onVerdict = async () => {
      throw new Error('tagging failed');
    };
    await expect(moderateObject(v1, { ...deps(store), onVerdict })).rejects.toThrow('tagging failed');
    expect(items.has(verdictKey(v1))).toBe(true);
    expect(items.has(latestKey(v1))).toBe(true);
  });

  it('counts the object in flight (for the coalescing client) until its verdict is decided, not while storing it', async () => {
    const { store } = memoryStore();
    const inFlight = createInFlight();
    const counted: Record<string, number> = {};
    const get = store.get.bind(store);
    store.get = async (pk) => {
      counted.existence = inFlight.count();
      return get(pk);
    };
    const putOnce = store.putOnce.bind(store);
    store.putOnce = async (...args) => {
      counted.write = inFlight.count();
      return putOnce(...args);
    };
    const onVerdict = async () => {
      counted.actions = inFlight.count();
    };
    await moderateObject(ref('v1', '01'), { ...deps(store), inFlight, onVerdict });
    expect(counted).toEqual({ existence: 1, write: 0, actions: 0 });
  });

  it('tells the actions an upload is untagged only when its read just found no tags', async () => {
    // Arrange
    const { store } = memoryStore();
    const told: (UploadTags & { key: string })[] = [];
    let clock = Date.parse('2026-12-02T10:00:00Z');
    const d = {
      ...deps(store),
      now: () => new Date(clock),
      onVerdict: async (v: Verdict, upload: UploadTags) =>
        void told.push({ key: v.objectVersion!, ...upload }),
    };
    s3.on(GetObjectCommand, { VersionId: 'tagged' }).callsFake(() => ({ ...body('a note'), TagCount: 2 }));
    const putOnce = store.putOnce.bind(store);
    store.putOnce = async (pk, verdict, options) => {
      // A slow moderation: its read is older than the trusted window when its verdict is stored.
      if (verdict.objectVersion === 'slow') clock += TAG_COUNT_TRUSTED_MS;
      return putOnce(pk, verdict, options);
    };

    // Act
    for (const [version, sequencer] of [
      ['untagged', '01'],
      ['tagged', '02'],
      ['slow', '03'],
      ['untagged', '04'],
    ] as const)
      await moderateObject(ref(version, sequencer), d);

    // Assert: the last is a redelivery, whose verdict was stored by another delivery's read.
    expect(told).toEqual([
      { key: 'untagged', untagged: true },
      { key: 'tagged', untagged: false },
      { key: 'slow', untagged: false },
      { key: 'untagged', untagged: false },
    ]);
  });
});
