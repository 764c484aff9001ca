/**
 * Redrive: put dead-lettered messages back on the ingest queue once whatever failed them is fixed.
 * The message body is the original S3 notification, so the pipeline moderates those objects again;
 * an object whose placeholder verdict says `PROCESSING_FAILED` gets its real verdict, and one that
 * was moderated after all is skipped (shared/moderation/moderate-object.ts).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { parseS3Uri } from '#shared/contracts/s3-uri.ts';
import { VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import { encodeS3Key } from '#shared/events/s3-notification.ts';

export interface CopyRedriveOptions {
  sqs: SQSClient;
  /** The dead-letter queue's URL. */
  from: string;
  /** The ingest queue's URL. */
  to: string;
  /** Stop after this many messages. @default all */
  max?: number;
  /** How long a message being moved stays hidden from other readers of the DLQ. @default 60 */
  visibilityTimeoutSeconds?: number;
  /** Empty receives in a row that mean the queue is drained. @default 2 */
  emptyReceives?: number;
  onProgress?(moved: number): void;
}

export interface RedriveResult {
  moved: number;
  /** Messages the destination refused; they stay in the DLQ and reappear after the visibility timeout. */
  failed: number;
}

/**
 * Moves messages by receive → send → delete, ten at a time. A message is deleted from the DLQ only
 * after the ingest queue accepted it, so a crash in between duplicates a message rather than losing
 * it, and the pipeline is idempotent per object version. Works on any SQS API (fauxqs included).
 */
export async function redriveByCopy(options: CopyRedriveOptions): Promise<RedriveResult> {
  const { sqs, from, to } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const result: RedriveResult = { moved: 0, failed: 0 };
  let empty = 0;
  while (result.moved + result.failed < max && empty < (options.emptyReceives ?? 2)) {
    const remaining = max - result.moved - result.failed;
    const { Messages: received = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: Math.min(10, remaining),
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
        MessageAttributeNames: ['All'],
      }),
    );
    // Never more than asked for (extra ones reappear in the DLQ after the visibility timeout).
    const Messages = received.slice(0, remaining);
    if (Messages.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: to,
        Entries: Messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          MessageAttributes: m.MessageAttributes,
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const toDelete = Messages.filter((_, i) => ok.has(String(i)));
    if (toDelete.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: from,
          Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    result.moved += toDelete.length;
    result.failed += Messages.length - toDelete.length;
    options.onProgress?.(result.moved);
  }
  return result;
}

export interface FailedVerdictRedriveOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  sqs: SQSClient;
  /** The ingest queue's URL. */
  to: string;
  /** Only verdicts created at or after this ISO time. @default all */
  since?: string;
  /** Stop after this many. @default all */
  max?: number;
  /**
   * What `objectVersion` holds: the S3 version id (versioned buckets, as deployed) or the ETag
   * (unversioned buckets, e.g. the local emulator). @default 'versionId'
   */
  versionField?: 'versionId' | 'eTag';
}

/**
 * Re-announces every upload whose verdict is the `PROCESSING_FAILED` placeholder: on AWS the
 * dead-letter function consumes the DLQ as it records those, so after an outage the DLQ is empty
 * and the placeholders are what is left to redrive. Reads the review index (decision = error),
 * keeps PROCESSING_FAILED, and sends one S3-style notification per object version.
 */
export async function redriveFailedVerdicts(options: FailedVerdictRedriveOptions): Promise<RedriveResult> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const index = VERDICT_TABLE.reviewIndex;
  const result: RedriveResult = { moved: 0, failed: 0 };
  let start: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await options.doc.send(
      new QueryCommand({
        TableName: options.tableName,
        IndexName: index.name,
        KeyConditionExpression: options.since ? '#d = :error AND #t >= :since' : '#d = :error',
        FilterExpression: '#e.#c = :code',
        ExpressionAttributeNames: {
          '#d': index.partitionKey,
          '#e': 'error',
          '#c': 'code',
          ...(options.since ? { '#t': index.sortKey } : {}),
        },
        ExpressionAttributeValues: {
          ':error': 'error',
          ':code': 'PROCESSING_FAILED',
          ...(options.since ? { ':since': options.since } : {}),
        },
        ExclusiveStartKey: start,
      }),
    );
    start = page.LastEvaluatedKey;
    const records = (page.Items ?? [])
      .map((item) =>
        notificationRecord(item.object as string, item.objectVersion as string | undefined, options),
      )
      .filter((r) => r !== undefined)
      .slice(0, max - result.moved - result.failed);
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      const sent = await options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.to,
          Entries: chunk.map((record, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({ Records: [record] }),
          })),
        }),
      );
      result.moved += sent.Successful?.length ?? 0;
      result.failed += chunk.length - (sent.Successful?.length ?? 0);
    }
  } while (start && result.moved + result.failed < max);
  return result;
}

/** The S3 notification record S3 would have sent for this object version (key form-encoded). */
function notificationRecord(
  object: string,
  version: string | undefined,
  options: Pick<FailedVerdictRedriveOptions, 'versionField'>,
) {
  const location = parseS3Uri(object ?? '');
  if (!location) return undefined;
  const { bucket, key } = location;
  const encoded = encodeS3Key(key);
  return {
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Put',
    s3: {
      bucket: { name: bucket },
      object: { key: encoded, [options.versionField ?? 'versionId']: version },
    },
  };
}

export interface MoveTaskOptions {
  sqs: SQSClient;
  /** The dead-letter queue's ARN. */
  sourceArn: string;
  /** The ingest queue's ARN. @default the queue(s) the messages were dead-lettered from */
  destinationArn?: string;
  /** @default as fast as SQS allows */
  maxPerSecond?: number;
}

/** Starts SQS's own DLQ redrive (StartMessageMoveTask) on AWS; returns the task handle. */
export async function startMoveTask(options: MoveTaskOptions): Promise<string | undefined> {
  const { TaskHandle } = await options.sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: options.sourceArn,
      DestinationArn: options.destinationArn,
      MaxNumberOfMessagesPerSecond: options.maxPerSecond,
    }),
  );
  return TaskHandle;
}

/** The most recent move task of a DLQ, for `--status`. */
export async function moveTaskStatus(sqs: SQSClient, sourceArn: string) {
  const { Results = [] } = await sqs.send(
    new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }),
  );
  return Results[0];
}

/** Messages waiting in a queue (visible and in flight), approximately, as SQS counts them. */
export async function queueDepth(
  sqs: SQSClient,
  url: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
