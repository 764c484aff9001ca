/**
 * How a function that moderates is put together from its environment: the model pack, its
 * endpoints behind one coalescing client, and the banks and term lists. The moderate function
 * (S3 → SQS) and the API function share it, so they score and match identically.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DEFAULT_ENDPOINT_HOSTING, type PipelineEnv } from '#shared/contracts/env.ts';
import { METRIC } from '#shared/contracts/metrics.ts';
import { ENDPOINT_PAYLOAD_LIMITS } from '#shared/contracts/tensor-wire.ts';
import { createInferenceClient } from '#shared/inference/client.ts';
import { createCoalescingClient } from '#shared/inference/coalesce.ts';
import { manifestContentTypes } from '#shared/inference/manifest.ts';
import { withPayloadLimit } from '#shared/inference/payload-limit.ts';
import { describeError } from '#shared/logging/redact.ts';
import { createS3MatchLists, type MatchListSource, NO_MATCH_LISTS } from '#shared/matching/store.ts';
import { createS3InputsKeeper, type InputsKeeper, NO_INPUTS_KEEPER } from './kept-inputs.ts';
import { type BundledManifests, loadModelPack, type ModelPack, padValueOf } from './model-pack.ts';
import { createModelGateway, type ModelGateway } from './models.ts';

/** Where a pack's models are served and how they are called: the endpoint part of the environment. */
export type ModelEndpointsEnv = Pick<
  PipelineEnv,
  'endpointNames' | 'inferenceComponentNames' | 'maxRequestBytes' | 'inferenceRetry'
>;

/** How the gateway merges concurrent calls (`createCoalescingClient`'s window and callers). */
export interface CoalescingSettings {
  coalesceWindowMs?: number;
  /** The work in progress that may call the models (`InFlight.count`). */
  callers?: () => number;
}

/**
 * The pack's three models on their endpoints: concurrent calls to one model go out as one padded
 * batch, in the wire its manifest prefers (binary tensors by default), split so no request exceeds
 * its endpoint's payload limit.
 */
export function modelsFromEnv(
  env: PipelineEnv,
  sagemaker: SageMakerRuntimeClient,
  bundled: BundledManifests,
  options: CoalescingSettings = {},
): ModelGateway {
  return modelGatewayFor(loadModelPack(env.modelPack, bundled), sagemaker, env, options);
}

/**
 * `modelsFromEnv` for a pack already loaded: the functions' gateway, also used by replay to score
 * kept inputs with another pack through the same client stack. A model without an endpoint name
 * is called at the endpoint named after it (the local inference server's routes).
 */
export function modelGatewayFor(
  pack: ModelPack,
  sagemaker: SageMakerRuntimeClient,
  env: ModelEndpointsEnv,
  options: CoalescingSettings = {},
): ModelGateway {
  const manifests = new Map([pack.text, pack.image, pack.fusion].map((m) => [m.name, m]));
  const endpointName = (model: string) => env.endpointNames[model] ?? model;
  const client = createInferenceClient({
    sagemaker,
    endpointName,
    inferenceComponentName: (model) => env.inferenceComponentNames[model],
    contentTypes: (model) => {
      const manifest = manifests.get(model);
      return manifest && manifestContentTypes(manifest);
    },
  });
  const inference = createCoalescingClient(
    withPayloadLimit(client, {
      endpointName,
      maxRequestBytes: (model) =>
        env.maxRequestBytes[model] ?? ENDPOINT_PAYLOAD_LIMITS[DEFAULT_ENDPOINT_HOSTING],
    }),
    {
      padValue: (model, input) => padValueOf(pack, model, input),
      ...(options.coalesceWindowMs !== undefined && { windowMs: options.coalesceWindowMs }),
      callers: options.callers,
    },
  );
  return createModelGateway(inference, pack, { retry: { policy: env.inferenceRetry } });
}

/**
 * Kept model inputs in INPUTS_BUCKET (KEEP_INPUTS), or none. A verdict written without them is a
 * warning and an `inputsNotKept` count, never a failed upload: the verdict is what the pipeline is for.
 */
export function inputsKeeperFromEnv(
  env: PipelineEnv,
  s3: S3Client,
  logger: Logger,
  metrics: Metrics,
): InputsKeeper {
  const { mode, bucket } = env.keepInputs;
  if (mode === 'none') return NO_INPUTS_KEEPER;
  return createS3InputsKeeper({
    s3,
    bucket,
    mode,
    onNotKept: (reason, error) => {
      // The error's class and code only: messages can quote keys, and the document is user content.
      logger.warn('model inputs not kept; the verdict is written without them', {
        reason,
        ...(error !== undefined && { error: describeError(error) }),
      });
      metrics.addMetric(METRIC.inputsNotKept, MetricUnit.Count, 1);
    },
  });
}

/** The bucket's lists, loaded on first use and re-checked after the TTL; none when no bucket is set. */
export function matchListsFromEnv(env: PipelineEnv, s3: S3Client, logger: Logger): MatchListSource {
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
