/**
 * The pipeline's client for the inference endpoints: the same SageMaker Runtime `InvokeEndpoint`
 * call on AWS and against the local inference server. Failures become an `InferenceError`
 * subclass whose `retryable` tells the caller whether trying again (SQS redelivery) can help.
 */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { z } from 'zod';
import { InvocationResponseSchema } from '#shared/contracts/tensor-wire.ts';
import { decodeTensors, stringifyTensors, type Tensor, TensorFormatError } from './tensor-codec.ts';

export interface InferenceClientOptions {
  /** Created at module scope by the caller (locally: with `endpoint` pointing at the server). */
  sagemaker: SageMakerRuntimeClient;
  /** Endpoint name for a model name, e.g. (m) => `moderation-${m}` on AWS, (m) => m locally. */
  endpointName: (model: string) => string;
  /** Inference component hosting the model, when the endpoint uses them (scale-to-zero). */
  inferenceComponentName?: (model: string) => string | undefined;
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

/** Creates the client; the SageMaker Runtime client is injected so tests and local mode pass their own. */
export function createInferenceClient(options: InferenceClientOptions): InferenceClient {
  const { sagemaker, endpointName, inferenceComponentName } = options;
  const decoder = new TextDecoder();
  return {
    async invoke(model, inputs, invokeOptions = {}) {
      const endpoint = endpointName(model);
      const command = new InvokeEndpointCommand({
        EndpointName: endpoint,
        InferenceComponentName: inferenceComponentName?.(model),
        ContentType: 'application/json',
        Accept: 'application/json',
        Body: `{"inputs":${stringifyTensors(inputs)}}`,
      });
      let body: Uint8Array | undefined;
      try {
        const response = await sagemaker.send(command, { abortSignal: invokeOptions.abortSignal });
        body = response.Body;
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
      let json: unknown;
      try {
        json = JSON.parse(decoder.decode(body ?? new Uint8Array()));
      } catch (err) {
        throw fail(`response is not JSON: ${(err as Error).message}`, err);
      }
      const parsed = InvocationResponseSchema.safeParse(json);
      if (!parsed.success) throw fail(`malformed response: ${z.prettifyError(parsed.error)}`, parsed.error);
      // A misrouted endpoint name would otherwise stamp another model's scores on the verdict.
      if (parsed.data.model.name !== model) throw fail(`endpoint served model ${parsed.data.model.name}`);
      try {
        return { model: parsed.data.model, outputs: decodeTensors(parsed.data.outputs) };
      } catch (err) {
        if (err instanceof TensorFormatError) throw fail(`bad output tensor: ${err.message}`, err);
        throw err;
      }
    },
  };
}
