/**
 * Keeps every InvokeEndpoint request under its endpoint's payload limit (SageMaker: 6 MB real-time,
 * 4 MB serverless; ENDPOINT_PAYLOAD_LIMITS). A call whose body would be larger is split along dim 0
 * into the fewest consecutive chunks that each fit, in the wire encoding the inner client will use
 * (binary or JSON, measured exactly, not estimated), sent concurrently, and the outputs rejoined in
 * order. It sits under the coalescer, so a merged batch of 64 images goes out as a few requests
 * rather than one the endpoint would refuse. One item that alone exceeds the limit can never be
 * sent: that is a non-retryable `InferenceValidationError`.
 */
import { concatBatch, sliceBatch } from './batching.ts';
import {
  type InferenceClient,
  InferenceResponseError,
  type InferenceResult,
  InferenceValidationError,
  type SizedInferenceClient,
} from './client.ts';
import type { Tensor } from './tensor-codec.ts';

export interface PayloadLimitOptions {
  /** Largest request body for a model's endpoint, in bytes. */
  maxRequestBytes: (model: string) => number;
  /** Endpoint name for error messages. @default the model name */
  endpointName?: (model: string) => string;
}

const slice = (inputs: Record<string, Tensor>, start: number, end: number) =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, sliceBatch(t, start, end)]));

/**
 * [start, end) row ranges, each the longest run from its start whose request fits `limit`
 * (binary search: the body grows with the row count), or the first row that does not fit even alone.
 */
export function planChunks(
  items: number,
  bytesOf: (start: number, end: number) => number,
  limit: number,
): { chunks: [number, number][] } | { oversizedRow: number; bytes: number } {
  const chunks: [number, number][] = [];
  let start = 0;
  while (start < items) {
    let lo = 0; // rows known to fit
    let hi = items - start; // rows to try
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (bytesOf(start, start + mid) <= limit) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) return { oversizedRow: start, bytes: bytesOf(start, start + 1) };
    chunks.push([start, start + lo]);
    start += lo;
  }
  return { chunks };
}

/** Wraps a client so no request it sends exceeds `maxRequestBytes(model)`. */
export function withPayloadLimit(inner: SizedInferenceClient, options: PayloadLimitOptions): InferenceClient {
  const endpointOf = options.endpointName ?? ((m: string) => m);
  return {
    async invoke(model, inputs, invokeOptions) {
      const limit = options.maxRequestBytes(model);
      if (inner.requestBytes(model, inputs) <= limit) return inner.invoke(model, inputs, invokeOptions);
      const items = Object.values(inputs)[0]?.dims[0] ?? 0;
      const plan =
        items <= 1
          ? { oversizedRow: 0, bytes: inner.requestBytes(model, inputs) }
          : planChunks(items, (s, e) => inner.requestBytes(model, slice(inputs, s, e)), limit);
      const endpoint = endpointOf(model);
      if ('oversizedRow' in plan) {
        throw new InferenceValidationError(
          `${model} (endpoint ${endpoint}): item ${plan.oversizedRow} alone encodes to ${plan.bytes} bytes as ${inner.contentType(model)}, over the endpoint's request limit of ${limit} bytes`,
          { model, endpoint, retryable: false },
        );
      }
      const results = await Promise.all(
        plan.chunks.map(([s, e]) => inner.invoke(model, slice(inputs, s, e), invokeOptions)),
      );
      return rejoin(results, model, endpoint);
    },
  };
}

function rejoin(results: InferenceResult[], model: string, endpoint: string): InferenceResult {
  const [first] = results as [InferenceResult, ...InferenceResult[]];
  // Chunks may reach different variants while an endpoint shifts traffic; one verdict must name one version.
  const other = results.find((r) => r.model.version !== first.model.version);
  if (other) {
    throw new InferenceResponseError(
      `${model} (endpoint ${endpoint}): the parts of one request were served by versions ${first.model.version} and ${other.model.version}`,
      { model, endpoint, retryable: true },
    );
  }
  const outputs = Object.fromEntries(
    Object.keys(first.outputs).map((name) => [
      name,
      concatBatch(results.map((r) => r.outputs[name]).filter((t): t is Tensor => t !== undefined)),
    ]),
  );
  return { model: first.model, outputs };
}
