import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger, metrics, tracer } from './powertools.ts';

/**
 * An SQS-triggered Lambda over a per-record handler: partial batch responses (a throwing record is
 * the only one redelivered), with Powertools tracing, Lambda context in the logs and metrics flushed.
 */
export function sqsBatchHandler(recordHandler: (record: SQSRecord, context?: Context) => Promise<unknown>) {
  const processor = new BatchProcessor(EventType.SQS);
  return middy((event: SQSEvent, context: Context) =>
    processPartialResponse(event, recordHandler, processor, { context }),
  )
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
