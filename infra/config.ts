/**
 * Per-environment configuration: cdk.json holds one entry per environment under
 * `moderation:environments`; `-c env=<name>` picks one (default `dev`). Read once and loudly: a
 * missing or malformed value fails synth with its path, never deploys a half-configured pipeline.
 */
import { KEEP_INPUTS_MODES, KEPT_INPUTS, type KeepInputsMode } from '#shared/contracts/kept-inputs.ts';
import { MODEL_NAMES, type ModelName } from '#shared/contracts/models.ts';
import { LIMITS } from '#shared/ingest/limits.ts';

/** The Lambda architecture; the native `sharp` binaries are installed for it (see docs/DEPLOY.md). */
export type LambdaArchitecture = 'arm64' | 'x86_64';

/** A model hosted on dedicated instances (GPU for the encoders). */
export interface InstanceHostingConfig {
  readonly kind: 'instance';
  /** e.g. `ml.g5.xlarge`. */
  readonly instanceType: string;
  /** Floor of the autoscaling range (ignored when `scaleToZero` puts the model behind an inference component). */
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Target tracking value: invocations per instance per minute (`SageMakerVariantInvocationsPerInstance`). */
  readonly targetInvocationsPerInstance: number;
}

/** A model hosted on SageMaker Serverless Inference (CPU only, pay per request). */
export interface ServerlessHostingConfig {
  readonly kind: 'serverless';
  /** 1024..6144, in 1 GiB steps. */
  readonly memorySizeMb: number;
  readonly maxConcurrency: number;
  /** Warm capacity, billed while idle. @default 0 */
  readonly provisionedConcurrency?: number;
}

export type HostingConfig = InstanceHostingConfig | ServerlessHostingConfig;

/** The synchronous HTTP API (docs/DEPLOY.md, "Synchronous API"). */
export interface ApiConfig {
  /** Memory of the API function (it decodes images in-process, like the moderate function). */
  readonly memorySizeMb: number;
  /** At most 29: an HTTP API waits 30 s for its integration. */
  readonly timeoutSeconds: number;
  /** Reserved concurrency of the API function. @default none (the stage throttle bounds it) */
  readonly reservedConcurrency?: number;
  /** Stage throttling: steady requests per second and burst, over all keys together. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Requests per minute a key may make when its entry in the key table names no limit. */
  readonly rateLimitPerMinute: number;
  /** Remote image URLs: hosts that may be fetched (none by default), and the size and time limits. */
  readonly fetch: {
    readonly allowedHosts: readonly string[];
    readonly maxBytes: number;
    readonly timeoutMs: number;
  };
  readonly alarms: {
    /** Alarm when the API's p99 latency (API Gateway's `Latency`) exceeds this. */
    readonly latencyP99Ms: number;
    /** Alarm when more than this percentage of requests answer 5xx. */
    readonly serverErrorRatePercent: number;
    /** Alarm when more than this percentage of requests answer 4xx (a client or key broke). */
    readonly clientErrorRatePercent: number;
  };
}

/** People in the loop (docs/DEPLOY.md, "Review"): the console's hosting and reviewer sign-in. */
export interface ReviewConfig {
  /**
   * Prefix of the Cognito hosted sign-in domain (`https://<prefix>.auth.<region>.amazoncognito.com`),
   * unique in the region. @default no hosted domain (the user pool is created without one)
   */
  readonly signInDomainPrefix?: string;
}

/** The monthly AWS Budgets cost budget of an environment (docs/DEPLOY.md, "Alarms and budget"). */
export interface BudgetConfig {
  /** The monthly limit, in US dollars. */
  readonly monthlyLimitUsd: number;
  /** Notify when actual spend reaches these percentages of the limit. */
  readonly actualThresholdsPercent: readonly number[];
  /** Notify when the month's forecast reaches this percentage of the limit. @default no forecast notification */
  readonly forecastThresholdPercent?: number;
  /**
   * Count only costs tagged `environment=<envName>` (the cost allocation tag must be activated in
   * the Billing console first, or the budget sees nothing). @default the whole account
   */
  readonly filterByEnvironmentTag: boolean;
}

/** Kept model inputs for replay with another model pack (docs/REPLAY.md, "Kept inputs"). */
export interface KeepInputsConfig {
  /** KEEP_INPUTS of the functions that moderate: `none`, `text` or `all`. @default 'none' */
  readonly mode: KeepInputsMode;
  /** Days until a kept document is deleted (the lifecycle rule is there whatever the mode). @default 30 */
  readonly expirationDays: number;
}

export interface PipelineConfig {
  /** The environment's name (`dev`, `prod`): part of the stack name and tags. */
  readonly envName: string;
  /**
   * The AWS account and region the environment deploys to. Required for every stage of the
   * delivery pipeline (`moderation:pipeline`); optional otherwise (an environment-agnostic stack).
   */
  readonly account?: string;
  readonly region?: string;
  /** Policy preset (shared/policy/presets). */
  readonly policyName: string;
  /** CloudWatch Logs retention for the functions, in days (a value CloudWatch accepts). */
  readonly logRetentionDays: number;
  /** Reserved concurrency of the moderate function: the ceiling of parallel calls into the endpoints. */
  readonly reservedConcurrency: number;
  readonly lambda: {
    readonly architecture: LambdaArchitecture;
    readonly memorySizeMb: number;
    readonly timeoutSeconds: number;
    readonly batchSize: number;
    readonly maxBatchingWindowSeconds: number;
  };
  readonly uploads: {
    /** Days until current raw uploads move to S3 Standard-IA; absent: never. */
    readonly transitionToInfrequentAccessDays?: number;
    /** Days until raw uploads expire; absent: never. */
    readonly expirationDays?: number;
    readonly noncurrentVersionExpirationDays: number;
    readonly accessLogsExpirationDays: number;
  };
  /** @default nothing kept, kept documents expire after 30 days */
  readonly keepInputs: KeepInputsConfig;
  readonly models: Readonly<Record<ModelName, HostingConfig>>;
  /** Put instance-hosted models behind inference components whose copies (and instances) scale to zero. */
  readonly scaleToZero: boolean;
  readonly alarms: {
    /** Alarm when the oldest ingest message is older than this. */
    readonly queueAgeSeconds: number;
    /** Alarm when an endpoint's p99 ModelLatency exceeds this. */
    readonly modelLatencyP99Ms: number;
    /** Optional e-mail subscription on the alarm topic. */
    readonly email?: string;
    /**
     * Optional HTTPS subscription on the alarm topic (a chat or paging webhook that confirms SNS
     * subscriptions; docs/DEPLOY.md).
     */
    readonly webhookUrl?: string;
  };
  /** The monthly cost budget; it notifies the alarm topic. */
  readonly budget: BudgetConfig;
  readonly api: ApiConfig;
  /** @default no hosted sign-in domain */
  readonly review: ReviewConfig;
  /** Table deletion protection. */
  readonly deletionProtection: boolean;
  /** Keep buckets, table and keys when the stack is deleted. */
  readonly retainData: boolean;
}

/** The context key in cdk.json that holds the environments. */
export const ENVIRONMENTS_CONTEXT_KEY = 'moderation:environments';
/** The context key in cdk.json that holds the delivery pipeline's stages, in deploy order. */
export const PIPELINE_CONTEXT_KEY = 'moderation:pipeline';
export const DEFAULT_ENV_NAME = 'dev';

/** Retention values CloudWatch Logs accepts (RetentionDays). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

type Json = Record<string, unknown>;

class Reader {
  constructor(
    private readonly obj: Json,
    private readonly path: string,
  ) {}

  private raw(key: string): unknown {
    return this.obj[key];
  }

  private where(key: string): string {
    return `${this.path}.${key}`;
  }

  object(key: string): Reader {
    const value = this.raw(key);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`config ${this.where(key)} must be an object, got ${JSON.stringify(value)}`);
    }
    return new Reader(value as Json, this.where(key));
  }

  string(key: string): string {
    const value = this.raw(key);
    if (typeof value !== 'string' || value === '') {
      throw new Error(`config ${this.where(key)} must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  optionalString(key: string): string | undefined {
    return this.raw(key) === undefined ? undefined : this.string(key);
  }

  int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(
        `config ${this.where(key)} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  optionalInt(key: string, min: number, max?: number): number | undefined {
    return this.raw(key) === undefined || this.raw(key) === null ? undefined : this.int(key, min, max);
  }

  /** A list of non-empty strings; absent means empty. */
  stringList(key: string): string[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
      throw new Error(
        `config ${this.where(key)} must be a list of non-empty strings, got ${JSON.stringify(value)}`,
      );
    }
    return value as string[];
  }

  /** A non-empty list of integers in [min, max]. */
  intList(key: string, min: number, max: number): number[] {
    const value = this.raw(key);
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      !value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)
    ) {
      throw new Error(
        `config ${this.where(key)} must be a non-empty list of integers in [${min}, ${max}], got ${JSON.stringify(value)}`,
      );
    }
    return value as number[];
  }

  optionalBoolean(key: string): boolean | undefined {
    return this.raw(key) === undefined ? undefined : this.boolean(key);
  }

  boolean(key: string): boolean {
    const value = this.raw(key);
    if (typeof value !== 'boolean') {
      throw new Error(`config ${this.where(key)} must be true or false, got ${JSON.stringify(value)}`);
    }
    return value;
  }
}

function readHosting(r: Reader): HostingConfig {
  const kind = r.string('kind');
  if (kind === 'instance') {
    const instanceType = r.string('instanceType');
    if (!instanceType.startsWith('ml.')) {
      throw new Error(`config instanceType must be a SageMaker instance type (ml.*), got ${instanceType}`);
    }
    const minInstances = r.int('minInstances', 1);
    const maxInstances = r.int('maxInstances', minInstances);
    return {
      kind,
      instanceType,
      minInstances,
      maxInstances,
      targetInvocationsPerInstance: r.int('targetInvocationsPerInstance', 1),
    };
  }
  if (kind === 'serverless') {
    const memorySizeMb = r.int('memorySizeMb', 1024, 6144);
    if (memorySizeMb % 1024 !== 0)
      throw new Error(`config memorySizeMb must be a multiple of 1024, got ${memorySizeMb}`);
    const maxConcurrency = r.int('maxConcurrency', 1, 200);
    return {
      kind,
      memorySizeMb,
      maxConcurrency,
      provisionedConcurrency: r.optionalInt('provisionedConcurrency', 0, maxConcurrency),
    };
  }
  throw new Error(`config hosting kind must be 'instance' or 'serverless', got ${JSON.stringify(kind)}`);
}

/** `host` or `host:port`, as API_FETCH_ALLOWED_HOSTS takes them (no scheme, path or wildcard). */
const FETCH_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/;

function readApi(r: Reader): ApiConfig {
  const throttle = r.object('throttle');
  const rateLimit = throttle.int('rateLimit', 1);
  const fetch = r.object('fetch');
  const allowedHosts = fetch.stringList('allowedHosts');
  for (const host of allowedHosts) {
    if (!FETCH_HOST.test(host)) {
      throw new Error(
        `config api.fetch.allowedHosts entries must be a lowercase host or host:port, got ${JSON.stringify(host)}`,
      );
    }
  }
  const alarms = r.object('alarms');
  return {
    memorySizeMb: r.int('memorySizeMb', 128, 10240),
    timeoutSeconds: r.int('timeoutSeconds', 1, 29),
    reservedConcurrency: r.optionalInt('reservedConcurrency', 1),
    throttle: { rateLimit, burstLimit: throttle.int('burstLimit', 1, 5000) },
    rateLimitPerMinute: r.int('rateLimitPerMinute', 1),
    fetch: {
      allowedHosts,
      maxBytes: fetch.optionalInt('maxBytes', 1, LIMITS.maxObjectBytes) ?? LIMITS.maxObjectBytes,
      timeoutMs: fetch.optionalInt('timeoutMs', 1, 10_000) ?? 3000,
    },
    alarms: {
      latencyP99Ms: alarms.int('latencyP99Ms', 1),
      serverErrorRatePercent: alarms.int('serverErrorRatePercent', 1, 100),
      clientErrorRatePercent: alarms.int('clientErrorRatePercent', 1, 100),
    },
  };
}

/** Cognito's rules for a domain prefix: lowercase letters, digits and hyphens, and none of its reserved words. */
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function readReview(r: Reader | undefined): ReviewConfig {
  const prefix = r?.optionalString('signInDomainPrefix');
  if (prefix !== undefined && (!DOMAIN_PREFIX.test(prefix) || /aws|amazon|cognito/.test(prefix))) {
    throw new Error(
      `config review.signInDomainPrefix must be lowercase letters, digits and hyphens (at most 63, without aws, amazon or cognito), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix === undefined ? {} : { signInDomainPrefix: prefix };
}

/** A 12-digit AWS account id. */
const ACCOUNT_ID = /^[0-9]{12}$/;
/** A commercial, GovCloud or China region name, e.g. `us-east-1`. */
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/;

function readTarget(r: Reader, envName: string, pinned: boolean): { account?: string; region?: string } {
  const account = r.optionalString('account');
  const region = r.optionalString('region');
  if (pinned && (account === undefined || region === undefined)) {
    throw new Error(
      `environment ${envName} is a stage of the delivery pipeline (${PIPELINE_CONTEXT_KEY}) and must pin its account and region: set ${ENVIRONMENTS_CONTEXT_KEY}.${envName}.account (12 digits) and .region, got account ${JSON.stringify(account)}, region ${JSON.stringify(region)}`,
    );
  }
  if (account !== undefined && !ACCOUNT_ID.test(account)) {
    throw new Error(
      `config ${ENVIRONMENTS_CONTEXT_KEY}.${envName}.account must be a 12-digit AWS account id, got ${JSON.stringify(account)}`,
    );
  }
  if (region !== undefined && !REGION.test(region)) {
    throw new Error(
      `config ${ENVIRONMENTS_CONTEXT_KEY}.${envName}.region must be a region name like us-east-1, got ${JSON.stringify(region)}`,
    );
  }
  return { account, region };
}

/** HTTPS only: SNS would otherwise deliver alarms (and budget notices) in the clear. */
function readWebhookUrl(r: Reader): string | undefined {
  const url = r.optionalString('webhookUrl');
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'https:') {
    throw new Error(`config alarms.webhookUrl must be an https:// URL, got ${JSON.stringify(url)}`);
  }
  return url;
}

function readKeepInputs(r: Reader | undefined): KeepInputsConfig {
  const mode = r?.optionalString('mode') ?? 'none';
  if (!(KEEP_INPUTS_MODES as readonly string[]).includes(mode)) {
    throw new Error(
      `config keepInputs.mode must be one of ${KEEP_INPUTS_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  }
  return {
    mode: mode as KeepInputsMode,
    expirationDays: r?.optionalInt('expirationDays', 1, 3650) ?? KEPT_INPUTS.defaultExpirationDays,
  };
}

function readBudget(r: Reader): BudgetConfig {
  return {
    monthlyLimitUsd: r.int('monthlyLimitUsd', 1),
    actualThresholdsPercent: r.intList('actualThresholdsPercent', 1, 1000),
    forecastThresholdPercent: r.optionalInt('forecastThresholdPercent', 1, 1000),
    filterByEnvironmentTag: r.optionalBoolean('filterByEnvironmentTag') ?? false,
  };
}

export interface ParseOptions {
  /** The environment is a stage of the delivery pipeline: account and region are required. @default false */
  readonly pipelineStage?: boolean;
}

/** Parses and validates one environment's entry. */
export function parsePipelineConfig(
  envName: string,
  raw: unknown,
  options: ParseOptions = {},
): PipelineConfig {
  if (typeof raw !== 'object' || raw === null) {
    throw new Error(`config for environment ${envName} must be an object, got ${JSON.stringify(raw)}`);
  }
  const r = new Reader(raw as Json, `${ENVIRONMENTS_CONTEXT_KEY}.${envName}`);
  const lambda = r.object('lambda');
  const architecture = lambda.string('architecture');
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    throw new Error(`config lambda.architecture must be arm64 or x86_64, got ${architecture}`);
  }
  const logRetentionDays = r.int('logRetentionDays', 1);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new Error(
      `config logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`,
    );
  }
  const uploads = r.object('uploads');
  const modelsReader = r.object('models');
  const models = Object.fromEntries(
    MODEL_NAMES.map((name) => [name, readHosting(modelsReader.object(name))]),
  ) as Record<ModelName, HostingConfig>;
  const alarms = r.object('alarms');
  return {
    envName,
    ...readTarget(r, envName, options.pipelineStage ?? false),
    policyName: r.string('policyName'),
    logRetentionDays,
    reservedConcurrency: r.int('reservedConcurrency', 2),
    lambda: {
      architecture,
      memorySizeMb: lambda.int('memorySizeMb', 128, 10240),
      timeoutSeconds: lambda.int('timeoutSeconds', 1, 900),
      batchSize: lambda.int('batchSize', 1, 10_000),
      maxBatchingWindowSeconds: lambda.int('maxBatchingWindowSeconds', 0, 300),
    },
    uploads: {
      transitionToInfrequentAccessDays: uploads.optionalInt('transitionToInfrequentAccessDays', 30),
      expirationDays: uploads.optionalInt('expirationDays', 1),
      noncurrentVersionExpirationDays: uploads.int('noncurrentVersionExpirationDays', 1),
      accessLogsExpirationDays: uploads.int('accessLogsExpirationDays', 1),
    },
    keepInputs: readKeepInputs(r.has('keepInputs') ? r.object('keepInputs') : undefined),
    models,
    scaleToZero: r.boolean('scaleToZero'),
    alarms: {
      queueAgeSeconds: alarms.int('queueAgeSeconds', 60),
      modelLatencyP99Ms: alarms.int('modelLatencyP99Ms', 1),
      email: alarms.optionalString('email'),
      webhookUrl: readWebhookUrl(alarms),
    },
    budget: readBudget(r.object('budget')),
    api: readApi(r.object('api')),
    review: readReview(r.has('review') ? r.object('review') : undefined),
    deletionProtection: r.boolean('deletionProtection'),
    retainData: r.boolean('retainData'),
  };
}

/** Minimal view of a construct node's context, so this module needs no CDK import. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** The environment selected with `-c env=<name>` (default `dev`), from the `moderation:environments` context. */
export function loadPipelineConfig(node: ContextSource, envName?: string): PipelineConfig {
  const name = envName ?? (node.tryGetContext('env') as string | undefined) ?? DEFAULT_ENV_NAME;
  const environments = node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY) as Record<string, unknown> | undefined;
  if (!environments) {
    throw new Error(
      `context ${ENVIRONMENTS_CONTEXT_KEY} is missing: run cdk from the repository root (cdk.json)`,
    );
  }
  const raw = environments[name];
  if (raw === undefined) {
    throw new Error(
      `unknown environment ${JSON.stringify(name)}; known: ${Object.keys(environments).join(', ')}`,
    );
  }
  return parsePipelineConfig(name, raw, { pipelineStage: loadPipelineStages(node).includes(name) });
}

/**
 * The environments the delivery pipeline deploys, in order (`moderation:pipeline.stages`; see
 * .github/workflows/deploy.yml). Each must be one of `moderation:environments`.
 */
export function loadPipelineStages(node: ContextSource): string[] {
  const pipeline = node.tryGetContext(PIPELINE_CONTEXT_KEY);
  if (pipeline === undefined) return [];
  const stages = new Reader({ [PIPELINE_CONTEXT_KEY]: pipeline }, 'context')
    .object(PIPELINE_CONTEXT_KEY)
    .stringList('stages');
  const environments = (node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY) ?? {}) as Record<string, unknown>;
  const unknown = stages.filter((stage) => !(stage in environments));
  if (unknown.length > 0 || new Set(stages).size !== stages.length) {
    throw new Error(
      `${PIPELINE_CONTEXT_KEY}.stages must name distinct environments of ${ENVIRONMENTS_CONTEXT_KEY} (${Object.keys(environments).join(', ')}), got ${JSON.stringify(stages)}`,
    );
  }
  return stages;
}
