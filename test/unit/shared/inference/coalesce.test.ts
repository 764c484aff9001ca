import { describe, expect, it, vi } from 'vitest';
import type { InferenceClient, InferenceResult } from '#shared/inference/client.ts';
import { createCoalescingClient, createInFlight } from '#shared/inference/coalesce.ts';
import { row, type Tensor } from '#shared/inference/tensor-codec.ts';

/** A fake endpoint: output row i = sum of input row i's `ids` (padding is 0, so it can't change the sum). */
function fakeEndpoint() {
  const calls: Record<string, Tensor>[] = [];
  const client: InferenceClient = {
    invoke: vi.fn(async (_model: string, inputs: Record<string, Tensor>): Promise<InferenceResult> => {
      calls.push(inputs);
      const ids = inputs.ids!;
      const n = ids.dims[0]!;
      const sums = Float32Array.from({ length: n }, (_, i) => row(ids, i).reduce((a, b) => a + b, 0));
      return {
        model: { name: 'm', version: '7' },
        outputs: { sum: { dtype: 'float32', dims: [n, 1], data: sums } },
      };
    }),
  };
  return { client, calls };
}

const ids = (...rows: number[][]): Record<string, Tensor> => {
  const width = rows[0]!.length;
  return {
    ids: { dtype: 'int64', dims: [rows.length, width], data: BigInt64Array.from(rows.flat().map(BigInt)) },
  };
};

describe('request coalescing', () => {
  it('merges concurrent calls for one model into one padded request and splits the outputs back', async () => {
    const { client, calls } = fakeEndpoint();
    const coalescing = createCoalescingClient(client, { windowMs: 0 });

    const results = await Promise.all([
      coalescing.invoke('m', ids([1, 2])),
      coalescing.invoke('m', ids([10, 20, 30], [1, 1, 1])),
      coalescing.invoke('m', ids([5])),
    ]);

    expect(calls).toHaveLength(1);
    expect(calls[0]!.ids!.dims).toEqual([4, 3]);
    expect(results.map((r) => Array.from(r.outputs.sum!.data as Float32Array))).toEqual([[3], [60, 3], [5]]);
    expect(results.every((r) => r.model.version === '7')).toBe(true);
  });

  it('sends calls that do not overlap in time separately', async () => {
    const { client, calls } = fakeEndpoint();
    const coalescing = createCoalescingClient(client, { windowMs: 0 });
    await coalescing.invoke('m', ids([1]));
    await coalescing.invoke('m', ids([2]));
    expect(calls).toHaveLength(2);
  });

  it('keeps each request within maxItems', async () => {
    const { client, calls } = fakeEndpoint();
    const coalescing = createCoalescingClient(client, { windowMs: 0, maxItems: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((v) => coalescing.invoke('m', ids([v]))));
    expect(calls.map((c) => c.ids!.dims[0])).toEqual([2, 2, 1]);
  });

  it('fails every caller of a failed merged request, and only them', async () => {
    const failing: InferenceClient = { invoke: vi.fn().mockRejectedValue(new Error('endpoint down')) };
    const coalescing = createCoalescingClient(failing, { windowMs: 0 });
    const outcomes = await Promise.allSettled([
      coalescing.invoke('m', ids([1])),
      coalescing.invoke('m', ids([2])),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(failing.invoke).toHaveBeenCalledTimes(1);
  });

  it("lets a caller's abort signal reject its own call without cancelling the others", async () => {
    const { client } = fakeEndpoint();
    const coalescing = createCoalescingClient(client, { windowMs: 5 });
    const controller = new AbortController();
    const aborted = coalescing.invoke('m', ids([1]), { abortSignal: controller.signal });
    const kept = coalescing.invoke('m', ids([2]));
    controller.abort(new Error('attempt timed out'));
    await expect(aborted).rejects.toThrow('attempt timed out');
    expect(Array.from((await kept).outputs.sum!.data as Float32Array)).toEqual([2]);
  });

  it('waits the window for calls that may still come, and no longer once every caller is in', async () => {
    // Arrange: a window far longer than the test, so only `callers` can end it early.
    vi.useFakeTimers();
    try {
      const { client, calls } = fakeEndpoint();
      let callers = 3;
      const coalescing = createCoalescingClient(client, { windowMs: 60_000, callers: () => callers });

      // Act: two of three callers arrive; then the third.
      const first = [coalescing.invoke('m', ids([1])), coalescing.invoke('m', ids([2]))];
      await vi.advanceTimersByTimeAsync(1_000);
      const sentWithTwo = calls.length;
      const third = coalescing.invoke('m', ids([3]));
      await vi.advanceTimersByTimeAsync(0);
      const results = await Promise.all([...first, third]);
      // A lone caller goes at once as well.
      callers = 1;
      const alone = coalescing.invoke('m', ids([4]));
      await vi.advanceTimersByTimeAsync(0);
      await alone;

      // Assert
      expect(sentWithTwo).toBe(0);
      expect(calls.map((c) => c.ids!.dims[0])).toEqual([3, 1]);
      expect(results.map((r) => Array.from(r.outputs.sum!.data as Float32Array))).toEqual([[1], [2], [3]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('still ends the window when fewer callers come than may', async () => {
    vi.useFakeTimers();
    try {
      const { client, calls } = fakeEndpoint();
      const coalescing = createCoalescingClient(client, { windowMs: 50, callers: () => 10 });
      const pending = Promise.all([coalescing.invoke('m', ids([1])), coalescing.invoke('m', ids([2]))]);
      await vi.advanceTimersByTimeAsync(49);
      const before = calls.length;
      await vi.advanceTimersByTimeAsync(1);
      await pending;
      expect([before, calls.length]).toEqual([0, 1]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('createInFlight', () => {
  it('counts work while it runs, also work that fails', async () => {
    const inFlight = createInFlight();
    let release: () => void = () => undefined;
    const running = inFlight.track(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    const failing = inFlight.track(async () => {
      throw new Error('boom');
    });
    const during = inFlight.count();
    await expect(failing).rejects.toThrow('boom');
    const afterFailure = inFlight.count();
    release();
    await running;
    expect([during, afterFailure, inFlight.count()]).toEqual([2, 1, 0]);
  });
});
