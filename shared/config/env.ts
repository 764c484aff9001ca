import type { MediaMode } from '#shared/ingest/limits.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '#shared/retry/retry.ts';

/**
 * Configuration, read once and loudly: a missing required variable throws at cold start with its
 * name, instead of surfacing later as `undefined` deep inside a request.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function getStringFromEnv(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is required but not set`);
}

export function getNumberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new ConfigError(`environment variable ${name} must be a number, got ${raw}`);
  return value;
}

/** Everything the moderate function reads from its environment (set by the CDK stack or the local mode). */
export interface PipelineEnv {
  /** DynamoDB verdicts table. */
  tableName: string;
  /** SageMaker endpoint name for each model (`text-toxicity`, `image-nsfw`, `fusion`). */
  endpointNames: Record<string, string>;
  /** Inference component per model, for endpoints that host the encoders as components (scale to zero). */
  inferenceComponentNames: Record<string, string>;
  /** Policy preset name (see shared/policy/policies). @default 'balanced' */
  policyName: string;
  /** Optional verdict actions; empty string disables. */
  quarantineBucket: string;
  eventBusName: string;
  /** Retries of model calls: INFERENCE_MAX_ATTEMPTS, INFERENCE_TIMEOUT_MS, INFERENCE_RETRY_* (ms). */
  inferenceRetry: RetryPolicy;
  /** MEDIA_MODE: `sync` (the ingest queue's consumer) or `long` (the long-media queue's). @default 'sync' */
  mediaMode: MediaMode;
  /** LONG_MEDIA_QUEUE_URL: where the synchronous mode forwards media over its limits; '' = nowhere. */
  longMediaQueueUrl: string;
}

/** MEDIA_MODE, validated. */
export function readMediaMode(env: NodeJS.ProcessEnv = process.env): MediaMode {
  const raw = env.MEDIA_MODE || 'sync';
  if (raw !== 'sync' && raw !== 'long')
    throw new ConfigError(`environment variable MEDIA_MODE must be sync or long, got ${raw}`);
  return raw;
}

/** The model-call retry policy, each field overridable from the environment (local mode, fault tests). */
export function readInferenceRetryPolicy(): RetryPolicy {
  const d = DEFAULT_RETRY_POLICY;
  return {
    maxAttempts: getNumberFromEnv('INFERENCE_MAX_ATTEMPTS', d.maxAttempts),
    attemptTimeoutMs: getNumberFromEnv('INFERENCE_TIMEOUT_MS', d.attemptTimeoutMs),
    baseDelayMs: getNumberFromEnv('INFERENCE_RETRY_BASE_MS', d.baseDelayMs),
    maxDelayMs: getNumberFromEnv('INFERENCE_RETRY_MAX_DELAY_MS', d.maxDelayMs),
    reserveMs: getNumberFromEnv('INFERENCE_RETRY_RESERVE_MS', d.reserveMs),
    minAttemptMs: d.minAttemptMs,
  };
}

export function readPipelineEnv(): PipelineEnv {
  const prefix = getStringFromEnv('ENDPOINT_PREFIX', '');
  return {
    tableName: getStringFromEnv('TABLE_NAME'),
    endpointNames: {
      'text-toxicity': getStringFromEnv('TEXT_ENDPOINT_NAME', `${prefix}text-toxicity`),
      'image-nsfw': getStringFromEnv('IMAGE_ENDPOINT_NAME', `${prefix}image-nsfw`),
      fusion: getStringFromEnv('FUSION_ENDPOINT_NAME', `${prefix}fusion`),
    },
    inferenceComponentNames: Object.fromEntries(
      Object.entries({
        'text-toxicity': getStringFromEnv('TEXT_INFERENCE_COMPONENT_NAME', ''),
        'image-nsfw': getStringFromEnv('IMAGE_INFERENCE_COMPONENT_NAME', ''),
      }).filter(([, v]) => v !== ''),
    ),
    policyName: getStringFromEnv('POLICY_NAME', 'balanced'),
    quarantineBucket: getStringFromEnv('QUARANTINE_BUCKET', ''),
    eventBusName: getStringFromEnv('EVENT_BUS_NAME', ''),
    inferenceRetry: readInferenceRetryPolicy(),
    mediaMode: readMediaMode(),
    longMediaQueueUrl: getStringFromEnv('LONG_MEDIA_QUEUE_URL', ''),
  };
}
