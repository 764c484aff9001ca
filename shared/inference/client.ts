/**
 * The pipeline's client for the inference endpoints: the same SageMaker Runtime `InvokeEndpoint`
 * call on AWS and against the local inference server. Failures become an `InferenceError`
 * subclass whose `retryable` tells the caller whether trying again (SQS redelivery) can help.
 *
 * Wire: a model whose manifest lists the binary tensor type (`contentTypes`, shared/inference/
 * manifest.ts) gets binary requests with `Accept: <binary>, application/json;q=0.5`; the response
 * is decoded by its own Content-Type, so a server that answers JSON still works. A server that
 * refuses the binary type (415: a container older than its manifest, mid-rollout) gets the request
 * again as JSON, and that model stays on JSON for the life of the client.
 */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { z } from 'zod';
import {
  type InvocationContentType,
  InvocationResponseSchema,
  JSON_CONTENT_TYPE,
  TENSOR_CONTENT_TYPE,
} from '#shared/contracts/tensor-wire.ts';
import {
  decodeTensorMessage,
  decodeTensors,
  encodeTensorMessage,
  jsonRequestBytes,
  stringifyTensors,
  type Tensor,
  TensorFormatError,
  tensorMessageBytes,
} from './tensor-codec.ts';

export interface InferenceClientOptions {
  /** Created at module scope by the caller (locally: with `endpoint` pointing at the server). */
  sagemaker: SageMakerRuntimeClient;
  /** Endpoint name for a model name, e.g. (m) => `moderation-${m}` on AWS, (m) => m locally. */
  endpointName: (model: string) => string;
  /** Inference component hosting the model, when the endpoint uses them (scale-to-zero). */
  inferenceComponentName?: (model: string) => string | undefined;
  /**
   * The request content types a model's server accepts, preferred first (its manifest's
   * `contentTypes`); the first one this client speaks is used. @default JSON only
   */
  contentTypes?: (model: string) => readonly string[] | undefined;
}

export interface InvokeOptions {
  abortSignal?: AbortSignal;
}

export interface InferenceResult {
  model: { name: string; version: string };
  outputs: Record<string, Tensor>;
}

export interface InferenceClient {
  /** Runs `model` on a batch of inputs (dim 0 is the batch) and returns its outputs. */
  invoke(model: string, inputs: Record<string, Tensor>, options?: InvokeOptions): Promise<InferenceResult>;
}

/** A client that knows the size of the request body it would send (for payload limits). */
export interface SizedInferenceClient extends InferenceClient {
  /** Bytes of the body `invoke(model, inputs)` would send now, in the wire it would use. */
  requestBytes(model: string, inputs: Record<string, Tensor>): number;
  /** The request content type `invoke` would use for `model` now. */
  contentType(model: string): InvocationContentType;
}

interface InferenceErrorOptions extends ErrorOptions {
  model: string;
  endpoint: string;
  retryable: boolean;
}

/** Base of every inference failure. */
export class InferenceError extends Error {
  override name = 'InferenceError';
  /** Whether the same request may succeed later (throttling, 5xx, timeouts, network). */
  readonly retryable: boolean;
  readonly model: string;
  readonly endpoint: string;
  constructor(message: string, options: InferenceErrorOptions) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.model = options.model;
    this.endpoint = options.endpoint;
  }
}

/** The request is wrong (unknown endpoint, bad tensor): never retryable. */
export class InferenceValidationError extends InferenceError {
  override name = 'InferenceValidationError';
}

/** The model failed on the request; retryable when the container answered 5xx or 429. */
export class InferenceModelError extends InferenceError {
  override name = 'InferenceModelError';
}

/** The endpoint is throttling, overloaded, unreachable or timed out: retryable. */
export class InferenceUnavailableError extends InferenceError {
  override name = 'InferenceUnavailableError';
}

/** The endpoint answered something that is not a valid invocation response. */
export class InferenceResponseError extends InferenceError {
  override name = 'InferenceResponseError';
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ModelNotReadyException',
]);
const SERVER_SIDE = new Set(['ServiceUnavailable', 'InternalFailure', 'InternalDependencyException']);
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  OriginalStatusCode?: number;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Maps an SDK or network error to the InferenceError subclass the caller acts on. */
export function toInferenceError(err: unknown, model: string, endpoint: string): InferenceError {
  if (err instanceof InferenceError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorLike;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = `${model} (endpoint ${endpoint}): ${name}: ${e.message ?? String(err)}`;
  const base = { model, endpoint, cause: err };
  // A scaled-to-zero inference component answers ValidationError until a copy is placed: that is
  // a cold start, not a bad request, so the message must come back later.
  if (name === 'ValidationError' && /no capacity/i.test(e.message ?? '')) {
    return new InferenceUnavailableError(message, { ...base, retryable: true });
  }
  if (name === 'ValidationError') return new InferenceValidationError(message, { ...base, retryable: false });
  if (name === 'ModelError') {
    const original = e.OriginalStatusCode ?? status ?? 0;
    return new InferenceModelError(message, { ...base, retryable: original >= 500 || original === 429 });
  }
  const retryable =
    THROTTLING.has(name) ||
    SERVER_SIDE.has(name) ||
    TIMEOUTS.has(name) ||
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    e.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429));
  if (retryable) return new InferenceUnavailableError(message, { ...base, retryable: true });
  return new InferenceError(message, { ...base, retryable: false });
}

/** The Accept header of a binary request: binary preferred, JSON understood. */
export const BINARY_ACCEPT = `${TENSOR_CONTENT_TYPE}, ${JSON_CONTENT_TYPE};q=0.5`;

const mimeOf = (contentType: string | undefined) => contentType?.split(';')[0]?.trim().toLowerCase();

/** Whether the endpoint refused the request's content type (HTTP 415, as a container or via SageMaker). */
function isUnsupportedMediaType(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorLike;
  return e.$metadata?.httpStatusCode === 415 || e.OriginalStatusCode === 415;
}

/** Creates the client; the SageMaker Runtime client is injected so tests and local mode pass their own. */
export function createInferenceClient(options: InferenceClientOptions): SizedInferenceClient {
  const { sagemaker, endpointName, inferenceComponentName } = options;
  const decoder = new TextDecoder();
  /** Models whose endpoint refused the binary type: JSON from then on. */
  const jsonOnly = new Set<string>();
  const contentType = (model: string): InvocationContentType => {
    if (jsonOnly.has(model)) return JSON_CONTENT_TYPE;
    const accepted = options.contentTypes?.(model) ?? [JSON_CONTENT_TYPE];
    return accepted.find((t) => t === TENSOR_CONTENT_TYPE || t === JSON_CONTENT_TYPE) ?? JSON_CONTENT_TYPE;
  };

  const send = async (
    model: string,
    endpoint: string,
    wire: InvocationContentType,
    inputs: Record<string, Tensor>,
    abortSignal: AbortSignal | undefined,
  ) => {
    const binary = wire === TENSOR_CONTENT_TYPE;
    const command = new InvokeEndpointCommand({
      EndpointName: endpoint,
      InferenceComponentName: inferenceComponentName?.(model),
      ContentType: wire,
      Accept: binary ? BINARY_ACCEPT : JSON_CONTENT_TYPE,
      Body: binary ? encodeTensorMessage(inputs) : `{"inputs":${stringifyTensors(inputs)}}`,
    });
    return sagemaker.send(command, { abortSignal });
  };

  const decodeJson = (body: Uint8Array, fail: (why: string, cause?: unknown) => InferenceError) => {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(body));
    } catch (err) {
      throw fail(`response is not JSON: ${(err as Error).message}`, err);
    }
    const parsed = InvocationResponseSchema.safeParse(json);
    if (!parsed.success) throw fail(`malformed response: ${z.prettifyError(parsed.error)}`, parsed.error);
    try {
      return { model: parsed.data.model, outputs: decodeTensors(parsed.data.outputs) };
    } catch (err) {
      if (err instanceof TensorFormatError) throw fail(`bad output tensor: ${err.message}`, err);
      throw err;
    }
  };

  const decodeBinary = (body: Uint8Array, fail: (why: string, cause?: unknown) => InferenceError) => {
    try {
      const message = decodeTensorMessage(body);
      if (!message.model) throw fail('binary response names no model');
      return { model: message.model, outputs: message.tensors };
    } catch (err) {
      if (err instanceof TensorFormatError) throw fail(`malformed binary response: ${err.message}`, err);
      throw err;
    }
  };

  return {
    contentType,
    requestBytes(model, inputs) {
      return contentType(model) === TENSOR_CONTENT_TYPE
        ? tensorMessageBytes(inputs)
        : jsonRequestBytes(inputs);
    },
    async invoke(model, inputs, invokeOptions = {}) {
      const endpoint = endpointName(model);
      let response: { Body?: Uint8Array; ContentType?: string };
      try {
        const wire = contentType(model);
        try {
          response = await send(model, endpoint, wire, inputs, invokeOptions.abortSignal);
        } catch (err) {
          if (wire !== TENSOR_CONTENT_TYPE || !isUnsupportedMediaType(err)) throw err;
          jsonOnly.add(model);
          response = await send(model, endpoint, JSON_CONTENT_TYPE, inputs, invokeOptions.abortSignal);
        }
      } catch (err) {
        throw toInferenceError(err, model, endpoint);
      }
      const fail = (why: string, cause?: unknown) =>
        new InferenceResponseError(`${model} (endpoint ${endpoint}): ${why}`, {
          model,
          endpoint,
          retryable: false,
          cause,
        });
      const body = response.Body ?? new Uint8Array();
      const result =
        mimeOf(response.ContentType) === TENSOR_CONTENT_TYPE
          ? decodeBinary(body, fail)
          : decodeJson(body, fail);
      // A misrouted endpoint name would otherwise stamp another model's scores on the verdict.
      if (result.model.name !== model) throw fail(`endpoint served model ${result.model.name}`);
      return result;
    },
  };
}
