import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotificationParseError } from '#shared/events/s3-notification.ts';
import {
  createDeadLetterRecordHandler,
  DEAD_LETTER_CODE,
  recordDeadLetter,
} from '#shared/verdict/dead-letter.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const store = createVerdictStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  'verdicts',
);
const now = () => new Date('2026-11-22T12:00:00.000Z');

function notification(key: string, versionId = 'v1'): string {
  return JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'uploads-bucket' }, object: { key, size: 10, eTag: 'abc', versionId } },
      },
    ],
  });
}

describe('recordDeadLetter', () => {
  beforeEach(() => ddb.reset());

  it('writes an error verdict for the dead-lettered object version, only if it has none', async () => {
    ddb.on(PutCommand).resolves({});

    const result = await recordDeadLetter(notification('uploads/a+b.png'), {
      store,
      policyVersion: 'p1',
      now,
    });

    expect(result.written).toHaveLength(1);
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.TableName).toBe('verdicts');
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input.Item).toMatchObject({
      pk: 'uploads-bucket/uploads/a b.png#v1',
      object: 's3://uploads-bucket/uploads/a b.png',
      objectVersion: 'v1',
      decision: 'error',
      score: 0,
      error: { code: DEAD_LETTER_CODE, message: expect.stringContaining('dead-lettered') },
      policyVersion: 'p1',
      createdAt: '2026-11-22T12:00:00.000Z',
    });
    expect(DEAD_LETTER_CODE).toBe('PROCESSING_FAILED');
  });

  it('keeps a verdict that already exists (a late success or a redelivery)', async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));

    const result = await recordDeadLetter(notification('uploads/x.txt'), { store, policyVersion: 'p1', now });

    expect(result).toMatchObject({ written: [], existing: [{ key: 'uploads/x.txt' }] });
  });

  it('writes nothing for the S3 test event', async () => {
    const result = await recordDeadLetter(JSON.stringify({ Event: 's3:TestEvent' }), {
      store,
      policyVersion: 'p1',
    });

    expect(result).toEqual({ written: [], existing: [] });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('rejects a body that is not an S3 notification', async () => {
    await expect(recordDeadLetter('{"hello":1}', { store, policyVersion: 'p1' })).rejects.toThrow(
      NotificationParseError,
    );
  });
});

describe('dead-letter record handler', () => {
  beforeEach(() => ddb.reset());
  const logger = new Logger({ logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
  const record = (body: string) => ({ messageId: 'm1', body }) as SQSRecord;

  it('drops a record that can never be recorded instead of failing it forever', async () => {
    const handle = createDeadLetterRecordHandler({ store, policyVersion: 'p1', logger, metrics });

    await expect(handle(record('not json'))).resolves.toBeUndefined();
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('fails the record when the write fails, so it stays in the queue', async () => {
    ddb.on(PutCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const handle = createDeadLetterRecordHandler({ store, policyVersion: 'p1', logger, metrics });

    await expect(handle(record(notification('uploads/y.png')))).rejects.toThrow('throttled');
  });
});
