/**
 * A Lambda function's execution environment, locally: a thread (local/thread.ts) that builds the
 * moderate handler from its own environment and runs its SQS event sources (local/event-source.ts).
 * Like Lambda's, it shares nothing with the stack but the wire: its own module instances, AWS
 * clients and event loop.
 */
// The handler's heaviest dependencies, none of which reads configuration at load: loaded while the
// stack starts its emulators (this thread is started first and waits for its data meanwhile). The
// handler itself, which configures its logger and clients at load, is imported once that data and
// the environment have come.
import '@aws-lambda-powertools/batch';
import '@aws-lambda-powertools/logger';
import '@aws-lambda-powertools/metrics';
import '@aws-sdk/client-dynamodb';
import '@aws-sdk/client-eventbridge';
import '@aws-sdk/client-s3';
import '@aws-sdk/client-sagemaker-runtime';
import '@aws-sdk/lib-dynamodb';
import '@middy/core';
import 'sharp';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type PipelineEnv, readPipelineEnv } from '#shared/contracts/env.ts';
import { type SqsHandler, startEventSource } from './event-source.ts';
import { runInThread } from './thread.ts';

/** One event source mapping: a queue, and the settings of the handler that consumes it. */
export interface FunctionSource {
  queueUrl: string;
  queueArn: string;
  /** Settings over the environment's (e.g. the long-media function's `mediaMode: 'long'`). */
  env?: Partial<PipelineEnv>;
  batchSize?: number;
  waitTimeSeconds?: number;
}

runInThread<FunctionSource[], null>(async (sources, channel) => {
  // Imported only now, as Lambda loads the handler in its environment: the module reads its
  // configuration (logger, metrics) at load, from this thread's environment.
  const { createHandler } = await import('#functions/moderate/handler.ts');
  // fauxqs names queues by sqs.<region>.localhost URLs; send to its endpoint, not the URL's host.
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const running = sources.map((source) =>
    startEventSource({
      sqs,
      queueUrl: source.queueUrl,
      queueArn: source.queueArn,
      handler: createHandler({ ...readPipelineEnv(), ...source.env }) as SqsHandler,
      batchSize: source.batchSize,
      waitTimeSeconds: source.waitTimeSeconds,
      onError: channel.error,
    }),
  );
  return { ready: null, stop: () => Promise.all(running.map((r) => r.stop())) };
});
