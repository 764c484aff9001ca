import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Uint8ArrayBlobAdapter } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createInferenceClient,
  InferenceUnavailableError,
  InferenceValidationError,
} from '#shared/inference/client.ts';
import { withRetries } from '#shared/inference/retry.ts';
import { encodeTensors, type Tensor } from '#shared/inference/tensor-codec.ts';
import { deadlineIn, runWithDeadline } from '#shared/retry/deadline.ts';
import type { RetryPolicy } from '#shared/retry/retry.ts';

const sagemaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sagemakerMock = mockClient(sagemaker);
const base = createInferenceClient({ sagemaker, endpointName: (m) => m });

const inputs: Record<string, Tensor> = {
  present: { dtype: 'float32', dims: [1, 4], data: Float32Array.of(1, 0, 0, 0) },
};
const ok = {
  Body: Uint8ArrayBlobAdapter.fromString(
    JSON.stringify({
      model: { name: 'fusion', version: '1.0.0' },
      outputs: encodeTensors({ probs: { dtype: 'float32', dims: [1, 1], data: Float32Array.of(0.25) } }),
    }),
  ),
};
const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

const policy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1,
  maxDelayMs: 2,
  attemptTimeoutMs: 2_000,
  reserveMs: 0,
  minAttemptMs: 1,
};
const retries: { attempt: number; error: unknown }[] = [];
const client = withRetries(base, { policy, onRetry: (info) => retries.push(info) });

describe('model calls with retries', () => {
  beforeEach(() => {
    sagemakerMock.reset();
    retries.length = 0;
  });

  it('retries throttling, 5xx and network errors, then returns the answer', async () => {
    sagemakerMock
      .on(InvokeEndpointCommand)
      .rejectsOnce(sdkError('ThrottlingException', 400))
      .rejectsOnce(sdkError('ModelError', 424, { OriginalStatusCode: 503 }))
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .resolves(ok);

    const result = await client.invoke('fusion', inputs);

    expect(result.model.version).toBe('1.0.0');
    expect(sagemakerMock.commandCalls(InvokeEndpointCommand)).toHaveLength(4);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('does not retry an input the endpoint rejects', async () => {
    sagemakerMock.on(InvokeEndpointCommand).rejects(sdkError('ValidationError', 400));
    await expect(client.invoke('fusion', inputs)).rejects.toBeInstanceOf(InferenceValidationError);
    expect(sagemakerMock.commandCalls(InvokeEndpointCommand)).toHaveLength(1);
  });

  it('gives up after maxAttempts with a retryable error, so the message goes back to the queue', async () => {
    sagemakerMock.on(InvokeEndpointCommand).rejects(sdkError('ServiceUnavailable', 503));
    const err = await client.invoke('fusion', inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceUnavailableError);
    expect((err as InferenceUnavailableError).retryable).toBe(true);
    expect(sagemakerMock.commandCalls(InvokeEndpointCommand)).toHaveLength(policy.maxAttempts);
  });

  it('abandons a call that hangs past the attempt timeout and reports it as retryable', async () => {
    // The mocked endpoint answers after 10 s and ignores the abort signal: the attempt is abandoned.
    sagemakerMock.on(InvokeEndpointCommand).callsFake(
      () =>
        new Promise((_, reject) => {
          setTimeout(() => reject(sdkError('TimeoutError', 0)), 10_000).unref();
        }),
    );
    const quick = withRetries(base, { policy: { ...policy, maxAttempts: 2, attemptTimeoutMs: 40 } });
    const t = performance.now();
    const err = await quick.invoke('fusion', inputs).catch((e: unknown) => e);
    expect(performance.now() - t).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(InferenceUnavailableError);
    expect((err as Error).message).toMatch(/timed out after 40 ms/);
  });

  it('stops retrying when the invocation’s remaining time runs out', async () => {
    sagemakerMock.on(InvokeEndpointCommand).rejects(sdkError('ThrottlingException', 400));
    const tight = withRetries(base, {
      policy: {
        ...policy,
        maxAttempts: 50,
        baseDelayMs: 20,
        maxDelayMs: 20,
        reserveMs: 100,
        minAttemptMs: 50,
      },
      random: () => 1,
    });
    const t = performance.now();
    await expect(
      runWithDeadline(deadlineIn(300), () => tight.invoke('fusion', inputs)),
    ).rejects.toBeInstanceOf(InferenceUnavailableError);
    // 300 ms budget − 100 ms reserve: a handful of attempts, far from 50, and well inside the budget.
    expect(sagemakerMock.commandCalls(InvokeEndpointCommand).length).toBeLessThan(15);
    expect(performance.now() - t).toBeLessThan(300);
  });
});
