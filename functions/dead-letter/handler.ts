import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { createDocumentClient } from '#shared/clients/aws.ts';
import { logger, metrics, tracer } from '#shared/clients/powertools.ts';
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
  const processor = new BatchProcessor(EventType.SQS);
  return middy((event: SQSEvent, context: Context) =>
    processPartialResponse(event, recordHandler, processor, { context }),
  )
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

export const handler = createHandler(readDeadLetterEnv());
