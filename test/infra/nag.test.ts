import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildPipeline, fixtureConsoleDirectory } from './helpers.ts';

/** Actions that support no resource-level permissions (so `*` is the only choice). */
const RESOURCELESS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'ecr:GetAuthorizationToken'];

describe('cdk-nag AwsSolutions', () => {
  for (const envName of ['dev', 'prod']) {
    it(`passes for ${envName}: every finding fixed or acknowledged with a reason`, () => {
      const { app } = buildPipeline(envName, (c) => c, { nag: true });

      expect(() => app.synth()).not.toThrow();
    });
  }

  for (const envName of ['dev', 'prod']) {
    it(`passes for ${envName} with the review console files deployed (BucketDeployment's own function and role)`, () => {
      const { app } = buildPipeline(envName, (c) => c, {
        nag: true,
        consoleDirectory: fixtureConsoleDirectory(),
      });

      expect(() => app.synth()).not.toThrow();
    });
  }

  it('passes with model inputs kept (the put grant under inputs/ is acknowledged, nothing wider)', () => {
    const { app } = buildPipeline(
      'prod',
      (c) => ({ ...c, keepInputs: { mode: 'all', expirationDays: 30 } }),
      {
        nag: true,
      },
    );

    expect(() => app.synth()).not.toThrow();
  });

  it('is really checking: an unacknowledged finding fails synth', () => {
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    // A queue without a DLQ (SQS3) and without TLS enforcement (SQS4).
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.SQS_MANAGED });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });

  it('acknowledges Resource::* only for the actions that have no resources: a new wildcard fails synth', () => {
    // The moderate role already holds X-Ray's statement on `*`; the same finding id for another
    // action must not be covered by its acknowledgement.
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    stack.moderateFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: ['*'] }),
    );

    expect(() => app.synth()).toThrow(
      /Moderate\/Role\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/,
    );
  });

  it('does the same for a model execution role (whose ECR login is on `*`)', () => {
    const { app, stack } = buildPipeline('prod', (c) => c, { nag: true });
    stack.endpoints['image-nsfw'].role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );

    expect(() => app.synth()).toThrow(
      /ImageNsfwEndpoint\/ExecutionRole\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/,
    );
  });

  it('keeps each acknowledged Resource::* statement in its own policy, with only resource-less actions', () => {
    const { template } = buildPipeline('dev');
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')) as [
      string,
      { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } },
    ][];
    const withWildcard = policies.filter(([, p]) =>
      p.Properties.PolicyDocument.Statement.some((s) => s.Resource === '*'),
    );
    expect(withWildcard.length).toBeGreaterThanOrEqual(5); // four functions' X-Ray, the models' ECR login
    for (const [id, p] of withWildcard) {
      if (/ReviewConsole/.test(id)) continue; // BucketDeployment's own role, acknowledged by name there
      expect(id).toMatch(/ResourcelessActions/);
      for (const s of p.Properties.PolicyDocument.Statement) {
        for (const action of Array.isArray(s.Action) ? s.Action : [s.Action]) {
          expect(RESOURCELESS, `${id}: ${action}`).toContain(action);
        }
      }
    }
  });

  it('acknowledges an unauthenticated API route only for the health and OpenAPI routes', () => {
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    stack.api.httpApi.addRoutes({
      path: '/v1/careless',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Careless', stack.api.handler.function),
    });

    expect(() => app.synth()).toThrow(/AwsSolutions-APIG4/);
  });

  it('acknowledges a secret without rotation only for the API key table', () => {
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    new secretsmanager.Secret(stack, 'Careless');

    expect(() => app.synth()).toThrow(/AwsSolutions-SMG4/);
  });
});
