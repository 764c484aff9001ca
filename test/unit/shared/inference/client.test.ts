import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { Uint8ArrayBlobAdapter } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createInferenceClient,
  InferenceError,
  InferenceModelError,
  InferenceResponseError,
  InferenceUnavailableError,
  InferenceValidationError,
} from '#shared/inference/client.ts';
import {
  decodeTensors,
  encodeTensors,
  type InvocationRequest,
  type InvocationResponse,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';

const sagemaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sagemakerMock = mockClient(sagemaker);

const inputs: Record<string, Tensor> = {
  ids: { dtype: 'int64', dims: [2, 3], data: BigInt64Array.of(1n, 2n, 3n, 4n, 0n, 0n) },
  weights: { dtype: 'float32', dims: [2, 3], data: Float32Array.of(0.5, 1, 1, 1, 0, 0) },
};

function responseBody(body: unknown) {
  return { Body: Uint8ArrayBlobAdapter.fromString(JSON.stringify(body)), ContentType: 'application/json' };
}

const okResponse: InvocationResponse = {
  model: { name: 'text-toxicity', version: '2.0.0' },
  outputs: encodeTensors({
    probs: { dtype: 'float32', dims: [2, 3], data: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6) },
  }),
};

function sdkError(name: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $metadata: { httpStatusCode: status },
    ...extra,
  });
}

describe('createInferenceClient', () => {
  const client = createInferenceClient({ sagemaker, endpointName: (model) => `moderation-${model}` });

  beforeEach(() => {
    sagemakerMock.reset();
  });

  it('sends the inputs as a JSON invocation request to the mapped endpoint', async () => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).resolves(responseBody(okResponse));

    // Act
    await client.invoke('text-toxicity', inputs);

    // Assert
    const calls = sagemakerMock.commandCalls(InvokeEndpointCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({
      EndpointName: 'moderation-text-toxicity',
      ContentType: 'application/json',
      Accept: 'application/json',
    });
    const sent = JSON.parse(String(input?.Body)) as InvocationRequest;
    expect(decodeTensors(sent.inputs)).toEqual(inputs);
  });

  it('decodes the response into tensors and the model version', async () => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).resolves(responseBody(okResponse));

    // Act
    const result = await client.invoke('text-toxicity', inputs);

    // Assert
    expect(result.model).toEqual({ name: 'text-toxicity', version: '2.0.0' });
    expect(result.outputs.probs?.dims).toEqual([2, 3]);
    expect(Array.from((result.outputs.probs?.data ?? []) as ArrayLike<number>)).toEqual(
      Array.from(Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6)),
    );
  });

  it('maps a ValidationError to a non-retryable InferenceValidationError with the cause', async () => {
    // Arrange
    const cause = new ValidationError({
      message: 'input ids must be int64',
      $metadata: { httpStatusCode: 400 },
    });
    sagemakerMock.on(InvokeEndpointCommand).rejects(cause);

    // Act
    const error = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceValidationError);
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).toMatchObject({
      retryable: false,
      model: 'text-toxicity',
      endpoint: 'moderation-text-toxicity',
      cause,
    });
    expect((error as Error).message).toMatch(/input ids must be int64/);
  });

  it.each([
    { why: 'ThrottlingException', error: () => sdkError('ThrottlingException', 400) },
    { why: 'ModelNotReadyException', error: () => sdkError('ModelNotReadyException', 429) },
    {
      why: 'ServiceUnavailable',
      error: () => new ServiceUnavailable({ message: 'busy', $metadata: { httpStatusCode: 503 } }),
    },
    { why: 'an unmodelled 502', error: () => sdkError('UnknownError', 502) },
    { why: 'a client timeout', error: () => sdkError('TimeoutError', 0) },
    {
      why: 'a reset connection',
      error: () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    },
  ])('maps $why to a retryable InferenceUnavailableError', async ({ error }) => {
    // Arrange
    const cause = error();
    sagemakerMock.on(InvokeEndpointCommand).rejects(cause);

    // Act
    const thrown = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(thrown).toBeInstanceOf(InferenceUnavailableError);
    expect(thrown).toMatchObject({ retryable: true, cause });
  });

  it('maps a ModelError from a 5xx container answer to a retryable InferenceModelError', async () => {
    // Arrange
    const cause = new ModelError({
      message: 'Received server error (500) from primary',
      OriginalStatusCode: 500,
      $metadata: { httpStatusCode: 424 },
    });
    sagemakerMock.on(InvokeEndpointCommand).rejects(cause);

    // Act
    const error = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceModelError);
    expect(error).toMatchObject({ retryable: true, cause });
  });

  it('maps a ModelError from a 4xx container answer to a non-retryable InferenceModelError', async () => {
    // Arrange
    const cause = new ModelError({
      message: 'Received client error (400) from primary',
      OriginalStatusCode: 400,
      $metadata: { httpStatusCode: 424 },
    });
    sagemakerMock.on(InvokeEndpointCommand).rejects(cause);

    // Act
    const error = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceModelError);
    expect(error).toMatchObject({ retryable: false });
  });

  it('maps an access error to a non-retryable InferenceError', async () => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).rejects(sdkError('AccessDeniedException', 403));

    // Act
    const error = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).not.toBeInstanceOf(InferenceUnavailableError);
    expect(error).toMatchObject({ retryable: false });
  });

  it.each([
    {
      why: 'not JSON',
      body: () => ({ Body: Uint8ArrayBlobAdapter.fromString('<html>') }),
      message: /not JSON/,
    },
    { why: 'without outputs', body: () => responseBody({ model: okResponse.model }), message: /malformed/ },
    {
      why: 'from another model',
      body: () => responseBody({ ...okResponse, model: { name: 'fusion', version: '1' } }),
      message: /served model fusion/,
    },
    {
      why: 'with a truncated tensor',
      body: () =>
        responseBody({ ...okResponse, outputs: { probs: { dtype: 'float32', dims: [2, 3], data: 'AAAA' } } }),
      message: /bad output tensor/,
    },
  ])('refuses a response $why with a non-retryable InferenceResponseError', async ({ body, message }) => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).resolves(body());

    // Act
    const error = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(InferenceResponseError);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toMatch(message);
  });
});
