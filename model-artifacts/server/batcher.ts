/**
 * Dynamic batching for one model. A batch-1 request leaves a GPU about 1% busy, so concurrent
 * requests queue up and run together: a batch starts when `maxBatchSize` items (dim 0, summed over
 * requests) are queued or when the oldest request has waited `maxQueueDelayMs`. Variable
 * dimensions (symbolic, non-batch, e.g. 'tokens') are padded to the longest in the batch with the
 * input's `padValue`; the model must treat padding as absent (docs/CONTRACTS.md).
 *
 * One batch runs at a time per model: onnxruntime-node runs a session synchronously on the main
 * thread, so while a batch runs, the next one fills up. After a run the batcher yields one event-loop
 * turn before forming the next batch, so requests whose bytes arrived during the (blocking) run are
 * parsed and join it instead of waiting for the batch after.
 *
 * The default delay is 0, as in Triton's dynamic batcher: an idle model runs a request at once (no
 * added latency at low load) and batches form from what queues while the model is busy. A delay
 * buys larger batches at low load for latency (bench/run.ts measures both; see BENCHMARKS.md).
 */

import { concatBatch, sliceBatch } from '#shared/inference/batching.ts';
import type { InputSpec, OutputSpec } from '#shared/inference/manifest.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { InferenceServerError, ModelExecutionError } from './errors.ts';

export interface BatchingOptions {
  /** Most items (summed along dim 0) in one model run. @default 32 */
  maxBatchSize: number;
  /** Longest a request waits for others before its batch runs anyway. @default 0 */
  maxQueueDelayMs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 32, maxQueueDelayMs: 0 };

export interface BatcherSpec {
  /** Model name, for error messages. */
  name: string;
  inputs: readonly InputSpec[];
  outputs: readonly OutputSpec[];
}

/** Runs the model once on already-batched inputs. */
export type RunBatch = (inputs: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

export interface BatcherStats {
  /** Requests submitted (a request larger than maxBatchSize counts once). */
  requests: number;
  /** Items (dim 0) run through the model. */
  items: number;
  /** Model runs. */
  batches: number;
  /** Model runs that failed. */
  failedBatches: number;
  /** Largest batch run, in items. */
  maxBatchItems: number;
  /** Histogram: items in a batch → number of batches of that size. */
  itemsPerBatch: Record<number, number>;
  /** Requests waiting now. */
  queued: number;
}

interface Pending {
  inputs: Record<string, Tensor>;
  items: number;
  enqueuedAt: number;
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (err: unknown) => void;
}

function batchSize(inputs: Record<string, Tensor>): number {
  const first = Object.values(inputs)[0];
  if (!first || first.dims.length === 0) throw new InferenceServerError('a request needs batched inputs');
  return first.dims[0] ?? 0;
}

/** Queues requests for one model and runs them in batches. Inputs must be validated beforehand. */
export class DynamicBatcher {
  readonly options: BatchingOptions;
  readonly #spec: BatcherSpec;
  readonly #run: RunBatch;
  readonly #queue: Pending[] = [];
  #queuedItems = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;
  #idle: (() => void)[] = [];
  readonly #stats: Omit<BatcherStats, 'queued'> = {
    requests: 0,
    items: 0,
    batches: 0,
    failedBatches: 0,
    maxBatchItems: 0,
    itemsPerBatch: {},
  };

  constructor(spec: BatcherSpec, run: RunBatch, options: Partial<BatchingOptions> = {}) {
    this.options = { ...DEFAULT_BATCHING, ...options };
    const { maxBatchSize, maxQueueDelayMs } = this.options;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw new InferenceServerError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    }
    if (!Number.isFinite(maxQueueDelayMs) || maxQueueDelayMs < 0) {
      throw new InferenceServerError(`maxQueueDelayMs must be a non-negative number, got ${maxQueueDelayMs}`);
    }
    this.#spec = spec;
    this.#run = run;
  }

  stats(): BatcherStats {
    return {
      ...this.#stats,
      itemsPerBatch: { ...this.#stats.itemsPerBatch },
      queued: this.#queue.length,
    };
  }

  /**
   * Queues one request (dim 0 may hold several items) and resolves with its rows of each output.
   * A request larger than maxBatchSize is run in maxBatchSize chunks whose outputs are rejoined.
   */
  async submit(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const items = batchSize(inputs);
    this.#stats.requests++;
    const max = this.options.maxBatchSize;
    if (items <= max) return this.#enqueue(inputs, items);
    const chunks: Promise<Record<string, Tensor>>[] = [];
    for (let start = 0; start < items; start += max) {
      const end = Math.min(start + max, items);
      const chunk = Object.fromEntries(
        Object.entries(inputs).map(([k, t]) => [k, sliceBatch(t, start, end)]),
      );
      chunks.push(this.#enqueue(chunk, end - start));
    }
    const results = await Promise.all(chunks);
    return Object.fromEntries(
      this.#spec.outputs.map((o) => [o.name, concatBatch(results.map((r) => r[o.name] as Tensor))]),
    );
  }

  /** Runs everything queued without waiting for the delay; resolves when the batcher is idle. */
  drain(): Promise<void> {
    this.#flushing = true;
    this.#schedule();
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #enqueue(inputs: Record<string, Tensor>, items: number): Promise<Record<string, Tensor>> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ inputs, items, enqueuedAt: performance.now(), resolve, reject });
      this.#queuedItems += items;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running) return;
    const oldest = this.#queue[0];
    if (!oldest) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    const waited = performance.now() - oldest.enqueuedAt;
    const { maxBatchSize, maxQueueDelayMs } = this.options;
    if (this.#flushing || this.#queuedItems >= maxBatchSize || waited >= maxQueueDelayMs) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#runNext();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, maxQueueDelayMs - waited);
    }
  }

  async #runNext(): Promise<void> {
    // FIFO, greedy: take requests while they fit; the first one always goes (it fits by construction).
    const batch: Pending[] = [];
    let items = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Pending;
      if (batch.length > 0 && items + next.items > this.options.maxBatchSize) break;
      this.#queue.shift();
      batch.push(next);
      items += next.items;
    }
    this.#queuedItems -= items;
    this.#running = true;
    try {
      await this.#execute(batch, items);
    } finally {
      // Still "running" for one turn: the poll phase reads what arrived during the run, and those
      // requests queue up for the next batch instead of a lone one starting ahead of them.
      setImmediate(() => {
        this.#running = false;
        this.#schedule();
      });
    }
  }

  async #execute(batch: Pending[], items: number): Promise<void> {
    const stats = this.#stats;
    stats.batches++;
    stats.items += items;
    stats.maxBatchItems = Math.max(stats.maxBatchItems, items);
    stats.itemsPerBatch[items] = (stats.itemsPerBatch[items] ?? 0) + 1;
    try {
      const only = batch.length === 1 ? batch[0] : undefined;
      const feeds = only
        ? only.inputs
        : Object.fromEntries(
            this.#spec.inputs.map((spec) => [
              spec.name,
              concatBatch(
                batch.map((p) => p.inputs[spec.name] as Tensor),
                spec.padValue ?? 0,
              ),
            ]),
          );
      const outputs = await this.#run(feeds);
      for (const spec of this.#spec.outputs) {
        const out = outputs[spec.name];
        if (!out) throw new ModelExecutionError(`model ${this.#spec.name} returned no output ${spec.name}`);
        if (out.dims[0] !== items) {
          throw new ModelExecutionError(
            `model ${this.#spec.name} output ${spec.name} has ${out.dims[0]} rows for a batch of ${items}`,
          );
        }
      }
      let row = 0;
      for (const p of batch) {
        const mine = Object.fromEntries(
          this.#spec.outputs.map((spec) => [
            spec.name,
            sliceBatch(outputs[spec.name] as Tensor, row, row + p.items),
          ]),
        );
        row += p.items;
        p.resolve(mine);
      }
    } catch (err) {
      stats.failedBatches++;
      const error =
        err instanceof InferenceServerError
          ? err
          : new ModelExecutionError(
              `model ${this.#spec.name} failed on a batch of ${items} items from ${batch.length} requests: ${(err as Error).message}`,
              { cause: err },
            );
      for (const p of batch) p.reject(error);
    }
  }
}
