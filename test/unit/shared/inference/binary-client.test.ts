import {
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { Uint8ArrayBlobAdapter } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { JSON_CONTENT_TYPE, TENSOR_CONTENT_TYPE } from '#shared/contracts/tensor-wire.ts';
import { BINARY_ACCEPT, createInferenceClient, InferenceResponseError } from '#shared/inference/client.ts';
import {
  decodeTensorMessage,
  encodeTensorMessage,
  encodeTensors,
  type Tensor,
} from '#shared/inference/tensor-codec.ts';

const sagemaker = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sagemakerMock = mockClient(sagemaker);

const inputs: Record<string, Tensor> = {
  ids: { dtype: 'int64', dims: [2, 3], data: BigInt64Array.of(1n, 2n, 3n, 4n, 0n, 0n) },
  weights: { dtype: 'float32', dims: [2, 3], data: Float32Array.of(0.5, 1, 1, 1, 0, 0) },
};
const model = { name: 'text-toxicity', version: '2.0.0' };
const probs: Tensor = { dtype: 'float32', dims: [2, 2], data: Float32Array.of(0.1, 0.9, 0.8, 0.2) };

const binaryResponse = (m: { name: string; version: string } | null = model) => ({
  Body: Uint8ArrayBlobAdapter.mutate(new Uint8Array(encodeTensorMessage({ probs }, m ?? undefined))),
  ContentType: TENSOR_CONTENT_TYPE,
});
const jsonResponse = () => ({
  Body: Uint8ArrayBlobAdapter.fromString(JSON.stringify({ model, outputs: encodeTensors({ probs }) })),
  ContentType: JSON_CONTENT_TYPE,
});

describe('createInferenceClient over the binary wire', () => {
  const client = createInferenceClient({
    sagemaker,
    endpointName: (m) => `moderation-${m}`,
    contentTypes: () => [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE],
  });

  beforeEach(() => {
    sagemakerMock.reset();
  });

  it('sends a binary request preferring a binary answer when the manifest lists the binary type', async () => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).resolves(binaryResponse());

    // Act
    const result = await client.invoke('text-toxicity', inputs);

    // Assert
    const input = sagemakerMock.commandCalls(InvokeEndpointCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ ContentType: TENSOR_CONTENT_TYPE, Accept: BINARY_ACCEPT });
    const sent = decodeTensorMessage(input?.Body as Uint8Array);
    expect(sent.model).toBeUndefined();
    expect(sent.tensors).toEqual(inputs);
    expect(result.model).toEqual(model);
    expect(Array.from(result.outputs.probs?.data as Float32Array)).toEqual(
      Array.from(probs.data as Float32Array),
    );
  });

  it('reads a JSON answer to a binary request (a server that answers JSON)', async () => {
    // Arrange
    sagemakerMock.on(InvokeEndpointCommand).resolves(jsonResponse());

    // Act
    const result = await client.invoke('text-toxicity', inputs);

    // Assert
    expect(result.outputs.probs?.dims).toEqual([2, 2]);
  });

  it('resends as JSON when the endpoint refuses the binary type with 415, and stays on JSON', async () => {
    // Arrange
    const local = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE],
    });
    sagemakerMock
      .on(InvokeEndpointCommand, { ContentType: TENSOR_CONTENT_TYPE })
      .rejects(new ValidationError({ message: 'content type', $metadata: { httpStatusCode: 415 } }))
      .on(InvokeEndpointCommand, { ContentType: JSON_CONTENT_TYPE })
      .resolves(jsonResponse());

    // Act
    await local.invoke('text-toxicity', inputs);
    await local.invoke('text-toxicity', inputs);

    // Assert
    const types = sagemakerMock.commandCalls(InvokeEndpointCommand).map((c) => c.args[0].input.ContentType);
    expect(types).toEqual([TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE, JSON_CONTENT_TYPE]);
    expect(local.contentType('text-toxicity')).toBe(JSON_CONTENT_TYPE);
    expect(local.requestBytes('text-toxicity', inputs)).toBe(
      Buffer.byteLength(String(sagemakerMock.commandCalls(InvokeEndpointCommand)[2]?.args[0].input.Body)),
    );
  });

  it('refuses a binary answer that names no model, or is malformed, as a non-retryable InferenceResponseError', async () => {
    // Arrange
    sagemakerMock
      .on(InvokeEndpointCommand)
      .resolvesOnce(binaryResponse(null))
      .resolvesOnce({
        Body: Uint8ArrayBlobAdapter.fromString('MTNS garbage'),
        ContentType: TENSOR_CONTENT_TYPE,
      });

    // Act
    const first = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);
    const second = await client.invoke('text-toxicity', inputs).catch((err: unknown) => err);

    // Assert
    expect(first).toBeInstanceOf(InferenceResponseError);
    expect((first as Error).message).toMatch(/names no model/);
    expect(second).toBeInstanceOf(InferenceResponseError);
    expect(second).toMatchObject({ retryable: false });
    expect((second as Error).message).toMatch(/malformed binary response/);
  });

  it('stays on JSON for a model whose manifest lists only JSON, and by default', async () => {
    // Arrange
    const jsonOnly = createInferenceClient({
      sagemaker,
      endpointName: (m) => m,
      contentTypes: () => [JSON_CONTENT_TYPE],
    });
    const byDefault = createInferenceClient({ sagemaker, endpointName: (m) => m });
    sagemakerMock.on(InvokeEndpointCommand).resolves(jsonResponse());

    // Act
    await jsonOnly.invoke('text-toxicity', inputs);
    await byDefault.invoke('text-toxicity', inputs);

    // Assert
    for (const call of sagemakerMock.commandCalls(InvokeEndpointCommand)) {
      expect(call.args[0].input).toMatchObject({ ContentType: JSON_CONTENT_TYPE, Accept: JSON_CONTENT_TYPE });
    }
  });
});
