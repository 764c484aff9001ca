/**
 * The synchronous path: a request's content judged by the S3 path's code (real collect, matching,
 * scoring and policy over a fixed-probability endpoint) and stored once, keyed by what was judged.
 */
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { submissionOf } from '#shared/api/submission.ts';
import { verdictId } from '#shared/contracts/verdict-table.ts';
import { ModerationError } from '#shared/domain/errors.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { InferenceUnavailableError, InferenceValidationError } from '#shared/inference/client.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import {
  type ContentModeratorDeps,
  moderateContent,
  type Submission,
  submissionKey,
} from '#shared/moderation/moderate-content.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { VerdictItem, VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

const pack = loadPack();

/** A VerdictStore in memory with DynamoDB's put-once condition, counting its calls. */
function memoryStore() {
  const items = new Map<string, VerdictItem>();
  const calls = { get: 0, putOnce: 0 };
  const store: VerdictStore = {
    async get(pk) {
      calls.get++;
      const item = items.get(pk);
      return item && structuredClone(item);
    },
    async putOnce(pk, verdict) {
      calls.putOnce++;
      verdict.id = verdictId(pk);
      if (items.has(pk)) return 'duplicate';
      items.set(pk, structuredClone({ pk, ...verdict }));
      return 'written';
    },
    advanceLatest: async () => 'unordered',
    getCurrent: async () => undefined,
  };
  return { store, items, calls };
}

function deps(store: VerdictStore, inference = fixedInference(pack)) {
  const moderator: ContentModeratorDeps = {
    store,
    models: createModelGateway(inference, pack),
    policy: loadPolicy('balanced'),
    engines: testEngines('sync', { ocr: () => undefined }),
  };
  return { moderator, inference };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const sub = (over: Partial<Submission> = {}): Submission => ({
  tenant: 'acme',
  parts: new Map([['text', bytes('hello there')]]),
  key: 'text',
  sniffed: { kind: 'text', mime: 'text/plain' },
  ...over,
});

describe('submissionKey', () => {
  it('is api://<tenant>/<sha256 hex>, the same for the same content under the same policy', () => {
    const key = submissionKey(sub(), 'balanced-1');
    expect(key).toMatch(/^api:\/\/acme\/[0-9a-f]{64}$/);
    expect(submissionKey(sub(), 'balanced-1')).toBe(key);
    // Part order in the map does not matter.
    const a = sub({
      parts: new Map([
        ['media/0', bytes('x')],
        ['post', bytes('{}')],
      ]),
      key: 'post',
    });
    const b = sub({
      parts: new Map([
        ['post', bytes('{}')],
        ['media/0', bytes('x')],
      ]),
      key: 'post',
    });
    expect(submissionKey(a, 'p')).toBe(submissionKey(b, 'p'));
  });

  it('differs for another tenant, policy version, part bytes, part name, key or sniffed kind', () => {
    const key = submissionKey(sub(), 'balanced-1');
    const others = [
      submissionKey(sub({ tenant: 'globex' }), 'balanced-1'),
      submissionKey(sub(), 'balanced-2'),
      submissionKey(sub({ parts: new Map([['text', bytes('hello therE')]]) }), 'balanced-1'),
      submissionKey(sub({ parts: new Map([['body', bytes('hello there')]]), key: 'body' }), 'balanced-1'),
      submissionKey(sub({ sniffed: undefined }), 'balanced-1'),
      submissionKey(sub({ sniffed: { kind: 'post', mime: 'application/json' } }), 'balanced-1'),
    ];
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
  });

  it('changes with any change to any part, and cannot be fooled by moving bytes between parts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (b, at, x) => {
          const i = at % b.length;
          const changed = Uint8Array.from(b);
          changed[i] = (changed[i]! + x) % 256;
          const of = (m: Uint8Array) =>
            submissionKey(sub({ parts: new Map([['media/0', m]]), key: 'media/0' }), 'p');
          expect(of(changed)).not.toBe(of(b));
          // The same bytes split differently over two parts is different content.
          const split = (k: number) =>
            submissionKey(
              sub({
                parts: new Map([
                  ['media/0', b.slice(0, k)],
                  ['media/1', b.slice(k)],
                ]),
                key: 'post',
              }),
              'p',
            );
          if (b.length > 1) expect(split(0)).not.toBe(split(1));
        },
      ),
    );
  });
});

describe('moderateContent', () => {
  it('judges a text, stores its verdict under its key and stamps the id', async () => {
    const { store, items } = memoryStore();
    const { moderator } = deps(store);
    const s = submissionOf('acme', 'have a lovely day', []);
    const result = await moderateContent(s, moderator);
    const pk = submissionKey(s, moderator.policy.version);
    expect(result.outcome).toBe('written');
    expect(result.verdict.object).toBe(pk);
    expect(result.verdict.id).toBe(verdictId(pk));
    expect(result.verdict.policyVersion).toBe(moderator.policy.version);
    expect(result.verdict.contentType).toBe('text/plain');
    expect(result.verdict.modalities.text?.evidence[0]?.excerpt).toBe('have a lovely day');
    expect(result.verdict.timings.totalMs).toBeGreaterThanOrEqual(0);
    expect([...items.keys()]).toEqual([pk]);
    expect(items.get(pk)?.decision).toBe(result.verdict.decision);
  });

  it('answers a repeated request with the verdict stored the first time, not a second one', async () => {
    const { store, items, calls } = memoryStore();
    const { moderator } = deps(store);
    const first = await moderateContent(submissionOf('acme', 'same words', []), moderator);
    const second = await moderateContent(submissionOf('acme', 'same words', []), moderator);
    expect(second.outcome).toBe('already-moderated');
    expect(second.verdict.id).toBe(first.verdict.id);
    expect(second.verdict.createdAt).toBe(first.verdict.createdAt);
    expect(second.verdict.timings).toEqual(first.verdict.timings);
    expect(calls.putOnce).toBe(2);
    expect(items.size).toBe(1);
    // Another tenant sending the same words gets its own verdict.
    const other = await moderateContent(submissionOf('globex', 'same words', []), moderator);
    expect(other.outcome).toBe('written');
    expect(other.verdict.id).not.toBe(first.verdict.id);
    expect(items.size).toBe(2);
  });

  it('with store: false judges and writes nothing, not even a read', async () => {
    const { store, items, calls } = memoryStore();
    const { moderator } = deps(store);
    const result = await moderateContent(submissionOf('acme', 'do not keep this', []), moderator, {
      store: false,
    });
    expect(result.outcome).toBe('not-stored');
    expect(result.verdict.id).toBeUndefined();
    expect(['allow', 'review', 'block']).toContain(result.verdict.decision);
    expect(items.size).toBe(0);
    expect(calls).toEqual({ get: 0, putOnce: 0 });
  });

  it('answers with the verdict a concurrent twin stored when it lost the write', async () => {
    const { store, items } = memoryStore();
    const { moderator } = deps(store);
    const s = submissionOf('acme', 'raced', []);
    const pk = submissionKey(s, moderator.policy.version);
    const twin = (await moderateContent(s, moderator, { store: false })).verdict;
    items.set(pk, { ...twin, pk, id: verdictId(pk), createdAt: 'the twin' });
    const result = await moderateContent(s, moderator);
    expect(result.outcome).toBe('already-moderated');
    expect(result.verdict.createdAt).toBe('the twin');
    expect(items.get(pk)?.createdAt).toBe('the twin');
  });

  it('refuses content it cannot moderate with a ModerationError and stores nothing', async () => {
    const { store, items } = memoryStore();
    const { moderator } = deps(store);
    const err = await moderateContent(submissionOf('acme', '', []), moderator).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModerationError);
    expect((err as ModerationError).code).toBe('EMPTY_OBJECT');
    const junk = await moderateContent(
      submissionOf('acme', undefined, [new Uint8Array([0, 1, 2, 3, 0xfe, 0xff])]),
      moderator,
    ).catch((e: unknown) => e);
    expect(junk).toBeInstanceOf(ModerationError);
    expect(items.size).toBe(0);
  });

  it('turns an endpoint refusing the input into INFERENCE_REJECTED, and lets an outage through as it is', async () => {
    const { store, items } = memoryStore();
    const rejected = fixedInference(pack, {
      fail: (model) => new InferenceValidationError('bad tensor', { model, endpoint: 'e', retryable: false }),
    });
    const err = await moderateContent(submissionOf('acme', 'hi', []), deps(store, rejected).moderator).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModerationError);
    expect((err as ModerationError).code).toBe('INFERENCE_REJECTED');
    const outage = new InferenceUnavailableError('down', { model: 'text', endpoint: 'e', retryable: true });
    const down = fixedInference(pack, { fail: () => outage });
    await expect(moderateContent(submissionOf('acme', 'hi', []), deps(store, down).moderator)).rejects.toBe(
      outage,
    );
    expect(items.size).toBe(0);
  });

  it("moderates text and an image as one post, the manifest's media read from the request's parts", async () => {
    const { store } = memoryStore();
    const { moderator } = deps(store);
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer();
    const result = await moderateContent(submissionOf('acme', 'my garden', [new Uint8Array(png)]), moderator);
    const verdict: Verdict = result.verdict;
    expect(result.outcome).toBe('written');
    expect(Object.keys(verdict.modalities).sort()).toEqual(expect.arrayContaining(['image', 'text']));
    expect(verdict.modalities.image?.evidence.some((e) => e.source.includes('media/0'))).toBe(true);
  });
});
