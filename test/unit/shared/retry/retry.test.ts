import { describe, expect, it, vi } from 'vitest';
import { currentDeadline, deadlineFromContext, deadlineIn, runWithDeadline } from '#shared/retry/deadline.ts';
import { AttemptTimeoutError, fullJitterDelay, type RetryPolicy, retry } from '#shared/retry/retry.ts';

const policy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  attemptTimeoutMs: 5_000,
  reserveMs: 0,
  minAttemptMs: 10,
};

class Flaky extends Error {
  constructor(readonly retryable: boolean) {
    super(retryable ? 'busy' : 'bad input');
  }
}
const isRetryable = (err: unknown) => err instanceof Flaky && err.retryable;

/** fn that fails with `errors` in turn, then returns 'ok'. */
function failing(...errors: Error[]) {
  return vi.fn(async () => {
    const next = errors.shift();
    if (next) throw next;
    return 'ok';
  });
}

describe('full jitter', () => {
  it('draws each delay from [0, min(max, base·2^(n−1)))', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => fullJitterDelay(n, policy, () => 0.999_999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(fullJitterDelay(3, policy, () => 0)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = fullJitterDelay(3, policy);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(400);
    }
  });
});

describe('retry', () => {
  it('retries retryable failures with jittered delays, then returns the result', async () => {
    const sleeps: number[] = [];
    const fn = failing(new Flaky(true), new Flaky(true));
    const result = await retry(fn, {
      policy,
      isRetryable,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(result).toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('fails at once on an error that is not retryable', async () => {
    const fn = failing(new Flaky(false));
    await expect(retry(fn, { policy, isRetryable, sleep: async () => {} })).rejects.toThrow('bad input');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const fn = failing(...Array.from({ length: 10 }, () => new Flaky(true)));
    await expect(retry(fn, { policy, isRetryable, sleep: async () => {} })).rejects.toBeInstanceOf(Flaky);
    expect(fn).toHaveBeenCalledTimes(policy.maxAttempts);
  });

  it('stops retrying when the time budget left cannot fit another attempt', async () => {
    let now = 0;
    const deadline = { remainingMs: () => 1_000 - now };
    const fn = vi.fn(async () => {
      now += 400; // each attempt takes 400 ms of the invocation's 1 s
      throw new Flaky(true);
    });
    await expect(
      retry(fn, {
        policy: { ...policy, reserveMs: 300 },
        deadline,
        isRetryable,
        random: () => 0,
        sleep: async () => {},
      }),
    ).rejects.toBeInstanceOf(Flaky);
    // 1 s − 300 ms reserve: after one 400 ms attempt, 300 ms are left, and after two none.
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('abandons an attempt that runs past its timeout and retries it as retryable', async () => {
    let calls = 0;
    const fn = (signal: AbortSignal) => {
      calls++;
      if (calls > 1) return Promise.resolve('second try');
      return new Promise<string>((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    };
    const result = await retry(fn, {
      policy: { ...policy, attemptTimeoutMs: 30 },
      isRetryable: (err) => err instanceof AttemptTimeoutError,
      sleep: async () => {},
    });
    expect(result).toBe('second try');
    expect(calls).toBe(2);
  });

  it('never gives an attempt more time than the budget leaves', async () => {
    const t = performance.now();
    const hang = () => new Promise<string>(() => undefined); // never settles, ignores the signal
    const err = await retry(hang, {
      policy: { ...policy, attemptTimeoutMs: 60_000 },
      deadline: deadlineIn(80),
      isRetryable: () => true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttemptTimeoutError);
    expect(performance.now() - t).toBeLessThan(1_000);
  });
});

describe('invocation deadline', () => {
  it('is visible to everything awaited inside runWithDeadline, and only there', async () => {
    expect(currentDeadline()).toBeUndefined();
    const inner = await runWithDeadline(deadlineIn(5_000), async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentDeadline()?.remainingMs();
    });
    expect(inner).toBeGreaterThan(4_000);
    expect(inner).toBeLessThanOrEqual(5_000);
    expect(currentDeadline()).toBeUndefined();
  });

  it('reads a Lambda context, and is absent without one', () => {
    expect(deadlineFromContext({ getRemainingTimeInMillis: () => 1234 })?.remainingMs()).toBe(1234);
    expect(deadlineFromContext(undefined)).toBeUndefined();
    expect(deadlineFromContext({})).toBeUndefined();
  });
});
