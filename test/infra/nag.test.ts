import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildPipeline } from './helpers.ts';

describe('cdk-nag AwsSolutions', () => {
  for (const envName of ['dev', 'prod']) {
    it(`passes for ${envName}: every finding fixed or acknowledged with a reason`, () => {
      const { app } = buildPipeline(envName, (c) => c, { nag: true });

      expect(() => app.synth()).not.toThrow();
    });
  }

  it('is really checking: an unacknowledged finding fails synth', () => {
    const { app, stack } = buildPipeline('dev', (c) => c, { nag: true });
    // A queue without a DLQ (SQS3) and without TLS enforcement (SQS4).
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.SQS_MANAGED });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});
