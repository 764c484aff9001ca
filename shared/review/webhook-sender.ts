/**
 * The queue-backed webhook sender (docs/REVIEW.md, "Events and webhooks"). A final decision is one
 * `Moderation Decision` event on the bus; a rule copies it to the webhook queue (locally, the event
 * log does), and this sender delivers it to the tenant's webhook, signed, off the reviewer's path.
 *
 * - One attempt per delivery of the message. A failure hands the message back with a visibility
 *   timeout that doubles per receive (SQS redelivery as the retry, with backoff), so a slow or
 *   broken receiver never holds a reviewer or a Lambda.
 * - After the queue's `maxReceiveCount` receives, SQS moves it to the dead-letter queue; the same
 *   sender, reading that queue, writes the `webhook-failed` audit record (the dead letter) with the
 *   event the platform missed.
 * - The webhook's URL and secret are read from the tenant's settings at send time, never carried in
 *   the message: a rotated secret applies to what is still queued, and no secret sits in a queue.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import type { TenantSettings } from '#shared/api/keys.ts';
import { DECISION_EVENT, type DecisionDetail, deliverWebhook } from './events.ts';
import type { AuditRecord } from './store.ts';

/** Who the dead-letter audit records name as the actor. */
export const WEBHOOK_SENDER_ACTOR = 'webhook-sender';

/**
 * The queue message: the EventBridge event as a rule target receives it (`detail-type`, `source`,
 * `detail`). The local event log writes the same shape.
 */
const decisionEventSchema = z.object({
  source: z.literal(DECISION_EVENT.source),
  'detail-type': z.literal(DECISION_EVENT.detailType),
  detail: z.looseObject({ verdictId: z.string().min(1), tenant: z.string().min(1) }),
});

export class WebhookMessageError extends Error {
  override name = 'WebhookMessageError';
}

/** The decision a queue message carries; a body that is not a decision event throws. */
export function parseDecisionMessage(body: string): DecisionDetail {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new WebhookMessageError('the webhook message is not JSON');
  }
  const parsed = decisionEventSchema.safeParse(json);
  if (!parsed.success)
    throw new WebhookMessageError(
      `the webhook message is not a ${DECISION_EVENT.detailType} event: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data.detail as unknown as DecisionDetail;
}

export interface WebhookRetry {
  /** The visibility timeout after the first failed attempt; doubles per receive. @default 30 s */
  baseSeconds: number;
  /** @default 900 s (the longest wait between two attempts) */
  maxSeconds: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetry = { baseSeconds: 30, maxSeconds: 900 };

/** How long a message waits before its next attempt, after `receiveCount` failed ones. */
export function retryDelaySeconds(receiveCount: number, retry: WebhookRetry = DEFAULT_WEBHOOK_RETRY): number {
  const n = Math.max(1, Math.floor(receiveCount));
  return Math.min(retry.maxSeconds, retry.baseSeconds * 2 ** (n - 1));
}

export interface WebhookSenderDeps {
  /** The tenant's settings (its webhook), from the key table. */
  tenant(name: string): TenantSettings | Promise<TenantSettings>;
  /** Appends to the audit trail (the review store's `audit`). */
  audit(record: Omit<AuditRecord, 'at'>): Promise<void>;
  sqs: SQSClient;
  /** The webhook queue (its URL, for the backoff's ChangeMessageVisibility). */
  queueUrl: string;
  /** The webhook queue's DLQ: a record from it is a dead letter to record, not a webhook to send. */
  deadLetterQueueArn: string;
  retry?: WebhookRetry;
  /** Per attempt. @default 3000 ms */
  timeoutMs?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export type WebhookOutcome = 'delivered' | 'no-webhook' | 'dead-letter-recorded';

/** One SQS record of the webhook queue or its DLQ. A failed delivery throws (the batch reports it). */
export function createWebhookRecordHandler(deps: WebhookSenderDeps) {
  const retry = deps.retry ?? DEFAULT_WEBHOOK_RETRY;
  const log = deps.log ?? (() => undefined);

  async function recordDeadLetter(record: SQSRecord, detail: DecisionDetail): Promise<WebhookOutcome> {
    const { webhook } = await deps.tenant(detail.tenant);
    await deps.audit({
      verdictId: detail.verdictId ?? '',
      actor: WEBHOOK_SENDER_ACTOR,
      action: 'webhook-failed',
      after: {
        target: webhook?.url ?? null,
        attempts: Number(record.attributes.ApproximateReceiveCount ?? 0) || null,
        detail,
      },
    });
    log('webhook dead-lettered', { verdictId: detail.verdictId, tenant: detail.tenant });
    return 'dead-letter-recorded';
  }

  return async function handleWebhookRecord(record: SQSRecord): Promise<WebhookOutcome> {
    // A DLQ body that is no decision event throws and stays in the DLQ (14 days) for an operator.
    const detail = parseDecisionMessage(record.body);
    if (record.eventSourceARN === deps.deadLetterQueueArn) return recordDeadLetter(record, detail);
    const { webhook } = await deps.tenant(detail.tenant);
    // The tenant has no webhook (or removed it since): the event was on the bus; nothing to send.
    if (!webhook) return 'no-webhook';
    const result = await deliverWebhook(webhook, detail, {
      attempts: 1,
      ...(deps.timeoutMs !== undefined && { timeoutMs: deps.timeoutMs }),
    });
    if (result.delivered) return 'delivered';
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
    const wait = retryDelaySeconds(receiveCount, retry);
    await deps.sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: deps.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: wait,
        }),
      )
      // The queue's own visibility timeout applies instead: a slower retry, nothing lost.
      .catch((err: unknown) => log('could not set the retry delay', { error: String(err) }));
    log('webhook not delivered; retried later', {
      verdictId: detail.verdictId,
      receiveCount,
      retryInSeconds: wait,
      error: result.lastError,
    });
    throw new Error(`webhook for ${detail.verdictId} not delivered: ${result.lastError}`);
  };
}
