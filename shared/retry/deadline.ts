/**
 * The time budget of the current invocation. A Lambda invocation has a hard deadline
 * (`context.getRemainingTimeInMillis()`); retries deep inside the model gateway must stop in time for
 * the function to record its result, so the record handler publishes the deadline here and the retry
 * wrapper reads it, without threading it through every function in between.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Deadline {
  /** Milliseconds left before the invocation is killed. */
  remainingMs(): number;
}

const current = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with `deadline` as the current one (for everything it awaits, however deep). */
export function runWithDeadline<T>(deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
  return deadline ? current.run(deadline, fn) : fn();
}

/** The deadline of the invocation this code runs in, if one was published. */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}

/** A Lambda context's deadline; undefined when there is no context (CLI tools, unit tests). */
export function deadlineFromContext(context?: {
  getRemainingTimeInMillis?: () => number;
}): Deadline | undefined {
  const remaining = context?.getRemainingTimeInMillis;
  if (typeof remaining !== 'function') return undefined;
  return { remainingMs: () => remaining.call(context) };
}

/** A deadline `ms` from now. */
export function deadlineIn(ms: number): Deadline {
  const at = Date.now() + ms;
  return { remainingMs: () => at - Date.now() };
}
