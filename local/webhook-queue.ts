/**
 * The webhook queue on the local stack (docs/REVIEW.md): a queue and its DLQ on the stack's fauxqs,
 * redriven after `maxReceiveCount` receives as on AWS, and the webhook sender (the code the AWS
 * function runs, shared/review/webhook-sender.ts) consuming both through the local event source.
 * The local event log forwards each decision event here, as the stack's EventBridge rule does.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TenantSettings } from '#shared/api/keys.ts';
import { sqsBatchHandler } from '#shared/clients/sqs-handler.ts';
import { appendAudit } from '#shared/review/store.ts';
import { createWebhookRecordHandler, type WebhookRetry } from '#shared/review/webhook-sender.ts';
import type { LocalEvent } from './event-log.ts';
import { type SqsHandler, startEventSource } from './event-source.ts';

export interface LocalWebhookRetry extends WebhookRetry {
  /** Receives before a message goes to the DLQ. */
  maxReceiveCount: number;
}

/** Locally a failing webhook is dead-lettered in about 15 s (1 + 2 + 4 + 8), not AWS's minutes. */
export const LOCAL_WEBHOOK_RETRY: LocalWebhookRetry = { baseSeconds: 1, maxSeconds: 30, maxReceiveCount: 5 };

export interface LocalWebhookQueue {
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** The event log's `forward`: what the EventBridge rule does on AWS. */
  send(event: LocalEvent): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalWebhookQueue(options: {
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  auditTableName: string;
  tenant(name: string): TenantSettings | Promise<TenantSettings>;
  retry?: LocalWebhookRetry;
  onError?: (err: unknown) => void;
}): Promise<LocalWebhookQueue> {
  const { sqs } = options;
  const retry = options.retry ?? LOCAL_WEBHOOK_RETRY;
  // One pair per local API, so two APIs on one stack (tests) never take each other's messages.
  const name = `moderation-webhooks-${randomUUID().slice(0, 8)}`;
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? '';
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? '';
  const dlqArn = await arnOf(dlqUrl);
  const queueUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            // Longer than one attempt (3 s): a message is never sent twice at once.
            VisibilityTimeout: '30',
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: retry.maxReceiveCount,
            }),
          },
        }),
      )
    ).QueueUrl ?? '';
  const queueArn = await arnOf(queueUrl);
  const handler = sqsBatchHandler(
    createWebhookRecordHandler({
      tenant: options.tenant,
      audit: (record) => appendAudit(options.doc, options.auditTableName, record),
      sqs,
      queueUrl,
      deadLetterQueueArn: dlqArn,
      retry,
    }),
  ) as unknown as SqsHandler;
  const sources = [
    startEventSource({
      sqs,
      queueUrl,
      queueArn,
      handler,
      ...(options.onError && { onError: options.onError }),
    }),
    startEventSource({
      sqs,
      queueUrl: dlqUrl,
      queueArn: dlqArn,
      handler,
      ...(options.onError && { onError: options.onError }),
    }),
  ];
  return {
    queueUrl,
    deadLetterQueueUrl: dlqUrl,
    async send(event) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));
    },
    async stop() {
      await Promise.all(sources.map((s) => s.stop()));
    },
  };
}
