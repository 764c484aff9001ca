import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { startEventSource } from '#local/event-source.ts';

/**
 * An SQS client whose receives wait until the test answers them or their abort signal fires, as a
 * long poll does. The event source passes the signal in the send options, which a mocked client
 * (aws-sdk-client-mock) never sees, hence this small fake.
 */
function fakeSqs() {
  const receives: { answer(messages: Message[]): void; signal?: AbortSignal }[] = [];
  const deletes: string[][] = [];
  let receiveArrived: () => void = () => undefined;
  const send = vi.fn(async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
    if (command instanceof DeleteMessageBatchCommand) {
      deletes.push((command.input.Entries ?? []).map((e) => e.ReceiptHandle ?? ''));
      return {};
    }
    if (!(command instanceof ReceiveMessageCommand)) throw new Error('unexpected command');
    const signal = options?.abortSignal;
    return new Promise((resolve, reject) => {
      receives.push({ answer: (Messages) => resolve({ Messages }), signal });
      signal?.addEventListener('abort', () =>
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
      );
      receiveArrived();
    });
  });
  return {
    client: { send } as unknown as SQSClient,
    receives,
    deletes,
    /** Resolves once the source has `n` receives out. */
    receivesOut: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (receives.length >= n ? resolve() : undefined);
        receiveArrived = check;
        check();
      }),
  };
}

const MESSAGE: Message = { MessageId: 'm-1', ReceiptHandle: 'r-1', Body: '{}' };

function source(sqs: SQSClient, waitTimeSeconds?: number) {
  const handled: SQSEvent[] = [];
  const errors: unknown[] = [];
  const running = startEventSource({
    sqs,
    queueUrl: 'http://sqs.us-east-1.localhost/000000000000/q',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    handler: async (event) => {
      handled.push(event);
      return { batchItemFailures: [] };
    },
    waitTimeSeconds,
    onError: (err) => errors.push(err),
  });
  return { running, handled, errors };
}

describe('startEventSource stop', () => {
  it('lets a short receive finish: the batch it brings is handled and deleted before stop resolves', async () => {
    // Arrange
    const sqs = fakeSqs();
    const { running, handled, errors } = source(sqs.client, 1);
    await sqs.receivesOut(1);

    // Act
    const stopped = running.stop();
    sqs.receives[0]?.answer([MESSAGE]);
    await stopped;

    // Assert
    expect(sqs.receives[0]?.signal?.aborted).toBe(false);
    expect(handled.map((e) => e.Records.map((r) => r.messageId))).toEqual([['m-1']]);
    expect(sqs.deletes).toEqual([['r-1']]);
    expect(sqs.receives).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('cuts a short receive with abortReceive, and reports nothing: the stop is not an error', async () => {
    // Arrange
    const sqs = fakeSqs();
    const { running, handled, errors } = source(sqs.client, 1);
    await sqs.receivesOut(1);

    // Act
    await running.stop({ abortReceive: true });

    // Assert
    expect(sqs.receives[0]?.signal?.aborted).toBe(true);
    expect(handled).toEqual([]);
    expect(sqs.receives).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('always cuts a long receive (over 1 s)', async () => {
    // Arrange
    const sqs = fakeSqs();
    const { running, errors } = source(sqs.client, 20);
    await sqs.receivesOut(1);

    // Act
    await running.stop();

    // Assert
    expect(sqs.receives[0]?.signal?.aborted).toBe(true);
    expect(errors).toEqual([]);
  });

  it('reports a receive that fails while running, and receives again', async () => {
    // Arrange
    const sqs = fakeSqs();
    const failure = new Error('queue unavailable');
    sqs.client.send = vi.fn(sqs.client.send).mockRejectedValueOnce(failure) as unknown as SQSClient['send'];
    const { running, errors } = source(sqs.client, 1);

    // Act
    await sqs.receivesOut(1);
    await running.stop({ abortReceive: true });

    // Assert
    expect(errors).toEqual([failure]);
  });
});
