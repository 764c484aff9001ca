import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildPipeline, fixtureConsoleDirectory } from './helpers.ts';

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

  it('is really checking: an unacknowledged finding fails synth', () => {
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    // A queue without a DLQ (SQS3) and without TLS enforcement (SQS4).
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.SQS_MANAGED });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
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
