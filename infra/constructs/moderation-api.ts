import { join } from 'node:path';
import { Duration, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { API_ROUTES, RATE_LIMIT_TABLE } from '#shared/contracts/api.ts';
import { ENV, type MediaDecoding } from '#shared/contracts/env.ts';
import { LIMITS, type MediaMode } from '#shared/ingest/limits.ts';
import { PipelineFunction } from './pipeline-function.ts';

/**
 * A colon is a legal character in an HTTP API route path (RFC 3986 `pchar`; synth accepts it, and
 * API Gateway documents no restriction for HTTP APIs), so Perspective's `comments:analyze` is a
 * route of its own (shared/contracts/api.ts) rather than a greedy `/v1alpha1/{proxy+}`.
 */
const HTTP_METHOD = { GET: apigwv2.HttpMethod.GET, POST: apigwv2.HttpMethod.POST } as const;

/** The key table the secret is created with: no keys, so every request is refused until an operator adds one. */
export const EMPTY_KEY_TABLE = { keys: [] } as const;

/**
 * One access log line per request, JSON. No query string (Perspective clients send the key as
 * `?key=`) and no headers (`Authorization`), so no key is ever logged.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
} as const;

/** Where the API's alarms go: `Observability` (its alarm topic and dashboard). */
export interface AlarmSink {
  addAlarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm;
}

/** Thresholds of the API's alarms. */
export interface ModerationApiAlarmThresholds {
  /** @default 2 seconds */
  readonly latencyP99?: Duration;
  /** @default 1 (%) */
  readonly serverErrorRatePercent?: number;
  /** @default 25 (%) */
  readonly clientErrorRatePercent?: number;
}

export interface ModerationApiProps {
  /** Where package.json, the lockfile and functions/ are. */
  readonly projectRoot: string;
  /**
   * What the API function needs to moderate, as the moderate function gets it (table, policy,
   * model endpoints, match lists, Powertools; the audit table and event bus of the review routes).
   * The construct adds `MEDIA_MODE=sync`, `API_AUTH`, the key table secret, the rate-limit table
   * and the fetch settings.
   * @default none
   */
  readonly environment?: Record<string, string>;
  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** Memory of the API function. @default 2048 */
  readonly memorySize?: number;
  /** Timeout of the API function: at most 29 s, how long an HTTP API waits for its integration. @default 28 seconds */
  readonly timeout?: Duration;
  /** @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** Packages installed next to the API function's bundle (see PipelineFunctionProps). @default none */
  readonly nodeModules?: readonly string[];
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Stage throttling over all keys together. @default 50 requests/s, burst 100 */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** API_RATE_LIMIT_PER_MINUTE: per key, when its entry names no limit. @default 600 */
  readonly rateLimitPerMinute?: number;
  /** Remote image URLs the API may fetch. @default no hosts; the object size limit; 3 s */
  readonly fetch?: {
    readonly allowedHosts?: readonly string[];
    readonly maxBytes?: number;
    readonly timeoutMs?: number;
  };
  /** @default a name CloudFormation generates */
  readonly apiName?: string;
  /** The key table secret, the rate-limit table and their keys. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The synchronous moderation API: an HTTP API (payload v2) in front of one function that runs the
 * same moderation code as the S3 path, a Lambda authorizer (simple responses, no caching) that
 * checks keys against a key table in Secrets Manager, a DynamoDB table of per-key request counters,
 * stage throttling and JSON access logs. Grants on its own resources are made here; what the
 * function reads elsewhere (verdicts, endpoints, match lists) is granted by the stack with those
 * resources' `grant*`.
 */
export class ModerationApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** The API function (functions/api/handler.ts). */
  readonly handler: PipelineFunction;
  /** The Lambda authorizer (functions/api-authorizer/handler.ts). */
  readonly authorizer: PipelineFunction;
  /** The key table: `{"keys":[{"sha256","tenant","policy","ratePerMinute"}]}`. */
  readonly keys: secretsmanager.Secret;
  readonly keysEncryptionKey: kms.Key;
  /** Per-key request counters. */
  readonly rateLimits: dynamodb.TableV2;
  readonly rateLimitsEncryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: ModerationApiProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const timeout = props.timeout ?? Duration.seconds(28);
    if (timeout.toSeconds() > 29) {
      throw new Error(
        `api function timeout must be at most 29 seconds (an HTTP API waits 30 s for its integration), got ${timeout.toSeconds()} s`,
      );
    }

    // ---- Key table and counters ---------------------------------------------------------------
    this.keysEncryptionKey = new kms.Key(this, 'KeysKey', {
      description: 'API key table',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.keys = new secretsmanager.Secret(this, 'Keys', {
      description:
        'Key table of the moderation API: {"keys":[{"sha256","tenant","policy","ratePerMinute"}]} (docs/DEPLOY.md)',
      encryptionKey: this.keysEncryptionKey,
      // An empty table is no secret. Operators put the real one (hashes, never keys) with
      // put-secret-value; CloudFormation rewrites it only if this template value changes.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(EMPTY_KEY_TABLE)),
      removalPolicy,
    });
    Validations.of(this.keys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds hashes of API keys that the operator issues and revokes by editing the table; there is no credential for a rotation function to rotate.',
    });

    this.rateLimitsEncryptionKey = new kms.Key(this, 'RateLimitsKey', {
      description: 'API rate-limit counters',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.rateLimits = new dynamodb.TableV2(this, 'RateLimits', {
      partitionKey: { name: RATE_LIMIT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: RATE_LIMIT_TABLE.timeToLiveAttribute,
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.rateLimitsEncryptionKey),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });

    // ---- Functions ----------------------------------------------------------------------------
    const fetch = props.fetch ?? {};
    this.handler = new PipelineFunction(this, 'Handler', {
      entry: join(props.projectRoot, 'functions', 'api', 'handler.ts'),
      projectRoot: props.projectRoot,
      description:
        'Serves the synchronous moderation API (HTTP API payload v2, keys checked by the authorizer)',
      architecture: props.architecture,
      memorySize: props.memorySize ?? 2048,
      timeout,
      logRetention: props.logRetention,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      nodeModules: props.nodeModules,
      environment: {
        ...props.environment,
        // No long-media queue: media over the synchronous limits is a TOO_LONG_FOR_SYNC answer.
        [ENV.mediaMode]: 'sync' satisfies MediaMode,
        // No ffmpeg in the zip and no queue to forward to: audio and video answer 415 MEDIA_NEEDS_UPLOAD.
        [ENV.mediaDecoding]: 'none' satisfies MediaDecoding,
        [ENV.apiAuth]: 'authorizer',
        [ENV.rateLimitTableName]: this.rateLimits.tableName,
        [ENV.apiRateLimitPerMinute]: String(props.rateLimitPerMinute ?? 600),
        [ENV.apiFetchAllowedHosts]: (fetch.allowedHosts ?? []).join(','),
        [ENV.apiFetchMaxBytes]: String(fetch.maxBytes ?? LIMITS.maxObjectBytes),
        [ENV.apiFetchTimeoutMs]: String(fetch.timeoutMs ?? 3000),
        // Keys are checked by the authorizer; the function reads the table for the tenants'
        // settings (`tenants.<name>.webhook`, the review routes' decision webhooks).
        [ENV.apiKeysSecretArn]: this.keys.secretArn,
      },
    });
    this.grantRateLimits(this.handler.function);
    this.grantReadKeys(this.handler.function);

    this.authorizer = new PipelineFunction(this, 'Authorizer', {
      entry: join(props.projectRoot, 'functions', 'api-authorizer', 'handler.ts'),
      projectRoot: props.projectRoot,
      description:
        "Checks API keys (bearer token or ?key=) against the key table, and reviewers' Cognito ID tokens, for the HTTP API",
      architecture: props.architecture,
      memorySize: 256,
      // API Gateway gives an authorizer 10 s.
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      environment: { [ENV.apiKeysSecretArn]: this.keys.secretArn },
    });
    this.grantReadKeys(this.authorizer.function);

    // ---- HTTP API -----------------------------------------------------------------------------
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: props.apiName,
      description: 'Synchronous moderation: native, OpenAI- and Perspective-compatible routes',
      // The stage below has throttling and access logs, which the implicit default stage cannot.
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    // Identity sources would be required to be present (all of them), and the key comes either as
    // `Authorization: Bearer` or as `?key=`; with none, results cannot be cached, hence TTL 0.
    const keyAuthorizer = new HttpLambdaAuthorizer('KeyAuthorizer', this.authorizer.function, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: Duration.seconds(0),
      identitySource: [],
    });
    const integration = new HttpLambdaIntegration('Handler', this.handler.function, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of API_ROUTES) {
      const [added] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HTTP_METHOD[route.method]],
        integration,
        authorizer: route.auth === 'key' ? keyAuthorizer : new apigwv2.HttpNoneAuthorizer(),
      });
      if (route.auth === 'none' && added) {
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by design (health check, OpenAPI document): it reads no data and moderates nothing.`,
        });
      }
    }
    // The authorizer exists once a route has bound it. An empty identity source list is not the
    // same as none in CloudFormation: leave the property out, as the API documents for REQUEST
    // authorizers without caching.
    const cfnAuthorizer = this.httpApi.node.findChild('KeyAuthorizer').node
      .defaultChild as apigwv2.CfnAuthorizer;
    cfnAuthorizer.addPropertyDeletionOverride('IdentitySource');
  }

  /**
   * Reviewers signed in with this pool's app client (the review console) may call the API with
   * their ID token: the authorizer verifies it (shared/api/cognito.ts) beside the key table.
   */
  acceptSignInTokens(userPool: cognito.IUserPool, client: cognito.IUserPoolClient): void {
    this.authorizer.function.addEnvironment(ENV.cognitoUserPoolId, userPool.userPoolId);
    this.authorizer.function.addEnvironment(ENV.cognitoClientId, client.userPoolClientId);
  }

  /** The stage's URL (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  get url(): string {
    return this.stage.url;
  }

  /** What the API function does with the counters: one atomic UpdateItem (ADD) per request. */
  grantRateLimits(grantee: iam.IGrantable): iam.Grant {
    this.rateLimitsEncryptionKey.grantEncryptDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.rateLimits.tableArn],
    });
  }

  /** Read the key table (GetSecretValue, DescribeSecret, and decrypt through Secrets Manager only). */
  grantReadKeys(grantee: iam.IGrantable): iam.Grant {
    return this.keys.grantRead(grantee);
  }

  /** Requests. @default sum over 5 minutes */
  metricRequests(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.httpApi.metricCount({ statistic: 'Sum', period: Duration.minutes(5), ...props });
  }

  /** p99 of API Gateway's `Latency` (authorizer + integration + overhead), in ms. @default over 5 minutes */
  metricLatencyP99(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.httpApi.metricLatency({ statistic: 'p99', period: Duration.minutes(5), ...props });
  }

  /** Percentage of requests answered 5xx; 0 below `minRequests` requests. @default 5 minutes, 20 requests */
  metricServerErrorRate(
    options: { period?: Duration; minRequests?: number } = {},
  ): cloudwatch.MathExpression {
    const period = options.period ?? Duration.minutes(5);
    const errors = this.httpApi.metricServerError({ statistic: 'Sum', period });
    return this.errorRate(
      { id: 'serverErrors', label: '5xx rate (%)' },
      errors,
      period,
      options.minRequests ?? 20,
    );
  }

  /** Percentage of requests answered 4xx (401, 429, bad requests); 0 below `minRequests`. @default 5 minutes, 50 requests */
  metricClientErrorRate(
    options: { period?: Duration; minRequests?: number } = {},
  ): cloudwatch.MathExpression {
    const period = options.period ?? Duration.minutes(5);
    const errors = this.httpApi.metricClientError({ statistic: 'Sum', period });
    return this.errorRate(
      { id: 'clientErrors', label: '4xx rate (%)' },
      errors,
      period,
      options.minRequests ?? 50,
    );
  }

  /** `what.id` names the errors in the expression: two rates on one graph need different ids. */
  private errorRate(
    what: { id: string; label: string },
    errors: cloudwatch.Metric,
    period: Duration,
    minRequests: number,
  ): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      // A handful of requests with one error is not a 50 % error rate worth waking anyone for.
      expression: `IF(requests >= ${minRequests}, 100 * FILL(${what.id}, 0) / requests, 0)`,
      usingMetrics: { [what.id]: errors, requests: this.metricRequests({ period }) },
      period,
      label: what.label,
    });
  }

  /**
   * The API's alarms on `sink`'s topic: 5xx and 4xx rates, p99 latency, and errors and throttles of
   * both functions (an authorizer that fails answers every request with 500).
   */
  addAlarms(sink: AlarmSink, thresholds: ModerationApiAlarmThresholds = {}): cloudwatch.Alarm[] {
    const stackName = Stack.of(this).stackName;
    const latency = thresholds.latencyP99 ?? Duration.seconds(2);
    const serverRate = thresholds.serverErrorRatePercent ?? 1;
    const clientRate = thresholds.clientErrorRatePercent ?? 25;
    const atLeastOne = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    };
    return [
      sink.addAlarm('ApiServerErrorRate', {
        alarmDescription: `${stackName}: more than ${serverRate} % of API requests answer 5xx`,
        metric: this.metricServerErrorRate(),
        threshold: serverRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
      sink.addAlarm('ApiClientErrorRate', {
        alarmDescription: `${stackName}: more than ${clientRate} % of API requests answer 4xx (a client, a key or the rate limits broke)`,
        metric: this.metricClientErrorRate(),
        threshold: clientRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      }),
      sink.addAlarm('ApiLatencyP99', {
        alarmDescription: `${stackName}: the API's p99 latency is above ${latency.toMilliseconds()} ms`,
        metric: this.metricLatencyP99(),
        threshold: latency.toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
      sink.addAlarm('ApiFunctionErrors', {
        alarmDescription: `${stackName}: the API function threw or timed out (clients got 5xx)`,
        metric: this.handler.metricErrors(),
        ...atLeastOne,
      }),
      sink.addAlarm('ApiFunctionThrottles', {
        alarmDescription: `${stackName}: the API function was throttled (concurrency reached; clients got 5xx)`,
        metric: this.handler.metricThrottles(),
        ...atLeastOne,
      }),
      sink.addAlarm('ApiAuthorizerErrors', {
        alarmDescription: `${stackName}: the API authorizer threw or timed out (clients got 500)`,
        metric: this.authorizer.metricErrors(),
        ...atLeastOne,
      }),
      sink.addAlarm('ApiAuthorizerThrottles', {
        alarmDescription: `${stackName}: the API authorizer was throttled (clients got 500)`,
        metric: this.authorizer.metricThrottles(),
        ...atLeastOne,
      }),
    ];
  }

  /** Dashboard graphs of the API: requests and error rates, latency, the functions. */
  dashboardWidgets(): cloudwatch.IWidget[] {
    return [
      new cloudwatch.GraphWidget({
        title: 'API requests',
        left: [this.metricRequests({ label: 'requests' })],
        right: [this.metricServerErrorRate(), this.metricClientErrorRate()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        left: [
          this.httpApi.metricLatency({ statistic: 'p50', period: Duration.minutes(5), label: 'p50' }),
          this.metricLatencyP99({ label: 'p99' }),
          this.httpApi.metricIntegrationLatency({
            statistic: 'p99',
            period: Duration.minutes(5),
            label: 'integration p99',
          }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API functions',
        left: [
          this.handler.metricErrors({ label: 'API errors' }),
          this.handler.metricThrottles({ label: 'API throttles' }),
          this.authorizer.metricErrors({ label: 'authorizer errors' }),
          this.authorizer.metricThrottles({ label: 'authorizer throttles' }),
        ],
        right: [this.handler.metricDuration({ label: 'API p99 duration (ms)' })],
        width: 8,
      }),
    ];
  }
}
