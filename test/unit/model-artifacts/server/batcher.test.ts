import { describe, expect, it } from 'vitest';
import { DynamicBatcher, type RunBatch } from '#model-artifacts/server/batcher.ts';
import { ModelExecutionError } from '#model-artifacts/server/errors.ts';
import { concatBatch } from '#shared/inference/batching.ts';
import type { InputSpec, OutputSpec } from '#shared/inference/manifest.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';

const inputs: InputSpec[] = [
  { name: 'ids', dtype: 'int64', shape: ['batch', 'tokens'], padValue: -1 },
  { name: 'w', dtype: 'float32', shape: ['batch', 'tokens'] },
];
const outputs: OutputSpec[] = [{ name: 'sum', dtype: 'float32', shape: ['batch', 1] }];
const spec = { name: 'summer', inputs, outputs };

/** Sums w·(ids ≥ 0) per row, so -1 padding counts as absent; records every batch it sees. */
function summer(
  seen: Record<string, Tensor>[] = [],
  fail?: (batch: Record<string, Tensor>) => boolean,
): RunBatch {
  return async (feeds) => {
    seen.push(feeds);
    if (fail?.(feeds)) throw new Error('boom');
    const ids = feeds.ids as Tensor;
    const w = feeds.w as Tensor;
    const [rows = 0, cols = 0] = ids.dims;
    const sum = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if ((ids.data[r * cols + c] as bigint) >= 0n)
          sum[r] = (sum[r] ?? 0) + (w.data[r * cols + c] as number);
      }
    }
    return { sum: { dtype: 'float32', dims: [rows, 1], data: sum } };
  };
}

function request(rows: number[][]): Record<string, Tensor> {
  const cols = rows[0]?.length ?? 0;
  return {
    ids: { dtype: 'int64', dims: [rows.length, cols], data: BigInt64Array.from(rows.flat(), () => 1n) },
    w: { dtype: 'float32', dims: [rows.length, cols], data: Float32Array.from(rows.flat()) },
  };
}

const sumOf = (out: Record<string, Tensor>) => Array.from(out.sum?.data ?? [], Number);

describe('concatBatch', () => {
  it('pads variable dimensions to the longest with the pad value', () => {
    // Arrange
    const a: Tensor = { dtype: 'int64', dims: [1, 2], data: BigInt64Array.of(1n, 2n) };
    const b: Tensor = { dtype: 'int64', dims: [2, 3], data: BigInt64Array.of(3n, 4n, 5n, 6n, 7n, 8n) };

    // Act
    const t = concatBatch([a, b], -1);

    // Assert
    expect(t.dims).toEqual([3, 3]);
    expect(Array.from(t.data as BigInt64Array)).toEqual([1n, 2n, -1n, 3n, 4n, 5n, 6n, 7n, 8n]);
  });

  it('pads inner dimensions of rank-3 tensors', () => {
    // Arrange
    const a: Tensor = { dtype: 'float32', dims: [1, 1, 2], data: Float32Array.of(1, 2) };
    const b: Tensor = { dtype: 'float32', dims: [1, 2, 1], data: Float32Array.of(3, 4) };

    // Act
    const t = concatBatch([a, b]);

    // Assert
    expect(t.dims).toEqual([2, 2, 2]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 0, 0, 3, 0, 4, 0]);
  });
});

describe('DynamicBatcher', () => {
  it('runs concurrent requests as one padded batch and splits the outputs back', async () => {
    // Arrange
    const seen: Record<string, Tensor>[] = [];
    const batcher = new DynamicBatcher(spec, summer(seen), { maxBatchSize: 8, maxQueueDelayMs: 50 });

    // Act
    const results = await Promise.all([
      batcher.submit(request([[1, 2]])),
      batcher.submit(request([[10], [20]])),
      batcher.submit(request([[1, 1, 1, 1]])),
    ]);

    // Assert
    expect(results.map(sumOf)).toEqual([[3], [10, 20], [4]]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.ids?.dims).toEqual([4, 4]);
    expect(batcher.stats()).toMatchObject({ requests: 3, items: 4, batches: 1, maxBatchItems: 4 });
  });

  it('starts a batch as soon as maxBatchSize items are queued', async () => {
    // Arrange: a delay far longer than the test may take
    const batcher = new DynamicBatcher(spec, summer(), { maxBatchSize: 2, maxQueueDelayMs: 60_000 });
    const started = performance.now();

    // Act
    await Promise.all([batcher.submit(request([[1]])), batcher.submit(request([[2]]))]);

    // Assert
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(batcher.stats().batches).toBe(1);
  });

  it('runs a lone request after maxQueueDelayMs', async () => {
    // Arrange
    const batcher = new DynamicBatcher(spec, summer(), { maxBatchSize: 32, maxQueueDelayMs: 30 });
    const started = performance.now();

    // Act
    const out = await batcher.submit(request([[5]]));

    // Assert
    expect(sumOf(out)).toEqual([5]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('splits a request larger than maxBatchSize into chunks and rejoins the outputs', async () => {
    // Arrange
    const seen: Record<string, Tensor>[] = [];
    const batcher = new DynamicBatcher(spec, summer(seen), { maxBatchSize: 2, maxQueueDelayMs: 0 });

    // Act
    const out = await batcher.submit(request([[1], [2], [3], [4], [5]]));

    // Assert
    expect(sumOf(out)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((s) => s.ids?.dims[0])).toEqual([2, 2, 1]);
  });

  it('fails only the requests of a failing batch', async () => {
    // Arrange: the model fails on any batch containing the value 666; with no queue delay the first
    // request runs alone and the other two, queued meanwhile, run together after it
    const seen: Record<string, Tensor>[] = [];
    const poisoned = (feeds: Record<string, Tensor>) => Array.from(feeds.w?.data ?? [], Number).includes(666);
    const batcher = new DynamicBatcher(spec, summer(seen, poisoned), { maxBatchSize: 2, maxQueueDelayMs: 0 });

    // Act
    const results = await Promise.allSettled([
      batcher.submit(request([[666]])),
      batcher.submit(request([[1]])),
      batcher.submit(request([[2]])),
    ]);

    // Assert
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.any(ModelExecutionError) });
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
    expect(results[2]).toMatchObject({ status: 'fulfilled' });
    expect(seen.map((s) => s.ids?.dims[0])).toEqual([1, 2]);
    expect(batcher.stats().failedBatches).toBe(1);
    const reason = (results[0] as PromiseRejectedResult).reason as ModelExecutionError;
    expect(reason.message).toMatch(/model summer failed .*boom/);
    expect(reason.cause).toBeInstanceOf(Error);
  });

  it('runs queued requests at once when drained', async () => {
    // Arrange
    const batcher = new DynamicBatcher(spec, summer(), { maxBatchSize: 32, maxQueueDelayMs: 60_000 });
    const pending = batcher.submit(request([[7]]));

    // Act
    await batcher.drain();

    // Assert
    expect(sumOf(await pending)).toEqual([7]);
    expect(batcher.stats().queued).toBe(0);
  });

  it('refuses a non-positive maxBatchSize', () => {
    // Act / Assert
    expect(() => new DynamicBatcher(spec, summer(), { maxBatchSize: 0 })).toThrow(/maxBatchSize/);
  });
});
