import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/clients/aws.ts';
import { logger, metrics } from '#shared/clients/powertools.ts';
import { sqsBatchHandler } from '#shared/clients/sqs-handler.ts';
import { type DeadLetterEnv, readDeadLetterEnv } from '#shared/contracts/env.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { createDeadLetterRecordHandler } from '#shared/verdict/dead-letter.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

/** What the function talks to; defaults to the client its environment configures. */
export interface DeadLetterDeps {
  doc: DynamoDBDocumentClient;
}

/** Ingest and long-media DLQs → here: record an `error` verdict for each upload the pipeline gave up on. */
export function createHandler(env: DeadLetterEnv, deps: Partial<DeadLetterDeps> = {}) {
  const recordHandler = createDeadLetterRecordHandler({
    store: createVerdictStore(deps.doc ?? createDocumentClient(env.awsEndpointOverrides), env.tableName),
    policyVersion: loadPolicy(env.policyName).version,
    logger,
    metrics,
  });
  return sqsBatchHandler(recordHandler);
}

export const handler = createHandler(readDeadLetterEnv());
