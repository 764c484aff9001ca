/**
 * Retries for model calls: throttling, 5xx, timeouts and network failures of an endpoint are retried
 * with backoff and full jitter inside the invocation's time budget; anything else (a rejected input,
 * a malformed response) fails at once. When the retries are spent the error reaches the record
 * handler, the SQS message goes back to the queue, and after maxReceiveCount it is dead-lettered.
 */
import { currentDeadline, type Deadline } from '#shared/retry/deadline.ts';
import { type RetryPolicy, retry } from '#shared/retry/retry.ts';
import { type InferenceClient, InferenceError, InferenceUnavailableError } from './client.ts';

export interface InferenceRetryOptions {
  policy: RetryPolicy;
  /** @default the current invocation's deadline (shared/retry/deadline.ts), if one is published */
  deadline?: () => Deadline | undefined;
  onRetry?(info: { model: string; attempt: number; delayMs: number; error: unknown }): void;
  sleep?(ms: number): Promise<void>;
  random?(): number;
}

const isRetryable = (err: unknown) => err instanceof InferenceError && err.retryable;

/** Wraps a client so every `invoke` is retried per `policy`. */
export function withRetries(client: InferenceClient, options: InferenceRetryOptions): InferenceClient {
  const deadline = options.deadline ?? currentDeadline;
  return {
    invoke(model, inputs, invokeOptions = {}) {
      return retry(
        (signal) => {
          // A caller's own abort still wins; ours ends one attempt only.
          const abortSignal = invokeOptions.abortSignal
            ? AbortSignal.any([invokeOptions.abortSignal, signal])
            : signal;
          return client.invoke(model, inputs, { ...invokeOptions, abortSignal });
        },
        {
          policy: options.policy,
          deadline: deadline(),
          isRetryable,
          // An endpoint that does not answer in time is unavailable for now, not rejecting the input.
          timeoutError: (ms, attempt) =>
            new InferenceUnavailableError(`${model}: attempt ${attempt} timed out after ${ms} ms`, {
              model,
              endpoint: model,
              retryable: true,
            }),
          onRetry: options.onRetry && ((info) => options.onRetry?.({ model, ...info })),
          sleep: options.sleep,
          random: options.random,
        },
      );
    },
  };
}
