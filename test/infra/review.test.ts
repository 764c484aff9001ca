import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY, parsePipelineConfig } from '#infra/config.ts';
import { PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { consoleFiles, createConsoleApp } from '#local/console.ts';
import {
  CONSOLE_VENDOR_DIR,
  CONSOLE_VENDORED_MODULES,
  consoleContentSecurityPolicy,
} from '#shared/contracts/console.ts';
import { ENV } from '#shared/contracts/env.ts';
import { AUDIT_TABLE, VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import {
  buildPipeline,
  cdkJsonContext,
  fixtureConsoleDirectory,
  logicalId,
  type TestPipeline,
} from './helpers.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const arn = (p: TestPipeline, c: IConstruct) => ({ 'Fn::GetAtt': [logicalId(p, c), 'Arn'] });

/** Every (action, resource) a role's policies allow, so assertions do not depend on statement merging. */
function permissions(p: TestPipeline, role: IConstruct): { action: string; resource: string }[] {
  const roleId = logicalId(p, role);
  return (Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[])
    .filter((pol) => pol.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((pol) => pol.Properties.PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) =>
      list(s.Action).flatMap((action) =>
        list(s.Resource).map((r) => ({ action, resource: JSON.stringify(r) })),
      ),
    );
}

function resource(p: TestPipeline, c: IConstruct): Resource {
  return p.template.toJSON().Resources[logicalId(p, c)] as Resource;
}

describe('review: tables, grants, console hosting and sign-in', () => {
  for (const envName of ['dev', 'prod']) {
    describe(envName, () => {
      let p: TestPipeline;
      beforeAll(() => {
        p = buildPipeline(envName);
      });

      it('has the sparse people queue index by-queue on (queue, queuedAt), projecting whole verdicts', () => {
        const table = resource(p, p.stack.verdicts.table).Properties as {
          GlobalSecondaryIndexes: Record<string, unknown>[];
          AttributeDefinitions: unknown[];
        };
        expect(table.GlobalSecondaryIndexes).toContainEqual({
          IndexName: 'by-queue',
          KeySchema: [
            { AttributeName: 'queue', KeyType: 'HASH' },
            { AttributeName: 'queuedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        });
        expect(table.AttributeDefinitions).toEqual(
          expect.arrayContaining([
            { AttributeName: 'queue', AttributeType: 'S' },
            { AttributeName: 'queuedAt', AttributeType: 'S' },
          ]),
        );
        expect(VERDICT_TABLE.queueIndex).toEqual({
          name: 'by-queue',
          partitionKey: 'queue',
          sortKey: 'queuedAt',
        });
        // The review index is still there.
        expect(table.GlobalSecondaryIndexes.map((i) => i.IndexName).sort()).toEqual([
          'by-decision',
          'by-queue',
        ]);
      });

      it('keeps the audit trail in its own table: (verdictId, at), on demand, own KMS key, PITR, the verdicts removal policy', () => {
        const audit = resource(p, p.stack.audit.table);
        expect(audit.Type).toBe('AWS::DynamoDB::GlobalTable');
        expect(audit.Properties).toMatchObject({
          KeySchema: [
            { AttributeName: 'verdictId', KeyType: 'HASH' },
            { AttributeName: 'at', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'verdictId', AttributeType: 'S' },
            { AttributeName: 'at', AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [
            expect.objectContaining({
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
              SSESpecification: { KMSMasterKeyId: arn(p, p.stack.audit.encryptionKey) },
              DeletionProtectionEnabled: p.config.deletionProtection,
            }),
          ],
        });
        expect(AUDIT_TABLE).toEqual({ partitionKey: 'verdictId', sortKey: 'at' });
        expect(audit.DeletionPolicy).toBe(resource(p, p.stack.verdicts.table).DeletionPolicy);
        expect(audit.DeletionPolicy).toBe(p.config.retainData ? 'RetainExceptOnCreate' : 'Delete');
        expect(resource(p, p.stack.audit.encryptionKey).Properties).toMatchObject({
          EnableKeyRotation: true,
        });
      });

      it('lets the API function append to the audit table (PutItem) and no role update, delete or batch-write it', () => {
        const auditArn = JSON.stringify(arn(p, p.stack.audit.table));
        const onAudit = permissions(p, p.stack.api.handler.role).filter((g) =>
          g.resource.startsWith(auditArn),
        );
        expect(onAudit.map((g) => g.action)).toEqual(['dynamodb:PutItem']);
        const every = (Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[])
          .flatMap((pol) => pol.Properties.PolicyDocument.Statement)
          .filter((s) => JSON.stringify(s.Resource).includes(logicalId(p, p.stack.audit.table)))
          .flatMap((s) => list(s.Action));
        expect(every.filter((a) => /Update|Delete|BatchWrite|\*/.test(a))).toEqual([]);
        const fn = resource(p, p.stack.api.handler.function);
        expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject(
          {
            [ENV.auditTableName]: { Ref: logicalId(p, p.stack.audit.table) },
          },
        );
      });

      it('lets the API function update verdicts and query the by-queue index, and nothing wider', () => {
        const grants = permissions(p, p.stack.api.handler.role);
        const table = JSON.stringify(arn(p, p.stack.verdicts.table));
        const index = JSON.stringify({
          'Fn::Join': ['', [arn(p, p.stack.verdicts.table), '/index/by-queue']],
        });
        expect(grants).toContainEqual({ action: 'dynamodb:UpdateItem', resource: table });
        expect(grants).toContainEqual({ action: 'dynamodb:Query', resource: index });
        const onVerdicts = grants.filter((g) => g.resource.includes(logicalId(p, p.stack.verdicts.table)));
        expect(onVerdicts.filter((g) => g.action === 'dynamodb:Query').map((g) => g.resource)).toEqual([
          index,
        ]);
        expect(onVerdicts.map((g) => g.action).filter((a) => /Delete|Scan|Batch|\*/.test(a))).toEqual([]);
        // The other functions still only get and put (the review routes are the API function's).
        const moderate = permissions(p, p.stack.moderateFunction.role).filter((g) =>
          g.action.startsWith('dynamodb:'),
        );
        expect([...new Set(moderate.map((g) => g.action))].sort()).toEqual([
          'dynamodb:GetItem',
          'dynamodb:PutItem',
        ]);
      });

      it('lets the API function put only a bank.json and added signals under banks/, with no delete', () => {
        const bucket = logicalId(p, p.stack.matchLists.bucket);
        const puts = permissions(p, p.stack.api.handler.role).filter((g) => g.action === 's3:PutObject');
        expect(puts.map((g) => g.resource).sort()).toEqual(
          ['banks/*/bank.json', 'banks/*/signals/added/*']
            .map((key) =>
              JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${key}`]] }),
            )
            .sort(),
        );
        const all = permissions(p, p.stack.api.handler.role).filter((g) => g.action.startsWith('s3:'));
        expect(all.filter((g) => /Delete|\*/.test(g.action))).toEqual([]);
        expect(
          all.filter((g) => /terms\/|import\.csv/.test(g.resource) && g.action !== 's3:GetObject'),
        ).toEqual([]);
        // The bucket's key encrypts the new objects.
        expect(permissions(p, p.stack.api.handler.role)).toContainEqual({
          action: 'kms:Encrypt',
          resource: JSON.stringify(arn(p, p.stack.matchLists.encryptionKey)),
        });
      });

      it('lets the API function publish decision events on the pipeline bus, named in its environment', () => {
        const puts = permissions(p, p.stack.api.handler.role).filter((g) => g.action === 'events:PutEvents');
        expect(puts.map((g) => g.resource)).toEqual([JSON.stringify(arn(p, p.stack.eventBus))]);
        const fn = resource(p, p.stack.api.handler.function);
        expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject(
          {
            [ENV.eventBusName]: { Ref: logicalId(p, p.stack.eventBus) },
            [ENV.apiKeysSecretArn]: { Ref: logicalId(p, p.stack.api.keys) },
          },
        );
        // Tenants' webhook settings live in the key table: read (get/describe), never written.
        const secret = permissions(p, p.stack.api.handler.role).filter((g) =>
          g.action.startsWith('secretsmanager:'),
        );
        expect(secret.map((g) => g.action).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      });

      it('serves the console from a private, encrypted, versioned, TLS-only bucket through CloudFront with OAC only', () => {
        const bucket = resource(p, p.stack.reviewConsole.bucket);
        expect(bucket.Properties).toMatchObject({
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          VersioningConfiguration: { Status: 'Enabled' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              expect.objectContaining({
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: arn(p, p.stack.reviewConsole.encryptionKey),
                },
              }),
            ],
          },
          LoggingConfiguration: expect.objectContaining({ LogFilePrefix: 'review-console-bucket/' }),
        });
        expect(bucket).not.toHaveProperty('Properties.WebsiteConfiguration');
        const bucketId = logicalId(p, p.stack.reviewConsole.bucket);
        const policy = Object.values(p.template.findResources('AWS::S3::BucketPolicy')).find(
          (bp) => JSON.stringify((bp as Resource).Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
        ) as Resource;
        const statements = (
          policy.Properties.PolicyDocument as { Statement: (Statement & { Principal: unknown })[] }
        ).Statement;
        expect(statements).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
        // Only CloudFront reads, only for this distribution, and nobody is allowed anonymously.
        const allows = statements.filter((s) => s.Effect === 'Allow');
        expect(allows).toHaveLength(1);
        const distributionId = logicalId(p, p.stack.reviewConsole.distribution);
        expect(allows[0]).toMatchObject({
          Action: 's3:GetObject',
          Principal: { Service: 'cloudfront.amazonaws.com' },
        });
        expect(JSON.stringify(allows[0]!.Condition)).toContain(distributionId);
        p.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
          OriginAccessControlConfig: Match.objectLike({
            OriginAccessControlOriginType: 's3',
            SigningBehavior: 'always',
            SigningProtocol: 'sigv4',
          }),
        });
        const config = resource(p, p.stack.reviewConsole.distribution).Properties.DistributionConfig as {
          Origins: { S3OriginConfig?: { OriginAccessIdentity: string }; OriginAccessControlId?: unknown }[];
          DefaultCacheBehavior: Record<string, unknown>;
          CacheBehaviors: Record<string, unknown>[];
          Enabled: boolean;
        };
        const s3Origin = config.Origins.find((o) => o.S3OriginConfig)!;
        expect(s3Origin.S3OriginConfig!.OriginAccessIdentity).toBe('');
        expect(s3Origin.OriginAccessControlId).toEqual({
          'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'],
        });
        expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https' });
        expect(config.DefaultCacheBehavior.FunctionAssociations).toHaveLength(1);
      });

      it('puts the review API behind the same distribution under /v1/*, uncached, HTTPS only', () => {
        const config = resource(p, p.stack.reviewConsole.distribution).Properties.DistributionConfig as {
          Origins: { Id: string; DomainName: unknown; CustomOriginConfig?: Record<string, unknown> }[];
          CacheBehaviors: Record<string, unknown>[];
        };
        expect(config.CacheBehaviors).toHaveLength(1);
        const api = config.CacheBehaviors[0]!;
        expect(api).toMatchObject({
          PathPattern: '/v1/*',
          ViewerProtocolPolicy: 'https-only',
          // Managed CachingDisabled and AllViewerExceptHostHeader.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
        });
        expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'OPTIONS']));
        const origin = config.Origins.find((o) => o.Id === api.TargetOriginId)!;
        expect(JSON.stringify(origin.DomainName)).toContain(logicalId(p, p.stack.api.httpApi));
        expect(origin.CustomOriginConfig).toMatchObject({
          OriginProtocolPolicy: 'https-only',
          OriginSSLProtocols: ['TLSv1.2'],
        });
      });

      it('signs reviewers in with a Cognito user pool: invited only, MFA required, Plus tier threat protection', () => {
        const pool = resource(p, p.stack.reviewConsole.userPool).Properties;
        expect(pool).toMatchObject({
          AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
          MfaConfiguration: 'ON',
          EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
          UserPoolTier: 'PLUS',
          UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
          Policies: {
            PasswordPolicy: expect.objectContaining({
              MinimumLength: 12,
              RequireLowercase: true,
              RequireUppercase: true,
              RequireNumbers: true,
              RequireSymbols: true,
            }),
          },
          UsernameAttributes: ['email'],
        });
        const consoleUrl = {
          'Fn::Join': [
            '',
            [
              'https://',
              { 'Fn::GetAtt': [logicalId(p, p.stack.reviewConsole.distribution), 'DomainName'] },
              '/review/',
            ],
          ],
        };
        p.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
          UserPoolId: { Ref: logicalId(p, p.stack.reviewConsole.userPool) },
          GenerateSecret: false,
          AllowedOAuthFlows: ['code'],
          AllowedOAuthFlowsUserPoolClient: true,
          PreventUserExistenceErrors: 'ENABLED',
          CallbackURLs: [consoleUrl],
          LogoutURLs: [consoleUrl],
        });
        p.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
          Domain: p.config.review.signInDomainPrefix,
          UserPoolId: { Ref: logicalId(p, p.stack.reviewConsole.userPool) },
        });
        const groups = Object.values(p.template.findResources('AWS::Cognito::UserPoolGroup')).map(
          (g) => (g as Resource).Properties.GroupName,
        );
        expect(groups.sort()).toEqual(['lead', 'reviewer']);
      });

      it('maps sign-in to review roles: a fixed tenant attribute the console client reads and cannot write; the authorizer knows the pool', () => {
        const pool = resource(p, p.stack.reviewConsole.userPool).Properties as { Schema: unknown[] };
        expect(pool.Schema).toContainEqual({
          Name: 'tenant',
          AttributeDataType: 'String',
          Mutable: false,
          StringAttributeConstraints: { MinLength: '1', MaxLength: '63' },
        });
        const client = resource(p, p.stack.reviewConsole.userPoolClient).Properties as {
          ReadAttributes: string[];
          WriteAttributes: string[];
          SupportedIdentityProviders: string[];
        };
        expect(client.ReadAttributes).toContain('custom:tenant');
        expect(client.WriteAttributes).not.toContain('custom:tenant');
        expect(client.WriteAttributes).toEqual(['name']);
        expect(client.SupportedIdentityProviders).toEqual(['COGNITO']);
        const authorizer = resource(p, p.stack.api.authorizer.function).Properties as {
          Environment: { Variables: Record<string, unknown> };
        };
        expect(authorizer.Environment.Variables).toMatchObject({
          [ENV.apiKeysSecretArn]: { Ref: logicalId(p, p.stack.api.keys) },
          [ENV.cognitoUserPoolId]: { Ref: logicalId(p, p.stack.reviewConsole.userPool) },
          [ENV.cognitoClientId]: { Ref: logicalId(p, p.stack.reviewConsole.userPoolClient) },
        });
      });

      it('sends webhooks from a queue: a rule on the bus, a KMS queue with a DLQ, a sender consuming both', () => {
        const sender = p.stack.webhookSender;
        const rule = resource(p, sender.rule).Properties as {
          EventBusName: unknown;
          EventPattern: unknown;
          Targets: Record<string, unknown>[];
        };
        expect(rule.EventBusName).toEqual({ Ref: logicalId(p, p.stack.eventBus) });
        expect(rule.EventPattern).toEqual({
          source: ['moderation.pipeline'],
          'detail-type': ['Moderation Decision'],
        });
        expect(rule.Targets).toHaveLength(1);
        expect(rule.Targets[0]).toMatchObject({
          Arn: arn(p, sender.queue),
          DeadLetterConfig: { Arn: arn(p, sender.deadLetterQueue) },
          RetryPolicy: { MaximumRetryAttempts: 10 },
        });
        const queue = resource(p, sender.queue).Properties;
        expect(queue).toMatchObject({
          KmsMasterKeyId: arn(p, sender.work.key),
          RedrivePolicy: { deadLetterTargetArn: arn(p, sender.deadLetterQueue), maxReceiveCount: 5 },
          VisibilityTimeout: 180,
        });
        expect(resource(p, sender.deadLetterQueue).Properties).toMatchObject({
          KmsMasterKeyId: arn(p, sender.work.key),
          MessageRetentionPeriod: 14 * 24 * 3600,
        });
        // TLS only, on both queues.
        const queuePolicies = JSON.stringify(p.template.findResources('AWS::SQS::QueuePolicy'));
        for (const q of [sender.queue, sender.deadLetterQueue])
          expect(queuePolicies).toContain(logicalId(p, q));
        expect(queuePolicies).toContain('aws:SecureTransport');
        // The bus may use the key (the rule delivers to encrypted queues).
        expect(JSON.stringify(resource(p, sender.work.key).Properties)).toContain('events.amazonaws.com');

        const fnId = logicalId(p, sender.handler.function);
        const mappings = (
          Object.values(p.template.findResources('AWS::Lambda::EventSourceMapping')) as Resource[]
        ).filter((m) => JSON.stringify(m.Properties.FunctionName).includes(fnId));
        expect(mappings.map((m) => m.Properties.EventSourceArn)).toEqual(
          expect.arrayContaining([arn(p, sender.queue), arn(p, sender.deadLetterQueue)]),
        );
        for (const m of mappings)
          expect(m.Properties).toMatchObject({
            BatchSize: 10,
            FunctionResponseTypes: ['ReportBatchItemFailures'],
          });
        const env = (
          resource(p, sender.handler.function).Properties.Environment as {
            Variables: Record<string, unknown>;
          }
        ).Variables;
        expect(env).toMatchObject({
          [ENV.apiKeysSecretArn]: { Ref: logicalId(p, p.stack.api.keys) },
          [ENV.auditTableName]: { Ref: logicalId(p, p.stack.audit.table) },
          [ENV.webhookQueueUrl]: { Ref: logicalId(p, sender.queue) },
          [ENV.webhookDeadLetterQueueArn]: arn(p, sender.deadLetterQueue),
          [ENV.webhookRetryBaseSeconds]: '30',
          [ENV.webhookRetryMaxSeconds]: '900',
        });
      });

      it('grants the webhook sender its queues, an append to the audit trail and a read of the key table, nothing more', () => {
        const sender = p.stack.webhookSender;
        const grants = permissions(p, sender.handler.role);
        const on = (c: IConstruct) => JSON.stringify(arn(p, c));
        for (const q of [sender.queue, sender.deadLetterQueue]) {
          const actions = grants.filter((g) => g.resource === on(q)).map((g) => g.action);
          expect(actions).toEqual(
            expect.arrayContaining([
              'sqs:ReceiveMessage',
              'sqs:ChangeMessageVisibility',
              'sqs:DeleteMessage',
            ]),
          );
          expect(actions.filter((a) => a === 'sqs:SendMessage' || a.startsWith('sqs:Purge'))).toEqual([]);
        }
        const dynamo = grants.filter((g) => g.action.startsWith('dynamodb:'));
        expect(dynamo).toEqual([{ action: 'dynamodb:PutItem', resource: on(p.stack.audit.table) }]);
        expect(
          grants
            .filter((g) => g.action.startsWith('secretsmanager:'))
            .map((g) => [g.action, g.resource])
            .sort(),
        ).toEqual([
          ['secretsmanager:DescribeSecret', JSON.stringify({ Ref: logicalId(p, p.stack.api.keys) })],
          ['secretsmanager:GetSecretValue', JSON.stringify({ Ref: logicalId(p, p.stack.api.keys) })],
        ]);
        // X-Ray's trace writes are the only actions on `*` (Powertools tracing, as every function).
        expect(grants.filter((g) => g.resource === '"*"' && !g.action.startsWith('xray:'))).toEqual([]);
      });

      it('alarms on throttled audit writes, to the alarm topic', () => {
        const alarm = Object.entries(p.template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
          id.startsWith('ObservabilityAuditWriteThrottles'),
        );
        expect(alarm).toHaveLength(1);
        const props = (alarm[0]![1] as Resource).Properties;
        expect(props).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [{ Ref: logicalId(p, p.stack.observability.alarmTopic) }],
        });
        expect(JSON.stringify(props.Metrics)).toContain('PutItem');
        expect(JSON.stringify(props.Metrics)).toContain(logicalId(p, p.stack.audit.table));
      });

      it('outputs the console URL, the user pool and its client, and the audit table', () => {
        const outputs = p.template.toJSON().Outputs as Record<string, unknown>;
        for (const name of [
          'ReviewConsoleUrl',
          'ReviewUserPoolId',
          'ReviewUserPoolClientId',
          'ReviewSignInUrl',
          'AuditTableName',
        ])
          expect(outputs, name).toHaveProperty(name);
      });
    });
  }
});

/** The managed SecurityHeadersPolicy's id. */
const MANAGED_SECURITY_HEADERS = '67f7725c-6f97-4210-82d7-5512b31e9d03';

describe('review console files', () => {
  it('are not deployed when the console directory does not exist, and synth says so', () => {
    const p = buildPipeline('dev');
    p.template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    expect(p.stack.reviewConsole.deployment).toBeUndefined();
    // No page, so no CSP to compute: the managed security headers alone.
    p.template.resourceCountIs('AWS::CloudFront::ResponseHeadersPolicy', 0);
    const config = resource(p, p.stack.reviewConsole.distribution).Properties.DistributionConfig as {
      DefaultCacheBehavior: Record<string, unknown>;
    };
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toBe(MANAGED_SECURITY_HEADERS);
    Annotations.fromStack(p.stack).hasInfo(
      `/${p.stack.stackName}/ReviewConsole`,
      Match.stringLikeRegexp('review console files not deployed'),
    );
  });

  it('are uploaded under review/ with no-cache when the directory exists, with the sign-in settings beside them', () => {
    const p = buildPipeline('dev', (c) => c, { consoleDirectory: fixtureConsoleDirectory() });
    const deployments = Object.values(p.template.findResources('Custom::CDKBucketDeployment')) as Resource[];
    expect(deployments).toHaveLength(1);
    expect(deployments[0]!.Properties).toMatchObject({
      DestinationBucketName: { Ref: logicalId(p, p.stack.reviewConsole.bucket) },
      DestinationBucketKeyPrefix: 'review/',
      Prune: true,
      SystemMetadata: { 'cache-control': 'no-cache' },
    });
    // The asset zip, one object per vendored module and the generated config.json.
    expect(deployments[0]!.Properties.SourceObjectKeys).toHaveLength(
      2 + Object.keys(CONSOLE_VENDORED_MODULES).length,
    );
    const markers = JSON.stringify(deployments[0]!.Properties.SourceMarkers);
    expect(markers).toContain(logicalId(p, p.stack.reviewConsole.userPool));
    // config.json: the hosted sign-in (the pool has a domain), its client, the console as the callback.
    const staged = (deployments[0]!.Properties.SourceObjectKeys as string[])
      .map((key) => join(p.app.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'config.json'))
      .filter((f) => existsSync(f));
    expect(staged).toHaveLength(1);
    const config = JSON.parse(readFileSync(staged[0]!, 'utf8')) as {
      auth: string;
      cognito: Record<string, unknown>;
    };
    const marker = (c: IConstruct) =>
      Object.entries(deployments[0]!.Properties.SourceMarkers as Record<string, unknown>[])
        .flatMap(([, m]) => Object.entries(m))
        .find(([, v]) => JSON.stringify(v).includes(logicalId(p, c)))?.[0];
    expect(config.auth).toBe('cognito');
    expect(config.cognito.userPoolClientId).toBe(marker(p.stack.reviewConsole.userPoolClient));
    expect(String(config.cognito.signInUrl)).toContain(marker(p.stack.reviewConsole.signInDomain!));
    expect(String(config.cognito.redirectUrl)).toMatch(/^https:\/\/.*\/review\/$/);
    expect(markers).toContain(logicalId(p, p.stack.reviewConsole.userPoolClient));
    // No CloudFront invalidation: its permission cannot be scoped to one distribution.
    const role = p.stack.reviewConsole.deployment!.handlerRole;
    expect(permissions(p, role).filter((g) => g.action.startsWith('cloudfront:'))).toEqual([]);
    expect(permissions(p, role).filter((g) => g.resource === '"*"')).toEqual([]);
  });

  describe('from console/', () => {
    let p: TestPipeline;
    beforeAll(() => {
      p = buildPipeline('dev', (c) => c, { consoleDirectory: join(PROJECT_ROOT, 'console') });
    });

    it('include the vendored modules, byte for byte the files the local server serves', async () => {
      const deployment = Object.values(
        p.template.findResources('Custom::CDKBucketDeployment'),
      )[0] as Resource;
      // Each source is a staged asset directory (`<hash>.zip` once the CLI zips it).
      const staged = (deployment.Properties.SourceObjectKeys as string[]).map((key) =>
        join(p.app.outdir, `asset.${key.replace(/\.zip$/, '')}`),
      );
      const local = await consoleFiles();
      for (const name of Object.keys(CONSOLE_VENDORED_MODULES)) {
        const path = `${CONSOLE_VENDOR_DIR}${name}`;
        const holders = staged.filter((dir) => existsSync(join(dir, path)));
        expect(holders, path).toHaveLength(1);
        expect(readFileSync(join(holders[0]!, path)).equals(Buffer.from(local.get(path)!.body)), path).toBe(
          true,
        );
      }
    });

    it("sends the local server's CSP on the console's behaviour, with the managed security headers", async () => {
      const csp = consoleContentSecurityPolicy(
        readFileSync(join(PROJECT_ROOT, 'console', 'index.html'), 'utf8'),
      );
      // The import map is allowed by its hash.
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+={0,2}'/);
      const app = await createConsoleApp({
        authenticate: () => undefined,
        doc: {} as DynamoDBDocumentClient,
        tableName: 'unused',
        s3: {} as S3Client,
        bucket: 'unused',
      });
      const page = await app.fetch(new Request('http://localhost/review/'));
      expect(page.headers.get('content-security-policy')).toBe(csp);

      const policy = p.stack.reviewConsole.responseHeadersPolicy!;
      // Deployed, the page may also fetch from the hosted sign-in (its /oauth2/token).
      const deployedCsp = p.stack.resolve(
        consoleContentSecurityPolicy(readFileSync(join(PROJECT_ROOT, 'console', 'index.html'), 'utf8'), [
          `https://${p.config.review.signInDomainPrefix}.auth.${p.stack.region}.amazoncognito.com`,
        ]),
      );
      expect(JSON.stringify(deployedCsp)).toContain("connect-src 'self' https://moderation-review-dev.auth.");
      expect(resource(p, policy).Properties.ResponseHeadersPolicyConfig).toMatchObject({
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: deployedCsp, Override: true },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'SAMEORIGIN' },
          ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin' },
          StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000 },
          XSSProtection: { Protection: true, ModeBlock: true },
        },
      });
      const config = resource(p, p.stack.reviewConsole.distribution).Properties.DistributionConfig as {
        DefaultCacheBehavior: Record<string, unknown>;
      };
      expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: logicalId(p, policy) });
    });
  });
});

describe('review configuration (cdk.json)', () => {
  const dev = () =>
    structuredClone((cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY] as { dev: Record<string, unknown> }).dev);

  it('reads the sign-in domain prefix, and makes the whole section optional', () => {
    expect(parsePipelineConfig('dev', dev()).review).toEqual({ signInDomainPrefix: 'moderation-review-dev' });
    const none = dev();
    delete none.review;
    expect(parsePipelineConfig('dev', none).review).toEqual({});
  });

  it('rejects a prefix Cognito would refuse, naming the value', () => {
    for (const prefix of ['Review', 'my-aws-review', '-review', 'review.example']) {
      const raw = dev();
      raw.review = { signInDomainPrefix: prefix };
      expect(() => parsePipelineConfig('dev', raw), prefix).toThrow(
        `config review.signInDomainPrefix must be lowercase letters, digits and hyphens (at most 63, without aws, amazon or cognito), got ${JSON.stringify(prefix)}`,
      );
    }
  });
});
