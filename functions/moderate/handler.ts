import type { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_PACK_MANIFESTS } from '#model-artifacts/models/default-pack.ts';
import { applyVerdictActions } from '#shared/actions/verdict-actions.ts';
import { type AwsClients, createAwsClients, createSqsClient } from '#shared/clients/aws.ts';
import { logger, metrics } from '#shared/clients/powertools.ts';
import { sqsBatchHandler } from '#shared/clients/sqs-handler.ts';
import { type PipelineEnv, readPipelineEnv } from '#shared/contracts/env.ts';
import { createEngines, type Engines } from '#shared/engines/engines.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import { createCoalescingClient } from '#shared/inference/coalesce.ts';
import { createS3MatchLists, type MatchListSource, NO_MATCH_LISTS } from '#shared/matching/store.ts';
import { loadModelPack, padValueOf } from '#shared/moderation/model-pack.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { createRecordHandler } from '#shared/moderation/record-handler.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
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
 * forwards media over its limits to `LONG_MEDIA_QUEUE_URL`), `MEDIA_MODE=long` the long-media queue.
 * The local mode builds both from this one factory.
 */
export function createHandler(env: PipelineEnv, deps: Partial<ModerateDeps> = {}) {
  const { s3, doc, sagemaker, eventBridge } = deps.clients ?? createAwsClients(env);
  const engines = deps.engines ?? createEngines(env.engines, env.mediaMode);
  const matchLists = deps.matchLists ?? matchListsFrom(env, s3);
  const pack = loadModelPack(env.modelPack, DEFAULT_PACK_MANIFESTS);
  // The batch's records share requests: concurrent calls to one model go out as one padded batch.
  const inference = createCoalescingClient(
    createInferenceClient({
      sagemaker,
      endpointName: (model) => env.endpointNames[model] ?? model,
      inferenceComponentName: (model) => env.inferenceComponentNames[model],
    }),
    { padValue: (model, input) => padValueOf(pack, model, input) },
  );
  const actions = { s3, eventBridge, quarantineBucket: env.quarantineBucket, eventBusName: env.eventBusName };
  const forwards = env.mediaMode === 'sync' && env.longMediaQueueUrl !== '';
  const recordHandler = createRecordHandler({
    s3,
    store: createVerdictStore(doc, env.tableName),
    models: createModelGateway(inference, pack, { retry: { policy: env.inferenceRetry } }),
    policy: loadPolicy(env.policyName),
    engines,
    matchLists,
    logger,
    metrics,
    onVerdict: (verdict) => applyVerdictActions(verdict, actions),
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

/** The bucket's lists, loaded on the first record and re-checked after the TTL; none when no bucket is set. */
function matchListsFrom(env: PipelineEnv, s3: AwsClients['s3']): MatchListSource {
  if (!env.matchLists.bucket) return NO_MATCH_LISTS;
  return createS3MatchLists({
    s3,
    bucket: env.matchLists.bucket,
    policyName: env.policyName,
    ttlMs: env.matchLists.ttlSeconds * 1000,
    // The cold-start cost of the banks, in the logs (docs/MATCHING.md, "Cold start").
    onLoad: (stats) => logger.info('match lists loaded', { ...stats }),
    onError: (err) =>
      logger.warn('match lists reload failed; keeping the loaded ones', { error: String(err) }),
  });
}

export const handler = createHandler(readPipelineEnv());
