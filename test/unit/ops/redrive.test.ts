import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { redriveByCopy, startMoveTask } from '#ops/redrive.ts';

const sqs = new SQSClient({ region: 'us-east-1' });
const sqsMock = mockClient(sqs);
const DLQ = 'https://sqs.us-east-1.amazonaws.com/1/ingest-dlq';
const INGEST = 'https://sqs.us-east-1.amazonaws.com/1/ingest';
const message = (i: number) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body: `{"Records":[${i}]}` });

describe('redrive by copy', () => {
  beforeEach(() => sqsMock.reset());

  it('sends each dead letter to the ingest queue, then deletes it from the DLQ, until the DLQ is empty', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message(1), message(2)] })
      .resolvesOnce({ Messages: [message(3)] })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'x', MD5OfMessageBody: 'y' })),
    }));
    sqsMock.on(DeleteMessageBatchCommand).resolves({});

    expect(await redriveByCopy({ sqs, from: DLQ, to: INGEST })).toEqual({ moved: 3, failed: 0 });

    const sent = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(sent.map((e) => e.MessageBody)).toEqual(['{"Records":[1]}', '{"Records":[2]}', '{"Records":[3]}']);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.QueueUrl).toBe(INGEST);
    const deleted = sqsMock
      .commandCalls(DeleteMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['r1', 'r2', 'r3']);
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input.QueueUrl).toBe(DLQ);
  });

  it('leaves a message in the DLQ when the ingest queue refused it (never deleted unsent)', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message(1), message(2)] })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '1', MessageId: 'x', MD5OfMessageBody: 'y' }],
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({});

    expect(await redriveByCopy({ sqs, from: DLQ, to: INGEST })).toEqual({ moved: 1, failed: 1 });
    const deleted = sqsMock
      .commandCalls(DeleteMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['r2']);
  });

  it('moves no more than --max', async () => {
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [message(1), message(2)] });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'x', MD5OfMessageBody: 'y' })),
    }));
    sqsMock.on(DeleteMessageBatchCommand).resolves({});

    expect(await redriveByCopy({ sqs, from: DLQ, to: INGEST, max: 3 })).toEqual({ moved: 3, failed: 0 });
    // The last receive asked for one message only (and a second one answered anyway is not moved).
    expect(sqsMock.commandCalls(ReceiveMessageCommand).at(-1)!.args[0].input.MaxNumberOfMessages).toBe(1);
  });
});

describe('redrive by SQS move task', () => {
  beforeEach(() => sqsMock.reset());

  it('starts StartMessageMoveTask from the DLQ, back to the source queue unless told otherwise', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    expect(await startMoveTask({ sqs, sourceArn: 'arn:aws:sqs:us-east-1:1:ingest-dlq' })).toBe('task-1');
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).toEqual({
      SourceArn: 'arn:aws:sqs:us-east-1:1:ingest-dlq',
    });
  });
});
