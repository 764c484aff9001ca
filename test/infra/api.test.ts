import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY, parsePipelineConfig } from '#infra/config.ts';
import { ACCESS_LOG_FIELDS, ModerationApi } from '#infra/constructs/moderation-api.ts';
import { PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { ENV, MODEL_ENV } from '#shared/contracts/env.ts';
import { MODEL_NAMES } from '#shared/contracts/models.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { buildPipeline, cdkJsonContext, logicalId, type TestPipeline } from './helpers.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
const ref = (p: TestPipeline, c: IConstruct) => ({ Ref: logicalId(p, c) });
const arn = (p: TestPipeline, c: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(p, c), attribute],
});

function statementsOfRole(p: TestPipeline, role: IConstruct): Statement[] {
  const roleId = logicalId(p, role);
  const policies = Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[];
  return policies
    .filter((pol) => pol.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((pol) => pol.Properties.PolicyDocument.Statement);
}

function only(p: TestPipeline, type: string): Resource[] {
  return Object.values(p.template.findResources(type)) as Resource[];
}

/** The route keys of the contract (docs/API.md): written here, not read back from the construct. */
const KEYED_ROUTES = [
  'POST /v1/moderate',
  'POST /v1/moderations',
  'POST /v1alpha1/comments:analyze',
  'GET /v1/verdicts/{id}',
  'GET /v1/review/queue',
  'POST /v1/review/items/{id}/claim',
  'POST /v1/review/items/{id}/release',
  'POST /v1/review/items/{id}/decision',
  'POST /v1/appeals',
];
const PUBLIC_ROUTES = ['GET /health', 'GET /openapi.json'];

describe('synchronous API', () => {
  for (const envName of ['dev', 'prod']) {
    describe(envName, () => {
      let p: TestPipeline;
      beforeAll(() => {
        p = buildPipeline(envName);
      });

      it('routes the moderation and review routes through the key authorizer and leaves health and OpenAPI public', () => {
        const routes = only(p, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties);
        expect(routes.map((r) => r.RouteKey).sort()).toEqual([...KEYED_ROUTES, ...PUBLIC_ROUTES].sort());
        const authorizer = ref(p, p.stack.api.httpApi.node.findChild('KeyAuthorizer'));
        for (const key of KEYED_ROUTES) {
          expect(
            routes.find((r) => r.RouteKey === key),
            key,
          ).toMatchObject({
            AuthorizationType: 'CUSTOM',
            AuthorizerId: authorizer,
          });
        }
        for (const key of PUBLIC_ROUTES) {
          const route = routes.find((r) => r.RouteKey === key)!;
          expect(route.AuthorizationType, key).toBe('NONE');
          expect(route.AuthorizerId, key).toBeUndefined();
        }
      });

      it('sends every route to the API function with payload v2', () => {
        const integrations = only(p, 'AWS::ApiGatewayV2::Integration');
        expect(integrations).toHaveLength(1);
        expect(integrations[0]!.Properties).toMatchObject({
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          IntegrationUri: arn(p, p.stack.api.handler.function),
        });
      });

      it('checks keys with a Lambda authorizer: simple responses, payload 2.0, no identity sources, no caching', () => {
        const authorizers = only(p, 'AWS::ApiGatewayV2::Authorizer');
        expect(authorizers).toHaveLength(1);
        const props = authorizers[0]!.Properties;
        expect(props).toMatchObject({
          AuthorizerType: 'REQUEST',
          EnableSimpleResponses: true,
          AuthorizerPayloadFormatVersion: '2.0',
          AuthorizerResultTtlInSeconds: 0,
        });
        // HTTP API refuses a request missing any listed source; the key comes as a header or ?key=.
        expect(props).not.toHaveProperty('IdentitySource');
        expect(JSON.stringify(props.AuthorizerUri)).toContain(logicalId(p, p.stack.api.authorizer.function));
        p.template.hasResourceProperties('AWS::Lambda::Permission', {
          FunctionName: arn(p, p.stack.api.authorizer.function),
          Principal: 'apigateway.amazonaws.com',
          SourceArn: { 'Fn::Join': ['', Match.arrayWith(['/authorizers/'])] },
        });
      });

      it('throttles the auto-deployed $default stage as configured and writes JSON access logs', () => {
        const stages = only(p, 'AWS::ApiGatewayV2::Stage');
        expect(stages).toHaveLength(1);
        const stage = stages[0]!.Properties as {
          AccessLogSettings: { DestinationArn: unknown; Format: string };
        } & Record<string, unknown>;
        expect(stage).toMatchObject({
          StageName: '$default',
          AutoDeploy: true,
          DefaultRouteSettings: {
            ThrottlingRateLimit: p.config.api.throttle.rateLimit,
            ThrottlingBurstLimit: p.config.api.throttle.burstLimit,
          },
        });
        expect(stage.AccessLogSettings.DestinationArn).toEqual(arn(p, p.stack.api.accessLogs));
        const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
        expect(format).toMatchObject({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          routeKey: '$context.routeKey',
          status: '$context.status',
          latency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          authorizerError: '$context.authorizer.error',
        });
        // The key travels as a header or ?key=: neither may reach the logs.
        expect(stage.AccessLogSettings.Format).not.toMatch(/header|querystring|apiKey/i);
        p.template.hasResourceProperties('AWS::Logs::LogGroup', {
          RetentionInDays: p.config.logRetentionDays,
        });
        expect(p.template.toJSON().Resources[logicalId(p, p.stack.api.accessLogs)]).toMatchObject({
          Properties: { RetentionInDays: p.config.logRetentionDays },
        });
      });

      it('keeps per-key counters in an encrypted on-demand table: key `key`, TTL `expire`, PITR', () => {
        const table = p.template.toJSON().Resources[logicalId(p, p.stack.api.rateLimits)] as Resource;
        expect(table.Properties).toMatchObject({
          KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: 'expire', Enabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [
            {
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
              SSESpecification: { KMSMasterKeyId: arn(p, p.stack.api.rateLimitsEncryptionKey) },
            },
          ],
        });
        // The same removal policy as the verdicts table.
        const verdicts = p.template.toJSON().Resources[logicalId(p, p.stack.verdicts.table)] as Resource;
        expect(table.DeletionPolicy).toBe(verdicts.DeletionPolicy);
        expect(table.DeletionPolicy).toBe(p.config.retainData ? 'RetainExceptOnCreate' : 'Delete');
      });

      it('creates the key table secret empty, under its own KMS key', () => {
        const secrets = only(p, 'AWS::SecretsManager::Secret');
        expect(secrets).toHaveLength(1);
        expect(secrets[0]!.Properties.KmsKeyId).toEqual(arn(p, p.stack.api.keysEncryptionKey));
        expect(JSON.parse(secrets[0]!.Properties.SecretString as string)).toEqual({ keys: [] });
        p.template.hasResourceProperties('AWS::KMS::Key', {
          Description: 'API key table',
          EnableKeyRotation: true,
        });
      });

      it('gives the API function what it needs to moderate synchronously, the API settings, and nothing else', () => {
        const fn = p.template.toJSON().Resources[logicalId(p, p.stack.api.handler.function)] as Resource;
        const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(env).toMatchObject({
          [ENV.tableName]: ref(p, p.stack.verdicts.table),
          [ENV.policyName]: p.config.policyName,
          [ENV.matchListsBucket]: ref(p, p.stack.matchLists.bucket),
          [ENV.mediaMode]: 'sync',
          // No ffmpeg in its zip: audio and video answer 415 MEDIA_NEEDS_UPLOAD.
          [ENV.mediaDecoding]: 'none',
          [ENV.apiAuth]: 'authorizer',
          [ENV.rateLimitTableName]: ref(p, p.stack.api.rateLimits),
          [ENV.apiRateLimitPerMinute]: String(p.config.api.rateLimitPerMinute),
          [ENV.apiFetchAllowedHosts]: '',
          [ENV.apiFetchMaxBytes]: String(LIMITS.maxObjectBytes),
          [ENV.apiFetchTimeoutMs]: '3000',
          // The review routes: their audit trail, decision events, and tenants' webhook settings.
          [ENV.auditTableName]: ref(p, p.stack.audit.table),
          [ENV.eventBusName]: ref(p, p.stack.eventBus),
          [ENV.apiKeysSecretArn]: ref(p, p.stack.api.keys),
        });
        for (const name of MODEL_NAMES) {
          expect(env, name).toHaveProperty(MODEL_ENV[name].endpoint);
          // The payload limit the client splits requests under follows the endpoint's hosting mode.
          expect(env[MODEL_ENV[name].hosting], name).toBe(p.stack.endpoints[name].mode);
        }
        // No long-media forwarding and no quarantine (an API request has no upload to copy).
        for (const name of [ENV.longMediaQueueUrl, ENV.quarantineBucket]) {
          expect(env, name).not.toHaveProperty(name);
        }
        expect(fn.Properties).toMatchObject({
          Timeout: p.config.api.timeoutSeconds,
          MemorySize: p.config.api.memorySizeMb,
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
        });
        expect(fn.Properties.Timeout as number).toBeLessThanOrEqual(29);
        expect(fn.Properties.ReservedConcurrentExecutions).toBe(p.config.api.reservedConcurrency);
      });

      it("gives the authorizer only the key table secret and the reviewers' user pool and app client", () => {
        const fn = p.template.toJSON().Resources[logicalId(p, p.stack.api.authorizer.function)] as Resource;
        expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
          NODE_OPTIONS: '--enable-source-maps',
          [ENV.apiKeysSecretArn]: ref(p, p.stack.api.keys),
          [ENV.cognitoUserPoolId]: ref(p, p.stack.reviewConsole.userPool),
          [ENV.cognitoClientId]: ref(p, p.stack.reviewConsole.userPoolClient),
        });
      });

      it('lets the API function read/write its tables and invoke the endpoints, and no more', () => {
        const statements = statementsOfRole(p, p.stack.api.handler.role);
        // Action × resource, so the assertion does not depend on how statements are merged.
        const dynamo = statements
          .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
          .flatMap((s) =>
            actionsOf(s).flatMap((a) => resourcesOf(s).map((r) => `${a} ${JSON.stringify(r)}`)),
          );
        const on = (action: string, resource: unknown) => `${action} ${JSON.stringify(resource)}`;
        const verdicts = arn(p, p.stack.verdicts.table);
        expect(dynamo.sort()).toEqual(
          [
            on('dynamodb:UpdateItem', arn(p, p.stack.api.rateLimits)),
            on('dynamodb:GetItem', verdicts),
            on('dynamodb:PutItem', verdicts),
            on('dynamodb:UpdateItem', verdicts),
            on('dynamodb:Query', { 'Fn::Join': ['', [verdicts, '/index/by-queue']] }),
            on('dynamodb:PutItem', arn(p, p.stack.audit.table)),
          ].sort(),
        );
        const invoke = statements.filter((s) => actionsOf(s).includes('sagemaker:InvokeEndpoint'));
        expect(invoke).toHaveLength(1);
        const endpoints = Object.values(p.stack.endpoints).flatMap((e) => [
          arn(p, e.endpoint, 'EndpointArn'),
          ...(e.inferenceComponent ? [arn(p, e.inferenceComponent, 'InferenceComponentArn')] : []),
        ]);
        expect(resourcesOf(invoke[0]!)).toEqual(expect.arrayContaining(endpoints));
        expect(resourcesOf(invoke[0]!)).toHaveLength(endpoints.length);
        const services = new Set(statements.flatMap(actionsOf).map((a) => a.split(':')[0]));
        expect([...services].sort()).toEqual([
          'dynamodb',
          'events',
          'kms',
          'logs',
          's3',
          'sagemaker',
          'secretsmanager',
          'xray',
        ]);
        const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
        // Read the lists; "block and bank" lists the bucket (so a new bank's HEAD is 404) and puts.
        expect([...new Set(s3.flatMap(actionsOf))].sort()).toEqual([
          's3:GetObject',
          's3:ListBucket',
          's3:PutObject',
        ]);
        for (const s of s3)
          expect(JSON.stringify(resourcesOf(s))).toContain(logicalId(p, p.stack.matchLists.bucket));
      });

      it('lets the authorizer read the key table secret and nothing else', () => {
        const statements = statementsOfRole(p, p.stack.api.authorizer.role);
        const services = new Set(statements.flatMap(actionsOf).map((a) => a.split(':')[0]));
        expect([...services].sort()).toEqual(['logs', 'secretsmanager', 'xray']);
        const secret = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
        expect(secret.map((s) => [actionsOf(s).sort(), resourcesOf(s)])).toEqual([
          [['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], [ref(p, p.stack.api.keys)]],
        ]);
        // It decrypts the secret through Secrets Manager only (the key policy), never the key directly.
        const key = p.template.toJSON().Resources[logicalId(p, p.stack.api.keysEncryptionKey)] as Resource;
        const keyStatements = (
          key.Properties.KeyPolicy as { Statement: (Statement & { Principal: unknown })[] }
        ).Statement;
        const authorizerRole = JSON.stringify(arn(p, p.stack.api.authorizer.role));
        const forAuthorizer = keyStatements.filter((s) =>
          JSON.stringify(s.Principal).includes(authorizerRole),
        );
        expect(forAuthorizer).toHaveLength(1);
        expect(forAuthorizer[0]).toMatchObject({
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'kms:ViaService': expect.stringMatching(/^secretsmanager\./) } },
        });
        // And no moderating function may read the key table (the API function reads it for webhooks).
        for (const role of [p.stack.moderateFunction.role, p.stack.longMediaFunction.role]) {
          expect(
            statementsOfRole(p, role)
              .flatMap(actionsOf)
              .filter((a) => a.startsWith('secretsmanager:')),
          ).toEqual([]);
        }
      });

      it('alarms on 5xx and 4xx rates, p99 latency and both functions, to the alarm topic', () => {
        const alarms = p.template.findResources('AWS::CloudWatch::Alarm');
        const byId = (prefix: string) => {
          const found = Object.entries(alarms).filter(([id]) => id.startsWith(`Observability${prefix}`));
          expect(found, prefix).toHaveLength(1);
          return found[0]![1] as Resource;
        };
        const topic = { Ref: logicalId(p, p.stack.observability.alarmTopic) };
        const latency = byId('ApiLatencyP99');
        expect(latency.Properties).toMatchObject({
          Threshold: p.config.api.alarms.latencyP99Ms,
          ExtendedStatistic: 'p99',
          MetricName: 'Latency',
          Namespace: 'AWS/ApiGateway',
          AlarmActions: [topic],
        });
        const serverRate = byId('ApiServerErrorRate');
        expect(serverRate.Properties.Threshold).toBe(p.config.api.alarms.serverErrorRatePercent);
        expect(JSON.stringify(serverRate.Properties.Metrics)).toMatch(/5xx/);
        const clientRate = byId('ApiClientErrorRate');
        expect(clientRate.Properties.Threshold).toBe(p.config.api.alarms.clientErrorRatePercent);
        expect(JSON.stringify(clientRate.Properties.Metrics)).toMatch(/4xx/);
        for (const [id, fn, metric] of [
          ['ApiFunctionErrors', p.stack.api.handler, 'Errors'],
          ['ApiFunctionThrottles', p.stack.api.handler, 'Throttles'],
          ['ApiAuthorizerErrors', p.stack.api.authorizer, 'Errors'],
          ['ApiAuthorizerThrottles', p.stack.api.authorizer, 'Throttles'],
        ] as const) {
          expect(byId(id).Properties, id).toMatchObject({
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: ref(p, fn.function) }],
            AlarmActions: [topic],
          });
        }
      });

      it('outputs the API URL', () => {
        expect(p.template.toJSON().Outputs.ApiUrl.Value).toEqual({
          'Fn::Join': [
            '',
            [
              'https://',
              ref(p, p.stack.api.httpApi),
              expect.stringMatching(/^\.execute-api\./),
              expect.anything(),
              '/',
            ],
          ],
        });
      });
    });
  }
});

describe('ModerationApi construct', () => {
  it('passes the allowed fetch hosts from the configuration, comma-separated', () => {
    const p = buildPipeline('dev', (c) => ({
      ...c,
      api: {
        ...c.api,
        fetch: { ...c.api.fetch, allowedHosts: ['images.example.com', 'cdn.example.org:8443'] },
      },
    }));
    p.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.apiFetchAllowedHosts]: 'images.example.com,cdn.example.org:8443',
        }),
      },
    });
  });

  it('refuses a function timeout the HTTP API integration cannot wait for', () => {
    const stack = new Stack(new App(), 'Api');
    expect(
      () => new ModerationApi(stack, 'Api', { projectRoot: PROJECT_ROOT, timeout: Duration.seconds(30) }),
    ).toThrow(
      'api function timeout must be at most 29 seconds (an HTTP API waits 30 s for its integration), got 30 s',
    );
  });

  it('logs no request header or query string', () => {
    for (const value of Object.values(ACCESS_LOG_FIELDS)) expect(value).not.toMatch(/header|querystring/i);
  });
});

describe('API configuration (cdk.json)', () => {
  const dev = () =>
    structuredClone((cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY] as { dev: Record<string, unknown> }).dev) as {
      api: Record<string, unknown> & { fetch: Record<string, unknown> };
    };

  it('defaults the fetch limits to the object size limit and 3 s, with no allowed hosts', () => {
    const raw = dev();
    raw.api.fetch = {};
    expect(parsePipelineConfig('dev', raw).api.fetch).toEqual({
      allowedHosts: [],
      maxBytes: LIMITS.maxObjectBytes,
      timeoutMs: 3000,
    });
  });

  it('rejects a timeout over 29 s and allowed hosts that are URLs, naming the value', () => {
    const slow = dev();
    slow.api.timeoutSeconds = 30;
    expect(() => parsePipelineConfig('dev', slow)).toThrow(
      /api\.timeoutSeconds must be an integer in \[1, 29\], got 30/,
    );
    const url = dev();
    url.api.fetch = { allowedHosts: ['https://images.example.com'] };
    expect(() => parsePipelineConfig('dev', url)).toThrow(
      'config api.fetch.allowedHosts entries must be a lowercase host or host:port, got "https://images.example.com"',
    );
    const ok = dev();
    ok.api.fetch = { allowedHosts: ['images.example.com', 'cdn.example.org:8443'] };
    expect(parsePipelineConfig('dev', ok).api.fetch.allowedHosts).toEqual([
      'images.example.com',
      'cdn.example.org:8443',
    ]);
  });
});
