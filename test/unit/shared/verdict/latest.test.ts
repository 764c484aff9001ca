import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Verdict } from '#shared/domain/verdict.ts';
import {
  latestKey,
  normaliseSequencer,
  type ObjectRef,
  parseS3Notification,
  SEQUENCER_WIDTH,
} from '#shared/events/s3-notification.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const store = createVerdictStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  't',
);
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'no', $metadata: {} });

const verdict: Verdict = {
  object: 's3://b/k',
  decision: 'allow',
  score: 0.1,
  categories: {},
  unscoredCategories: [],
  reasons: [],
  modalities: {},
  modelVersions: {},
  policyVersion: 'p1',
  timings: {},
  createdAt: '2026-11-22T00:00:00.000Z',
};
const ref = (versionId: string, sequencer?: string): ObjectRef => ({
  bucket: 'b',
  key: 'uploads/a b.txt',
  versionId,
  sequencer: normaliseSequencer(sequencer),
});

describe('S3 sequencers', () => {
  it('are kept from the notification, normalised to a fixed width so string order is event order', () => {
    const body = JSON.stringify({
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: 'b' },
            object: { key: 'k', versionId: 'v', sequencer: '0055AED6DCD90281E5' },
          },
        },
      ],
    });
    const [parsed] = parseS3Notification(body);
    expect(parsed?.sequencer).toHaveLength(SEQUENCER_WIDTH);
    expect(parsed?.sequencer?.startsWith('0055AED6DCD90281E5')).toBe(true);
  });

  it('compare as S3 documents: right-pad the shorter with zeros, then compare lexicographically', () => {
    const order = ['0055AED6DCD90281E5', '0055AED6DCD90281E6', '0055aed6dcd90281f', '0056'].map(
      normaliseSequencer,
    );
    expect([...order].sort()).toEqual(order);
    expect(normaliseSequencer('00A')).toBe(normaliseSequencer('00a0'));
  });

  it('are ignored when not hex (nothing can be said about order)', () => {
    expect(normaliseSequencer('not-hex')).toBeUndefined();
    expect(normaliseSequencer('')).toBeUndefined();
    expect(normaliseSequencer('F'.repeat(65))).toBeUndefined();
    expect(normaliseSequencer(undefined)).toBeUndefined();
    expect(normaliseSequencer(1732300000000)).toBe(normaliseSequencer((1732300000000).toString(16)));
  });
});

describe('the per-key latest pointer', () => {
  beforeEach(() => ddb.reset());

  it('points the key at this version unless a later sequencer got there first', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await store.advanceLatest(ref('v2', '00B1'), new Date('2026-11-22T00:00:00Z'))).toBe('advanced');
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({
      pk: 'latest#b/uploads/a b.txt',
      verdictPk: 'b/uploads/a b.txt#v2',
      objectVersion: 'v2',
      sequencer: normaliseSequencer('00B1'),
      updatedAt: '2026-11-22T00:00:00.000Z',
    });
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk) OR #seq < :seq');
    expect(input.ExpressionAttributeValues).toEqual({ ':seq': normaliseSequencer('00B1') });
    // No decision/createdAt: the pointer never appears in the review index.
    expect(input.Item).not.toHaveProperty('decision');
  });

  it('reports an older (or the same) version arriving late as not newer, without failing', async () => {
    ddb.on(PutCommand).rejects(conditionFailed());
    expect(await store.advanceLatest(ref('v1', '00A0'))).toBe('not-newer');
  });

  it('leaves the pointer alone when the notification had no sequencer', async () => {
    expect(await store.advanceLatest(ref('v1'))).toBe('unordered');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('lets other errors through, so the message is retried', async () => {
    ddb.on(PutCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(store.advanceLatest(ref('v1', '01'))).rejects.toThrow('throttled');
  });

  it('answers the current verdict of a key by following the pointer', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { Key: { pk: latestKey(ref('v2')) } }).resolves({
      Item: { pk: latestKey(ref('v2')), verdictPk: 'b/uploads/a b.txt#v2', sequencer: '1' },
    });
    ddb.on(GetCommand, { Key: { pk: 'b/uploads/a b.txt#v2' } }).resolves({
      Item: { pk: 'b/uploads/a b.txt#v2', ...verdict, decision: 'block' },
    });
    expect((await store.getCurrent({ bucket: 'b', key: 'uploads/a b.txt' }))?.decision).toBe('block');
    expect(await store.getCurrent({ bucket: 'b', key: 'never/seen' })).toBeUndefined();
  });
});

describe('replacing a dead-letter placeholder', () => {
  beforeEach(() => ddb.reset());

  it('may overwrite only an error verdict with the given code', async () => {
    ddb.on(PutCommand).resolves({});
    await store.putOnce('b/k#v1', verdict, { replaceErrorCode: 'PROCESSING_FAILED' });
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk) OR #error.#code = :replace');
    expect(input.ExpressionAttributeNames).toEqual({ '#error': 'error', '#code': 'code' });
    expect(input.ExpressionAttributeValues).toEqual({ ':replace': 'PROCESSING_FAILED' });
  });

  it('keeps any other existing verdict (the write reports a duplicate)', async () => {
    ddb.on(PutCommand).rejects(conditionFailed());
    expect(await store.putOnce('b/k#v1', verdict, { replaceErrorCode: 'PROCESSING_FAILED' })).toBe(
      'duplicate',
    );
  });
});
