import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Verdict } from '#shared/domain/verdict.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

const verdict: Verdict = {
  object: 's3://b/k',
  decision: 'allow',
  score: 0.1,
  categories: { hate: 0.1 },
  unscoredCategories: ['violence'],
  reasons: [],
  modalities: {},
  modelVersions: { fusion: '1' },
  policyVersion: 'p1',
  timings: { totalMs: 3 },
  createdAt: '2026-11-22T00:00:00.000Z',
};

describe('verdict store', () => {
  beforeEach(() => ddb.reset());

  it('writes the verdict with its key, only if none exists for that object version', async () => {
    ddb.on(PutCommand).resolves({});
    const store = createVerdictStore(doc, 'verdicts');
    expect(await store.putOnce('b/k#v1', verdict)).toBe('written');
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.TableName).toBe('verdicts');
    expect(input.Item).toEqual({ pk: 'b/k#v1', ...verdict });
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('reports a lost race as a duplicate instead of failing', async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    expect(await createVerdictStore(doc, 't').putOnce('k', verdict)).toBe('duplicate');
  });

  it('lets other errors through so the message is retried', async () => {
    ddb
      .on(PutCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(createVerdictStore(doc, 't').putOnce('k', verdict)).rejects.toThrow('slow down');
  });

  it('reads a verdict back with a consistent read', async () => {
    ddb.on(GetCommand, { TableName: 't', Key: { pk: 'k' } }).resolves({ Item: { pk: 'k', ...verdict } });
    expect((await createVerdictStore(doc, 't').get('k'))?.decision).toBe('allow');
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input.ConsistentRead).toBe(true);
  });
});
