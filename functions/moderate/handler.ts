import type { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_PACK_MANIFESTS } from '#model-artifacts/models/default-pack.ts';
import { applyVerdictActions } from '#shared/actions/verdict-actions.ts';
import { type AwsClients, createAwsClients, createSqsClient } from '#shared/clients/aws.ts';
import { logger, metrics } from '#shared/clients/powertools.ts';
import { sqsBatchHandler } from '#shared/clients/sqs-handler.ts';
import { type PipelineEnv, readPipelineEnv } from '#shared/contracts/env.ts';
import { createEngines, type Engines } from '#shared/engines/engines.ts';
import { createInFlight } from '#shared/inference/coalesce.ts';
import type { MatchListSource } from '#shared/matching/store.ts';
import { createRecordHandler } from '#shared/moderation/record-handler.ts';
import { inputsKeeperFromEnv, matchListsFromEnv, modelsFromEnv } from '#shared/moderation/wiring.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { withBatchedGets } from '#shared/verdict/batched-gets.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

/** What the function talks to; each defaults to the one its environment configures. */
export interface ModerateDeps {
  clients: AwsClients;
  /** Forwards media over the synchronous limits to the long-media queue. */
  sqs: SQSClient;
  /** OCR, voice activity, speech-to-text, ffmpeg. */
  engines: Engines;
  /** Banks and term lists, matched before any model. @default those in MATCH_LISTS_BUCKET, or none */
  matchLists: MatchListSource;
}

/**
 * The moderate function for one configuration: `MEDIA_MODE=sync` consumes the ingest queue (and
 * forwards media over its limits to `LONG_MEDIA_QUEUE_URL`, or with `MEDIA_DECODING=forward` every
 * upload that needs ffmpeg), `MEDIA_MODE=long` the media queue (the media function's container image
 * on AWS, functions/media/Dockerfile).
 * The local mode builds both from this one factory.
 */
export function createHandler(env: PipelineEnv, deps: Partial<ModerateDeps> = {}) {
  const { s3, doc, sagemaker, eventBridge } = deps.clients ?? createAwsClients(env);
  const engines = deps.engines ?? createEngines(env.engines, env.mediaMode);
  const matchLists = deps.matchLists ?? matchListsFromEnv(env, s3, logger);
  const actions = { s3, eventBridge, quarantineBucket: env.quarantineBucket, eventBusName: env.eventBusName };
  const forwards = env.mediaMode === 'sync' && env.longMediaQueueUrl !== '';
  // The batch's records are moderated concurrently; their model calls wait for each other (one
  // request per model), never for records that are not there.
  const inFlight = createInFlight();
  const recordHandler = createRecordHandler({
    s3,
    // One BatchGetItem for the batch's "is there a verdict already?" reads (batched-gets.ts).
    store: withBatchedGets(createVerdictStore(doc, env.tableName), doc, env.tableName),
    models: modelsFromEnv(env, sagemaker, DEFAULT_PACK_MANIFESTS, { callers: inFlight.count }),
    inFlight,
    policy: loadPolicy(env.policyName),
    engines,
    matchLists,
    inputs: inputsKeeperFromEnv(env, s3, logger, metrics),
    logger,
    metrics,
    onVerdict: (verdict, upload) => applyVerdictActions(verdict, actions, upload),
    mediaDecoding: env.mediaDecoding,
    ...(forwards && {
      longMedia: {
        sqs: deps.sqs ?? createSqsClient(env.awsEndpointOverrides),
        queueUrl: env.longMediaQueueUrl,
      },
    }),
  });
  /** S3 → SQS → here: moderate each object named in the batch; report only the failed records. */
  return sqsBatchHandler(recordHandler);
}

export const handler = createHandler(readPipelineEnv());
