import { afterEach, describe, expect, it } from 'vitest';
import { assertEncryptedInTransit, CLIENT_SETTINGS, createAwsClients } from '#shared/clients/aws.ts';
import { ConfigError, readPipelineEnv } from '#shared/contracts/env.ts';

describe('encryption in transit', () => {
  it('accepts the SDK defaults (https) and https overrides', () => {
    expect(() => assertEncryptedInTransit({})).not.toThrow();
    expect(() =>
      assertEncryptedInTransit({
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: 'https://runtime.sagemaker.eu-west-1.amazonaws.com',
      }),
    ).not.toThrow();
  });

  it('accepts plain http only for loopback emulators', () => {
    for (const url of [
      'http://127.0.0.1:4566',
      'http://localhost:8000',
      'http://[::1]:9000',
      'http://sqs.us-east-1.localhost:9324',
    ]) {
      expect(() => assertEncryptedInTransit({ AWS_ENDPOINT_URL_S3: url }), url).not.toThrow();
    }
  });

  it('refuses a plain-http endpoint anywhere else, naming the variable', () => {
    expect(() =>
      assertEncryptedInTransit({ AWS_ENDPOINT_URL_DYNAMODB: 'http://dynamodb.internal:8000' }),
    ).toThrow(ConfigError);
    expect(() => assertEncryptedInTransit({ AWS_ENDPOINT_URL: 'http://10.0.0.5' })).toThrow(
      /AWS_ENDPOINT_URL /,
    );
    expect(() => assertEncryptedInTransit({ AWS_ENDPOINT_URL_S3: 'not a url' })).toThrow(/must be a URL/);
  });
});

describe('SDK clients', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('bound every call in time and leave model-call retries to the budget-aware wrapper', async () => {
    process.env.AWS_REGION = 'us-east-1';
    const { s3, doc, sagemaker } = createAwsClients(
      readPipelineEnv({ ...process.env, TABLE_NAME: 'verdicts' }),
    );
    expect(await s3.config.maxAttempts()).toBe(CLIENT_SETTINGS.s3.maxAttempts);
    expect(await doc.config.maxAttempts()).toBe(CLIENT_SETTINGS.dynamodb.maxAttempts);
    expect(await sagemaker.config.maxAttempts()).toBe(1);
    const handlerConfig = (await (
      sagemaker.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> }
    ).configProvider) as { connectionTimeout?: number; requestTimeout?: number };
    expect(handlerConfig.connectionTimeout).toBe(CLIENT_SETTINGS.sagemaker.connectionTimeout);
    expect(handlerConfig.requestTimeout).toBeGreaterThan(0);
  });

  it('refuse to start with an unencrypted remote endpoint', () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = 'http://inference.example.com';
    expect(() => createAwsClients(readPipelineEnv({ ...process.env, TABLE_NAME: 'verdicts' }))).toThrow(
      ConfigError,
    );
  });
});
