import { Readable } from 'node:stream';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { logger } from '#shared/clients/powertools.ts';
import { InferenceUnavailableError } from '#shared/inference/client.ts';
import { describeError, objectId, pseudonym, redact, redactingReplacer } from '#shared/logging/redact.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { createRecordHandler } from '#shared/moderation/record-handler.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

describe('redaction helpers', () => {
  it('replaces content fields by their length and key fields by a stable pseudonym, at any depth', () => {
    const out = redact({
      key: 'uploads/jane.doe@example.com/diary.txt',
      verdict: {
        decision: 'block',
        modalities: { text: { evidence: [{ excerpt: 'my secret words', scores: { hate: 0.9 } }] } },
      },
      text: 'the whole upload',
      list: [{ source: 's3://b/uploads/jane.doe@example.com/x.png' }],
    });
    const json = JSON.stringify(out);
    expect(json).not.toContain('jane.doe');
    expect(json).not.toContain('secret');
    expect(json).not.toContain('whole upload');
    expect(json).toContain('block');
    expect(out).toMatchObject({
      key: pseudonym('uploads/jane.doe@example.com/diary.txt'),
      text: '[redacted 16 chars]',
    });
  });

  it('names objects by a pseudonym of their verdict key', () => {
    const ref = { bucket: 'b', key: 'uploads/x.txt', versionId: 'v1' };
    expect(objectId(ref)).toBe(pseudonym('b/uploads/x.txt#v1'));
    expect(objectId(ref)).toMatch(/^obj_[0-9a-f]{16}$/);
    expect(objectId({ ...ref, versionId: 'v2' })).not.toBe(objectId(ref));
  });

  it('describes errors by name, code and retryability, never by message', () => {
    const err = Object.assign(new Error('cannot read s3://b/uploads/jane.doe.txt'), {
      code: 'ACCESS_DENIED',
    });
    expect(describeError(err)).toEqual({ name: 'Error', code: 'ACCESS_DENIED' });
    expect(JSON.stringify(redact({ error: err }))).not.toContain('jane');
  });

  it('blanks content fields in any log line (the Logger’s JSON replacer)', () => {
    const line = JSON.stringify(
      { message: 'x', excerpt: 'secret', nested: { text: 'also secret' } },
      redactingReplacer,
    );
    expect(line).not.toContain('secret');
    expect(line).toContain('"message":"x"');
  });
});

describe("the record handler's logs", () => {
  const s3 = mockClient(S3Client);
  const pack = loadPack();
  const SECRET = 'Jane Doe confides: my bank PIN is 4921 and I live at 12 Hidden Lane';
  const PERSONAL_KEY = 'uploads/jane.doe@example.com/my diary 2026.txt';
  let lines: string[];

  const inference = (fail: boolean) =>
    fixedInference(pack, {
      probability: 0.9,
      ...(fail && {
        fail: (model) =>
          new InferenceUnavailableError(`throttled: ${SECRET}`, { model, endpoint: model, retryable: true }),
      }),
    });
  const store: VerdictStore = {
    get: async () => undefined,
    putOnce: async () => 'written',
    advanceLatest: async () => 'unordered',
    getCurrent: async () => undefined,
  };
  const handlerWith = (fail = false) =>
    createRecordHandler({
      s3: s3 as unknown as S3Client,
      store,
      models: createModelGateway(inference(fail), pack),
      policy: loadPolicy('balanced'),
      engines: testEngines(),
      logger,
      metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    });
  const record = (key: string) =>
    ({
      messageId: 'm1',
      attributes: { ApproximateReceiveCount: '1' },
      body: JSON.stringify({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: {
              bucket: { name: 'b' },
              object: { key: encodeURIComponent(key), size: 100, versionId: 'v1' },
            },
          },
        ],
      }),
    }) as unknown as SQSRecord;
  const logged = () => lines.join('');

  beforeEach(() => {
    s3.reset();
    lines = [];
    logger.setLogLevel('DEBUG');
    // Powertools writes info to stdout and warnings/errors to stderr: capture both.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('never contain the object’s text or its user-chosen key, on success', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(SECRET)])) }));
    await handlerWith()(record(PERSONAL_KEY));
    expect(logged()).toContain('"message":"moderated"');
    expect(logged()).toContain(objectId({ bucket: 'b', key: PERSONAL_KEY, versionId: 'v1' }));
    expect(logged()).not.toContain('4921');
    expect(logged()).not.toContain('Hidden Lane');
    expect(logged()).not.toContain('jane.doe');
    expect(logged()).not.toContain('diary');
  });

  it('never contain a manifest’s media references when the post is refused', async () => {
    const manifest = JSON.stringify({ text: 'hi', media: ['https://jane-doe.example/private/4921.jpg'] });
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: sdkStreamMixin(Readable.from([Buffer.from(manifest)])),
    }));
    await handlerWith()(record('uploads/jane.doe/post.json'));
    expect(logged()).toContain('MEDIA_OUTSIDE_PREFIX');
    expect(logged()).not.toContain('jane');
    expect(logged()).not.toContain('4921');
  });

  it('never contain them when moderation fails and the message is retried', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(SECRET)])) }));
    await expect(handlerWith(true)(record(PERSONAL_KEY))).rejects.toBeInstanceOf(InferenceUnavailableError);
    expect(logged()).toContain('moderation failed');
    expect(logged()).toContain('InferenceUnavailableError');
    expect(logged()).not.toContain('4921');
    expect(logged()).not.toContain('jane.doe');
  });
});
