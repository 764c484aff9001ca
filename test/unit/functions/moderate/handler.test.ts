import { Readable } from 'node:stream';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TENSOR_CONTENT_TYPE } from '#shared/contracts/tensor-wire.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import {
  decodeTensorMessage,
  decodeTensors,
  encodeTensor,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';
import { loadPolicy } from '#shared/policy/policy.ts';

const s3 = mockClient(S3Client);
const sagemaker = mockClient(SageMakerRuntimeClient);
const ddb = mockClient(DynamoDBDocumentClient);
const events = mockClient(EventBridgeClient);

type Handler = (
  event: SQSEvent,
  context: Context,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;

const context = {
  functionName: 'moderate',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

function record(id: string, key: string): SQSRecord {
  const body = JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: {
          bucket: { name: 'uploads' },
          object: { key, size: 10, eTag: `etag-${id}`, versionId: `v-${id}` },
        },
      },
    ],
  });
  return { messageId: id, body } as SQSRecord;
}

const stream = (bytes: Uint8Array) => sdkStreamMixin(Readable.from([bytes]));

/** The tensors of a request, in whichever wire it was sent. */
function sentInputs(input: { Body?: unknown; ContentType?: string }): Record<string, Tensor> {
  return input.ContentType === TENSOR_CONTENT_TYPE
    ? decodeTensorMessage(input.Body as Uint8Array).tensors
    : decodeTensors(JSON.parse(input.Body as string).inputs);
}

/** Canned endpoint outputs: the shape follows the request's batch, as a real endpoint's would. */
function fakeEndpoint(endpoint: string, input: { Body?: unknown; ContentType?: string }) {
  const inputs = sentInputs(input);
  const batch = Object.values(inputs)[0]!.dims[0]!;
  const canned: Record<string, { probs: number[]; name: string }> = {
    'text-toxicity': { probs: [0.91, 0.4, 0.97], name: 'text-toxicity' },
    'image-nsfw': { probs: [0.05, 0.01, 0.9, 0.02, 0.02], name: 'image-nsfw' },
    fusion: { probs: [0.03, 0.9, 0.95, 0.97], name: 'fusion' },
  };
  const c = canned[endpoint]!;
  const data = Float32Array.from({ length: batch * c.probs.length }, (_, i) => c.probs[i % c.probs.length]!);
  const outputs = { probs: encodeTensor({ dtype: 'float32', dims: [batch, c.probs.length], data }) };
  return {
    Body: new TextEncoder().encode(JSON.stringify({ model: { name: c.name, version: '1.0.0' }, outputs })),
  };
}

beforeAll(async () => {
  process.env.TABLE_NAME = 'verdicts';
  process.env.QUARANTINE_BUCKET = 'quarantine';
  process.env.EVENT_BUS_NAME = 'moderation-bus';
  process.env.AWS_REGION = 'us-east-1';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = (await import('#functions/moderate/handler.ts')) as unknown as { handler: Handler });
});

beforeEach(() => {
  s3.reset();
  sagemaker.reset();
  ddb.reset();
  events.reset();
  s3.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
  s3.on(PutObjectTaggingCommand).resolves({});
  s3.on(CopyObjectCommand).resolves({});
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  ddb.on(GetCommand).resolves({});
  // The records of a batch ask for existing verdicts in one read (shared/verdict/batched-gets.ts).
  ddb.on(BatchGetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  sagemaker.on(InvokeEndpointCommand).callsFake((input) => fakeEndpoint(input.EndpointName, input));
});

const written = () =>
  ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Verdict & { pk: string });

describe('moderate handler', () => {
  it('moderates a batch: decodes keys, sniffs, scores, applies the policy, writes one verdict each', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer();
    s3.on(GetObjectCommand, { Key: 'uploads/my note.txt' }).resolves({
      Body: stream(Buffer.from('you idiot')),
    });
    s3.on(GetObjectCommand, { Key: 'uploads/photo.bin' }).resolves({ Body: stream(png) });

    const result = await handler(
      { Records: [record('1', 'uploads/my+note.txt'), record('2', 'uploads/photo.bin')] },
      context,
    );

    expect(result.batchItemFailures).toEqual([]);
    const verdicts = written();
    expect(verdicts.map((v) => v.pk).sort()).toEqual([
      'uploads/uploads/my note.txt#v-1',
      'uploads/uploads/photo.bin#v-2',
    ]);
    const text = verdicts.find((v) => v.pk.includes('note'))!;
    expect(text.object).toBe('s3://uploads/uploads/my note.txt');
    expect(text.contentType).toBe('text/plain');
    // The fused harassment 0.95 is past the balanced preset's block threshold.
    expect(0.95).toBeGreaterThanOrEqual(loadPolicy('balanced').thresholds.harassment!.block);
    expect(text.decision).toBe('block');
    expect(text.reasons.some((r) => r.startsWith('harassment 0.95 ≥ block'))).toBe(true);
    // The text model scores all five categories (sexual = sexual harassment in text), so none is unscored.
    expect(Object.keys(text.categories).sort()).toEqual([
      'harassment',
      'hate',
      'offensive',
      'sexual',
      'violence',
    ]);
    expect(text.unscoredCategories).toEqual([]);
    expect(text.modalities.text?.evidence[0]?.excerpt).toBe('you idiot');
    expect(text.modelVersions).toEqual({ 'text-toxicity': '1.0.0', fusion: '1.0.0' });
    expect(text.policyVersion).toMatch(/^balanced-/);
    const image = verdicts.find((v) => v.pk.includes('photo'))!;
    expect(image.contentType).toBe('image/png'); // from the bytes, not the .bin name
    expect(image.modalities.image?.scores.sexual).toBeCloseTo(0.05, 5);
    // Both endpoints received compact tensors: uint8 pixels for the image, hashed ids for the text.
    const imageCall = sagemaker
      .commandCalls(InvokeEndpointCommand)
      .find((c) => c.args[0].input.EndpointName === 'image-nsfw')!;
    // The bundled manifests admit the binary wire, so the pipeline sends it.
    expect(imageCall.args[0].input.ContentType).toBe(TENSOR_CONTENT_TYPE);
    const sent = sentInputs(imageCall.args[0].input);
    expect(sent.image?.dtype).toBe('uint8');
    expect(sent.image?.dims).toEqual([1, 224, 224, 3]);
  });

  it('tags the upload, quarantines a block and publishes the verdict event after the write', async () => {
    s3.on(GetObjectCommand, { Key: 'uploads/mean.txt' }).resolves({ Body: stream(Buffer.from('you idiot')) });

    await handler({ Records: [record('1', 'uploads/mean.txt')] }, context);

    const tags = s3.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input;
    expect(tags?.Key).toBe('uploads/mean.txt');
    expect(tags?.Tagging?.TagSet).toContainEqual({ Key: 'moderation-decision', Value: 'block' });
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input.Bucket).toBe('quarantine');
    const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry?.DetailType).toBe('Moderation Verdict');
    expect(entry?.EventBusName).toBe('moderation-bus');
    expect(JSON.parse(entry?.Detail ?? '{}').decision).toBe('block');
  });

  it('writes an error verdict for a corrupt upload and still moderates the rest of the batch', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123' } })
      .png()
      .toBuffer();
    s3.on(GetObjectCommand, { Key: 'uploads/broken.png' }).resolves({
      Body: stream(png.subarray(0, png.length - 20)),
    });
    s3.on(GetObjectCommand, { Key: 'uploads/ok.txt' }).resolves({ Body: stream(Buffer.from('hello')) });

    const result = await handler(
      { Records: [record('1', 'uploads/broken.png'), record('2', 'uploads/ok.txt')] },
      context,
    );

    expect(result.batchItemFailures).toEqual([]);
    const broken = written().find((v) => v.pk.includes('broken'))!;
    expect(broken.decision).toBe('error');
    expect(broken.error?.code).toBe('IMAGE_DECODE_FAILED');
    // 'ok.txt', not 'ok': "broken" contains "ok" too.
    expect(written().find((v) => v.pk.includes('ok.txt'))?.decision).not.toBe('error');
  });

  it('turns a deleted object into an error verdict, not a crash', async () => {
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('gone'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }),
    );
    const result = await handler({ Records: [record('1', 'uploads/gone.txt')] }, context);
    expect(result.batchItemFailures).toEqual([]);
    expect(written()[0]?.error?.code).toBe('OBJECT_NOT_FOUND');
  });

  it('reports only the record whose endpoint call failed, so only it is redelivered', async () => {
    s3.on(GetObjectCommand, { Key: 'uploads/a.txt' }).resolves({ Body: stream(Buffer.from('first text')) });
    s3.on(GetObjectCommand, { Key: 'uploads/b.png' }).resolves({
      Body: stream(
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      ),
    });
    sagemaker
      .on(InvokeEndpointCommand, { EndpointName: 'image-nsfw' })
      .rejects(
        Object.assign(new Error('busy'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }),
      );

    const result = await handler(
      { Records: [record('1', 'uploads/a.txt'), record('2', 'uploads/b.png')] },
      context,
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '2' }]);
    expect(written().map((v) => v.pk)).toEqual(['uploads/uploads/a.txt#v-1']);
  });

  it('skips an object version that already has a verdict (redelivery) without calling any model', async () => {
    const stored = {
      pk: 'uploads/uploads/a.txt#v-1',
      object: 's3://uploads/uploads/a.txt',
      objectVersion: 'v-1',
      decision: 'allow',
      score: 0.1,
      categories: {},
      unscoredCategories: [],
      reasons: [],
      modalities: {},
      modelVersions: {},
      policyVersion: 'balanced-x',
      timings: {},
      createdAt: '2026-11-22T00:00:00.000Z',
    };
    ddb.on(GetCommand).resolves({ Item: stored });
    const result = await handler({ Records: [record('1', 'uploads/a.txt')] }, context);
    expect(result.batchItemFailures).toEqual([]);
    expect(sagemaker.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    // The verdict's actions run again: a redelivery is how a failed tag or event gets retried.
    expect(s3.commandCalls(PutObjectTaggingCommand)).toHaveLength(1);
  });

  it('fails a record whose body is not an S3 notification, without failing the batch', async () => {
    s3.on(GetObjectCommand).resolves({ Body: stream(Buffer.from('fine')) });
    const bad = { messageId: 'bad', body: '{"hello":1}' } as SQSRecord;
    const result = await handler({ Records: [bad, record('2', 'uploads/fine.txt')] }, context);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(written()).toHaveLength(1);
  });
});
