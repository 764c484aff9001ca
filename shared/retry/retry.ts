/**
 * Retries with exponential backoff and full jitter, inside a time budget. Full jitter (a delay drawn
 * uniformly from 0 to the capped exponential) spreads the retries of many Lambdas that failed together
 * (an endpoint restart, a throttling burst), so they don't come back in lockstep.
 */
import type { Deadline } from './deadline.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Cap of the first retry's delay; it doubles each retry. */
  baseDelayMs: number;
  /** No delay is drawn from a range wider than this. */
  maxDelayMs: number;
  /** Each attempt is abandoned after this long (and never runs past the budget). */
  attemptTimeoutMs: number;
  /** Time kept back from the invocation's budget for what follows: writing the verdict, returning. */
  reserveMs: number;
  /** No attempt is started with less time than this left for it. */
  minAttemptMs: number;
}

/** For synchronous model calls from a Lambda with a 60 s timeout: ≤ 4 attempts, ≤ ~1.4 s of waiting on average. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 4_000,
  attemptTimeoutMs: 10_000,
  reserveMs: 3_000,
  minAttemptMs: 250,
};

/** The delay before retry number `retry` (1 = the first retry): uniform in [0, min(max, base·2^(retry−1))). */
export function fullJitterDelay(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

/** Our own per-attempt timeout fired (the callee may report it as an abort). */
export class AttemptTimeoutError extends Error {
  override name = 'AttemptTimeoutError';
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Whether trying again can help (throttling, 5xx, timeouts, network) — the callee's classification. */
  isRetryable(err: unknown): boolean;
  /** The invocation's budget; without one only `maxAttempts` bounds the retries. */
  deadline?: Deadline;
  /** The error to report when an attempt timed out (e.g. a retryable domain error). */
  timeoutError?(timeoutMs: number, attempt: number): Error;
  onRetry?(info: { attempt: number; delayMs: number; error: unknown }): void;
  sleep?(ms: number): Promise<void>;
  random?(): number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` until it succeeds, fails with an error that is not retryable, runs out of attempts, or
 * would run out of budget; then the last error is thrown (and the caller's message goes back to the
 * queue). `fn` gets an AbortSignal that fires when its attempt times out; a timed-out attempt is
 * abandoned at once, whether or not `fn` honours the signal.
 */
export async function retry<T>(
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, deadline } = options;
  const sleep = options.sleep ?? defaultSleep;
  const left = () => (deadline ? deadline.remainingMs() - policy.reserveMs : Number.POSITIVE_INFINITY);
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = Math.max(policy.minAttemptMs, Math.min(policy.attemptTimeoutMs, left()));
    const controller = new AbortController();
    const timeout = () =>
      options.timeoutError?.(timeoutMs, attempt) ??
      new AttemptTimeoutError(`attempt ${attempt} timed out after ${timeoutMs} ms`);
    const timer = setTimeout(() => controller.abort(timeout()), timeoutMs);
    let error: unknown;
    try {
      const call = fn(controller.signal, attempt);
      // Abandon the attempt when its time is up, even if the callee ignores the signal.
      call.catch(() => undefined);
      const timedOut = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      return await Promise.race([call, timedOut]);
    } catch (err) {
      error = controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
    }
    if (!options.isRetryable(error) || attempt >= policy.maxAttempts) throw error;
    const delayMs = fullJitterDelay(attempt, policy, options.random);
    // Another attempt is only worth starting if it can finish inside the budget after the wait.
    if (left() - delayMs < policy.minAttemptMs) throw error;
    options.onRetry?.({ attempt, delayMs, error });
    await sleep(delayMs);
  }
}
