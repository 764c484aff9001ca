/**
 * The forwarding decision of the asynchronous path for long media: in the synchronous mode, media
 * over the synchronous limits is forwarded to the long-media queue (original notification, no
 * verdict) when a queue is configured, and gets `TOO_LONG_FOR_SYNC` when none is; in the long mode,
 * media over the long-media limits gets `TOO_LONG`. Real ffmpeg probes on generated tones (the
 * decision is made from the container header, before anything is decoded); S3 and SQS are mocked.
 */
import { Readable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import {
  ConfigError,
  ENV,
  type MediaDecoding,
  readMediaMode,
  readPipelineEnv,
} from '#shared/contracts/env.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import type { InferenceClient } from '#shared/inference/client.ts';
import { LIMITS, LONG_MEDIA_LIMITS, type MediaMode, mediaLimits } from '#shared/ingest/limits.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { createRecordHandler, singleObjectNotification } from '#shared/moderation/record-handler.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { ffmpegOutput } from '#test/fixtures/media/generate.ts';

const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const pack = loadPack();
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/long-media';

/** A mono tone as an 8 kbit/s mp3 (small even when long). */
const tone = (seconds: number) =>
  ffmpegOutput('mp3', (out) => [
    ...['-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=8000:duration=${seconds}`],
    ...['-ac', '1', '-b:a', '8k', out],
  ]);

let overSync: Buffer;
let overLong: Buffer;
beforeAll(async () => {
  [overSync, overLong] = await Promise.all([
    tone(LIMITS.audio.maxSyncDurationS + 10),
    tone(LONG_MEDIA_LIMITS.audio.maxSyncDurationS + 30),
  ]);
}, 60_000);

const notification = (keys: string[]) =>
  JSON.stringify({
    Records: keys.map((key, i) => ({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'b' }, object: { key, size: 1000, versionId: `v${i}` } },
    })),
  });
const record = (body: string) =>
  ({ messageId: 'm1', attributes: { ApproximateReceiveCount: '1' }, body }) as unknown as SQSRecord;

/** ffmpeg and ffprobe that do not exist: any attempt to decode fails the record. */
const NO_FFMPEG = { ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe' };

/** Every model call fails the test: nothing here should reach inference. */
const noInference: InferenceClient = {
  invoke: async (model) => {
    throw new Error(`unexpected call to ${model}`);
  },
};

function handler(mode: MediaMode, withQueue: boolean, options: { mediaDecoding?: MediaDecoding } = {}) {
  const written: Verdict[] = [];
  const store: VerdictStore = {
    get: async () => undefined,
    putOnce: async (_pk, verdict) => {
      written.push(verdict);
      return 'written';
    },
    advanceLatest: async () => 'unordered',
    getCurrent: async () => undefined,
  };
  const handle = createRecordHandler({
    s3: s3 as unknown as S3Client,
    store,
    models: createModelGateway(noInference, pack),
    policy: loadPolicy('balanced'),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    // With MEDIA_DECODING=forward, as in the zip Lambda: there is no ffmpeg to run.
    engines: testEngines(mode, options.mediaDecoding === 'forward' ? { media: NO_FFMPEG } : {}),
    mediaDecoding: options.mediaDecoding,
    ...(withQueue && { longMedia: { sqs: sqs as unknown as SQSClient, queueUrl: QUEUE_URL } }),
  });
  return { handle, written };
}

const serve = (bytes: Uint8Array) =>
  s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(bytes)])) }));

describe('media over the synchronous limits', () => {
  beforeEach(() => {
    s3.reset();
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'x' });
  });

  it('is forwarded to the long-media queue with the original body, and gets no verdict here', async () => {
    serve(overSync);
    const { handle, written } = handler('sync', true);
    const body = notification(['uploads/talk.mp3']);
    await handle(record(body));
    const sent = sqs.commandCalls(SendMessageCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.args[0].input).toEqual({ QueueUrl: QUEUE_URL, MessageBody: body });
    expect(written).toEqual([]);
  });

  it('gets TOO_LONG_FOR_SYNC when no long-media queue is configured', async () => {
    serve(overSync);
    const { handle, written } = handler('sync', false);
    await handle(record(notification(['uploads/talk.mp3'])));
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ decision: 'error', error: { code: 'TOO_LONG_FOR_SYNC' } });
  });

  it('fails the record (so SQS redelivers it) when forwarding fails, writing nothing', async () => {
    serve(overSync);
    sqs.on(SendMessageCommand).rejects(new Error('throttled'));
    const { handle, written } = handler('sync', true);
    await expect(handle(record(notification(['uploads/talk.mp3'])))).rejects.toThrow('throttled');
    expect(written).toEqual([]);
  });

  it('is moderated in the long mode, which never forwards: over its own limits it gets TOO_LONG', async () => {
    serve(overLong);
    const { handle, written } = handler('long', true);
    await handle(record(notification(['uploads/talk.mp3'])));
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ decision: 'error', error: { code: 'TOO_LONG' } });
    expect(written[0]?.error?.message).toMatch(/long-media limit is 900 s/);
  });
});

describe('MEDIA_DECODING=forward: every upload that needs ffmpeg goes to the media function', () => {
  beforeEach(() => {
    s3.reset();
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'x' });
  });

  it('forwards short audio from its sniffed type, before anything is decoded, and writes no verdict', async () => {
    serve(await tone(2));
    const { handle, written } = handler('sync', true, { mediaDecoding: 'forward' });
    const body = notification(['uploads/short.mp3']);
    await handle(record(body));
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, MessageBody: body },
    ]);
    expect(written).toEqual([]);
  });

  it('forwards a post whole when one of its media is audio', async () => {
    const post = Buffer.from(JSON.stringify({ text: 'listen', media: ['voice.mp3'] }));
    const voice = await tone(2);
    s3.on(GetObjectCommand, { Key: 'uploads/p/post.json' })
      .callsFake(() => ({ Body: sdkStreamMixin(Readable.from([post])) }))
      .on(GetObjectCommand, { Key: 'uploads/p/voice.mp3' })
      .callsFake(() => ({ Body: sdkStreamMixin(Readable.from([voice])) }));
    const { handle, written } = handler('sync', true, { mediaDecoding: 'forward' });
    const body = notification(['uploads/p/post.json']);
    await handle(record(body));
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody).toBe(body);
    expect(written).toEqual([]);
  });

  it('keeps what needs no ffmpeg: an image is decided here (a truncated PNG: IMAGE_DECODE_FAILED)', async () => {
    serve(Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(16)]));
    const { handle, written } = handler('sync', true, { mediaDecoding: 'forward' });
    await handle(record(notification(['uploads/cut.png'])));
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ decision: 'error', error: { code: 'IMAGE_DECODE_FAILED' } });
  });

  it('decodes locally without it (MEDIA_DECODING=local): short audio is not forwarded', async () => {
    serve(await tone(2));
    const { handle } = handler('sync', true);
    // The tone has no speech, so no model is called; whatever the verdict, nothing is forwarded.
    await handle(record(notification(['uploads/short.mp3']))).catch(() => undefined);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('reads MEDIA_DECODING: local by default, forward only with the synchronous mode and a queue', () => {
    const base = { [ENV.tableName]: 't' };
    expect(readPipelineEnv(base).mediaDecoding).toBe('local');
    expect(
      readPipelineEnv({ ...base, [ENV.mediaDecoding]: 'forward', [ENV.longMediaQueueUrl]: QUEUE_URL })
        .mediaDecoding,
    ).toBe('forward');
    expect(() => readPipelineEnv({ ...base, [ENV.mediaDecoding]: 'remote' })).toThrow(
      'environment variable MEDIA_DECODING must be local, forward or none, got remote',
    );
    expect(() => readPipelineEnv({ ...base, [ENV.mediaDecoding]: 'forward' })).toThrow(
      /MEDIA_DECODING=forward needs MEDIA_MODE=sync and LONG_MEDIA_QUEUE_URL/,
    );
    expect(() =>
      readPipelineEnv({
        ...base,
        [ENV.mediaDecoding]: 'forward',
        [ENV.mediaMode]: 'long',
        [ENV.longMediaQueueUrl]: QUEUE_URL,
      }),
    ).toThrow(ConfigError);
  });
});

describe('long-media configuration', () => {
  it('forwards only the named object of a notification that names several', () => {
    const body = notification(['uploads/a.mp3', 'uploads/long+talk.mp3']);
    const forwarded = JSON.parse(
      singleObjectNotification(body, { bucket: 'b', key: 'uploads/long talk.mp3', versionId: 'v1' }),
    );
    expect(forwarded.Records).toHaveLength(1);
    expect(forwarded.Records[0].s3.object.key).toBe('uploads/long+talk.mp3');
  });

  it('selects higher limits in the long mode and validates MEDIA_MODE', () => {
    expect(mediaLimits('sync').video.maxSyncDurationS).toBe(LIMITS.video.maxSyncDurationS);
    expect(mediaLimits('long').audio.maxSyncDurationS).toBeGreaterThan(LIMITS.audio.maxSyncDurationS);
    expect(mediaLimits('long').video.maxSyncDurationS).toBeGreaterThan(LIMITS.video.maxSyncDurationS);
    expect(mediaLimits('long').video.maxFrames).toBeGreaterThan(LIMITS.video.maxFrames);
    expect(readMediaMode({})).toBe('sync');
    expect(readMediaMode({ MEDIA_MODE: 'long' })).toBe('long');
    expect(() => readMediaMode({ MEDIA_MODE: 'async' })).toThrow(ConfigError);
  });
});
