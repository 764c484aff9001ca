import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Keyring, secretKeyring } from '#shared/api/keys.ts';
import { createDocumentClient, createSqsClient } from '#shared/clients/aws.ts';
import { logger } from '#shared/clients/powertools.ts';
import { sqsBatchHandler } from '#shared/clients/sqs-handler.ts';
import { readWebhookSenderEnv, type WebhookSenderEnv } from '#shared/contracts/env.ts';
import { appendAudit } from '#shared/review/store.ts';
import { createWebhookRecordHandler } from '#shared/review/webhook-sender.ts';

/** What the function talks to; defaults to the clients its environment configures. */
export interface WebhookSenderFunctionDeps {
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  /** The tenants' webhooks. @default the API_KEYS_SECRET_ARN secret's key table */
  keyring: Keyring | (() => Promise<Keyring>);
}

/**
 * The webhook queue and its DLQ → here (docs/REVIEW.md): deliver each decision event to its
 * tenant's webhook, one attempt per receive; a dead letter becomes a `webhook-failed` audit record.
 */
export function createHandler(env: WebhookSenderEnv, deps: Partial<WebhookSenderFunctionDeps> = {}) {
  const doc = deps.doc ?? createDocumentClient(env.awsEndpointOverrides);
  const keyring = deps.keyring ?? secretKeyring(env.keysSecretArn);
  const recordHandler = createWebhookRecordHandler({
    tenant: async (name) => (typeof keyring === 'function' ? await keyring() : keyring).tenant(name),
    audit: (record) => appendAudit(doc, env.auditTableName, record),
    sqs: deps.sqs ?? createSqsClient(env.awsEndpointOverrides),
    queueUrl: env.queueUrl,
    deadLetterQueueArn: env.deadLetterQueueArn,
    retry: env.retry,
    log: (message, fields) => logger.warn(message, fields),
  });
  return sqsBatchHandler(recordHandler);
}

export const handler = createHandler(readWebhookSenderEnv());
