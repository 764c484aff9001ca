import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /** @default 10 (the SQS maximum per receive) */
  batchSize?: number;
  /**
   * How long one receive waits for a message; a message that arrives ends the wait at once. Long
   * waits make an idle queue cheap (one request per wait) but `stop` then aborts the receive in
   * flight, and the emulator may already have taken a message for it, which stays invisible until
   * its visibility timeout: use them only for sources that stop with the stack (EventSource.stop).
   * @default 1
   */
  waitTimeSeconds?: number;
  onError?: (err: unknown) => void;
}

function toRecord(m: Message, queueArn: string): SQSRecord {
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

function localContext(): Context {
  const deadline = Date.now() + 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'moderate-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:moderate-local',
    memoryLimitInMB: '1024',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/local/moderate',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface EventSource {
  /**
   * Stops polling once the batch in hand is handled and deleted. A long receive wait is aborted; a
   * short one (1 s) is let finish, so that a source stopped and started again while its queue lives
   * on (a paused consumer) loses no message to a receive that was cut off. `abortReceive` cuts it
   * too: for a source whose queue goes away with it (the stack stopping).
   */
  stop(options?: { abortReceive?: boolean }): Promise<void>;
}

/**
 * What Lambda's SQS event source mapping does, on the local queue: long-poll a batch, invoke the
 * handler, delete the records it did not report as failed. Failed records stay in the queue and
 * come back after the visibility timeout, exactly as on AWS.
 */
export function startEventSource(opts: EventSourceOptions): EventSource {
  let running = true;
  const waitTimeSeconds = opts.waitTimeSeconds ?? 1;
  const stopping = new AbortController();
  const loop = (async () => {
    while (running) {
      try {
        const { Messages = [] } = await opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: opts.batchSize ?? 10,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          }),
          { abortSignal: stopping.signal },
        );
        // A batch that arrives after stop is still handled: dropped, it would stay invisible in the
        // queue for its visibility timeout.
        if (Messages.length === 0) continue;
        const event: SQSEvent = { Records: Messages.map((m) => toRecord(m, opts.queueArn)) };
        const response = await opts.handler(event, localContext());
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        const done = Messages.filter((m) => !failed.has(m.MessageId ?? ''));
        if (done.length) {
          await opts.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: opts.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      } catch (err) {
        // A receive aborted by `stop` ends the loop at once; anything else is reported and retried.
        if (!running) break;
        opts.onError?.(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    async stop({ abortReceive = false } = {}) {
      running = false;
      if (abortReceive || waitTimeSeconds > 1) stopping.abort();
      await loop;
    },
  };
}
