import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError, type PipelineEnv } from '#shared/contracts/env.ts';
import { tracer } from './powertools.ts';

/**
 * Per-client SDK settings. Every call is bounded in time (an unbounded socket wait would burn the
 * whole Lambda budget), and the SDK's own retries cover short blips. Model calls get a single SDK
 * attempt: shared/inference/retry.ts retries them with a view of the invocation's remaining time,
 * and two retry layers would multiply.
 */
export const CLIENT_SETTINGS = {
  s3: { maxAttempts: 3, connectionTimeout: 3_000, requestTimeout: 30_000 },
  dynamodb: { maxAttempts: 4, connectionTimeout: 2_000, requestTimeout: 5_000 },
  sagemaker: { maxAttempts: 1, connectionTimeout: 3_000 },
} as const;

const handler = (connectionTimeout: number, requestTimeout: number) => ({
  connectionTimeout,
  requestTimeout,
  throwOnRequestTimeout: true,
});

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1|[a-z0-9.-]+\.localhost)$/i;

/**
 * Encryption in transit: the SDK talks HTTPS to AWS by default, and an endpoint override
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) must not quietly downgrade that. Plain http is
 * accepted only for loopback emulators (the local mode); anything else fails at cold start.
 */
export function assertEncryptedInTransit(overrides: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(overrides)) {
    if (!name.startsWith('AWS_ENDPOINT_URL') || !value) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`environment variable ${name} must be a URL, got ${value}`);
    }
    if (url.protocol === 'https:') continue;
    if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) continue;
    throw new ConfigError(
      `environment variable ${name} must be an https:// URL (plain http only for loopback emulators), got ${value}`,
    );
  }
}

/** The DynamoDB document client, with bounded timeouts; shared by the functions that write verdicts. */
export function createDocumentClient(endpointOverrides: Record<string, string>): DynamoDBDocumentClient {
  assertEncryptedInTransit(endpointOverrides);
  const { maxAttempts, connectionTimeout, requestTimeout } = CLIENT_SETTINGS.dynamodb;
  const dynamo = tracer.captureAWSv3Client(
    new DynamoDBClient({ maxAttempts, requestHandler: handler(connectionTimeout, requestTimeout) }),
  );
  return DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
}

/** What the clients are built from (shared/contracts/env.ts). */
export type AwsClientEnv = Pick<PipelineEnv, 'awsEndpointOverrides' | 's3ForcePathStyle' | 'inferenceRetry'>;

export type AwsClients = ReturnType<typeof createAwsClients>;

/**
 * AWS clients, created once per process. Endpoints come from the SDK's standard variables
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), which is how
 * the local mode points the very same code at its emulators.
 */
export function createAwsClients(env: AwsClientEnv) {
  assertEncryptedInTransit(env.awsEndpointOverrides);
  // Local S3 emulators serve buckets by path, not by virtual host.
  const forcePathStyle = env.s3ForcePathStyle;
  const s3Settings = CLIENT_SETTINGS.s3;
  const s3 = tracer.captureAWSv3Client(
    new S3Client({
      forcePathStyle,
      maxAttempts: s3Settings.maxAttempts,
      requestHandler: handler(s3Settings.connectionTimeout, s3Settings.requestTimeout),
    }),
  );
  const doc = createDocumentClient(env.awsEndpointOverrides);
  // The per-attempt abort (shared/retry) comes first; this socket-level limit is the backstop.
  const { attemptTimeoutMs } = env.inferenceRetry;
  const sagemaker = tracer.captureAWSv3Client(
    new SageMakerRuntimeClient({
      maxAttempts: CLIENT_SETTINGS.sagemaker.maxAttempts,
      requestHandler: handler(CLIENT_SETTINGS.sagemaker.connectionTimeout, attemptTimeoutMs + 1_000),
    }),
  );
  const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient({ maxAttempts: 3 }));
  return { s3, doc, sagemaker, eventBridge };
}

/**
 * The SQS client that forwards long media (shared/moderation/record-handler.ts). It sends to the
 * regional endpoint (or AWS_ENDPOINT_URL_SQS), not to the queue URL's host: local emulators name
 * queues by hosts that do not resolve.
 */
export function createSqsClient(endpointOverrides: Record<string, string>): SQSClient {
  assertEncryptedInTransit(endpointOverrides);
  return tracer.captureAWSv3Client(
    new SQSClient({
      maxAttempts: 3,
      useQueueUrlAsEndpoint: false,
      requestHandler: handler(CLIENT_SETTINGS.s3.connectionTimeout, 10_000),
    }),
  );
}
