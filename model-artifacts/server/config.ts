/**
 * The server's configuration, read once from the environment at start-up; a bad value stops the
 * server with the variable and the value in the message.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` (else `SAGEMAKER_BIND_TO_PORT`) | 8080 | listen port (SageMaker's contract is 8080) |
 * | `HOST` | 0.0.0.0 | listen address |
 * | `MODEL_DIR` (else `SM_MODEL_DIR`) | /opt/ml/model if present, else model-artifacts/models | models root |
 * | `MODEL_NAME` | the only model | model served by `POST /invocations` |
 * | `MAX_BATCH_SIZE` | 32 | items per model run |
 * | `MAX_QUEUE_DELAY_MS` | 0 | longest wait for a batch to fill (0: run at once when idle) |
 * | `MAX_BODY_BYTES` | 20 MiB | larger requests get 413 |
 * | `SHUTDOWN_TIMEOUT_MS` | 20000 | SIGTERM: time to finish in-flight requests |
 * | `ORT_*` | see sessions.ts | execution providers, threads |
 */

import { readSessionEnv, SERVER_ENV } from '#shared/contracts/env.ts';
import type { SessionConfig } from '#shared/onnx/sessions.ts';
import { DEFAULT_BATCHING } from './batcher.ts';
import { InferenceServerError } from './errors.ts';
import { modelsRootFromEnv } from './registry.ts';
import { DEFAULT_MAX_BODY_BYTES, type InferenceServerOptions } from './server.ts';

export interface ServerConfig {
  port: number;
  host: string;
  modelsDir: string;
  defaultModel: string | undefined;
  batching: { maxBatchSize: number; maxQueueDelayMs: number };
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  session: SessionConfig;
}

export class ConfigError extends InferenceServerError {
  override name = 'ConfigError';
}

function numberFromEnv(
  env: NodeJS.ProcessEnv,
  keys: string[],
  fallback: number,
  check: { integer: boolean; min: number; max?: number },
): number {
  const key = keys.find((k) => env[k] !== undefined && env[k]?.trim() !== '');
  if (!key) return fallback;
  const raw = env[key] as string;
  const value = Number(raw);
  const ok =
    Number.isFinite(value) &&
    (!check.integer || Number.isInteger(value)) &&
    value >= check.min &&
    (check.max === undefined || value <= check.max);
  if (!ok) {
    const kind = check.integer ? 'an integer' : 'a number';
    const range = check.max === undefined ? `>= ${check.min}` : `in [${check.min}, ${check.max}]`;
    throw new ConfigError(`${key} must be ${kind} ${range}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads the server configuration (see the module comment). */
export function serverConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return {
    port: numberFromEnv(env, ['PORT', 'SAGEMAKER_BIND_TO_PORT'], 8080, { integer: true, min: 0, max: 65535 }),
    host: env.HOST?.trim() || '0.0.0.0',
    modelsDir: modelsRootFromEnv(env),
    defaultModel: env[SERVER_ENV.modelName]?.trim() || undefined,
    batching: {
      maxBatchSize: numberFromEnv(env, ['MAX_BATCH_SIZE'], DEFAULT_BATCHING.maxBatchSize, {
        integer: true,
        min: 1,
      }),
      maxQueueDelayMs: numberFromEnv(env, ['MAX_QUEUE_DELAY_MS'], DEFAULT_BATCHING.maxQueueDelayMs, {
        integer: false,
        min: 0,
      }),
    },
    maxBodyBytes: numberFromEnv(env, ['MAX_BODY_BYTES'], DEFAULT_MAX_BODY_BYTES, { integer: true, min: 1 }),
    shutdownTimeoutMs: numberFromEnv(env, ['SHUTDOWN_TIMEOUT_MS'], 20_000, { integer: true, min: 0 }),
    session: readSessionEnv(env),
  };
}

/** The `startInferenceServer` options for a configuration. */
export function serverOptions(config: ServerConfig): InferenceServerOptions {
  return {
    modelsDir: config.modelsDir,
    port: config.port,
    host: config.host,
    batching: config.batching,
    maxBodyBytes: config.maxBodyBytes,
    session: config.session,
    ...(config.defaultModel ? { defaultModel: config.defaultModel } : {}),
  };
}
