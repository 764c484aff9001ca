import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { withBatchedGets } from '#shared/verdict/batched-gets.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const store = () => withBatchedGets(createVerdictStore(doc, 't'), doc, 't');

beforeEach(() => ddb.reset());

describe('withBatchedGets', () => {
  it('reads concurrent gets with one strongly consistent BatchGetItem and answers each its own item', async () => {
    // Arrange
    ddb.on(BatchGetCommand).resolves({ Responses: { t: [{ pk: 'a', decision: 'allow' }] } });
    const s = store();

    // Act
    const [a, b, again] = await Promise.all([s.get('a'), s.get('b'), s.get('a')]);

    // Assert
    expect(a?.decision).toBe('allow');
    expect(again?.decision).toBe('allow');
    expect(b).toBeUndefined();
    const calls = ddb.commandCalls(BatchGetCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.RequestItems?.t).toEqual({
      Keys: [{ pk: 'a' }, { pk: 'b' }],
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('keeps a lone get a consistent GetItem', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: { pk: 'a', decision: 'block' } });

    // Act
    const a = await store().get('a');

    // Assert
    expect(a?.decision).toBe('block');
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('asks again one by one for keys left unprocessed, never answering them "no verdict"', async () => {
    // Arrange
    ddb
      .on(BatchGetCommand)
      .resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [{ pk: 'b' }] } } });
    ddb.on(GetCommand, { Key: { pk: 'b' } }).resolves({ Item: { pk: 'b', decision: 'review' } });

    const s = store();

    // Act
    const [a, b] = await Promise.all([s.get('a'), s.get('b')]);

    // Assert
    expect(a).toBeUndefined();
    expect(b?.decision).toBe('review');
  });

  it('fails every get of the batch when the read fails', async () => {
    // Arrange
    ddb.on(BatchGetCommand).rejects(new Error('throttled'));
    const s = store();

    // Act
    const results = await Promise.allSettled([s.get('a'), s.get('b')]);

    // Assert
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
