import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { createDocumentClient } from '#shared/clients/aws.ts';
import { logger, metrics, tracer } from '#shared/clients/powertools.ts';
import { getStringFromEnv } from '#shared/config/env.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { createDeadLetterRecordHandler } from '#shared/verdict/dead-letter.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

const doc = createDocumentClient();
const recordHandler = createDeadLetterRecordHandler({
  store: createVerdictStore(doc, getStringFromEnv('TABLE_NAME')),
  policyVersion: loadPolicy(getStringFromEnv('POLICY_NAME', 'balanced')).version,
  logger,
  metrics,
});
const processor = new BatchProcessor(EventType.SQS);

/** Ingest DLQ → here: record an `error` verdict for each upload the pipeline gave up on. */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, recordHandler, processor, { context }),
)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
