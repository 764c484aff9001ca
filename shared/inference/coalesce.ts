/**
 * Coalesces concurrent invocations of one model into one endpoint request. The records of an SQS
 * batch are moderated concurrently; without this each would send its own small request, and a
 * batch-1 request leaves a GPU about 1% busy (ARCHITECTURE.md). Calls made in the same event-loop
 * turn are concatenated along dim 0 (variable dims padded), sent once, and the outputs split back.
 */
import { concatBatch, sliceBatch } from './batching.ts';
import type { InferenceClient, InferenceResult, InvokeOptions } from './client.ts';
import type { Tensor } from './tensor-codec.ts';

export interface CoalescingOptions {
  /** Most items (dim 0, summed) in one request; larger groups are split. @default 64 */
  maxItems?: number;
  /**
   * How long the first call waits for others to join. Records of one SQS batch reach their model
   * calls a few ms apart (each has its own S3 read and decode); 0 merges only calls made in the
   * same event-loop turn. @default 2
   */
  windowMs?: number;
  /**
   * How many calls may come at most: once a model's queue holds that many it goes out without
   * waiting for the rest of the window (a lone record's call at once: it has nobody to wait for).
   * The moderate function passes the objects it is moderating (`createInFlight`). @default the
   * window alone decides
   */
  callers?: () => number;
  /** Fill value for an input's variable dims when padding (the manifest's padValue). @default 0 */
  padValue?: (model: string, input: string) => number;
}

interface Pending {
  inputs: Record<string, Tensor>;
  items: number;
  options?: InvokeOptions;
  resolve: (r: InferenceResult) => void;
  reject: (err: unknown) => void;
}

function itemsOf(inputs: Record<string, Tensor>): number {
  return Object.values(inputs)[0]?.dims[0] ?? 0;
}

/** Groups in arrival order, each within `maxItems` (a single oversized call stays whole). */
function chunk(pending: Pending[], maxItems: number): Pending[][] {
  const groups: Pending[][] = [];
  let current: Pending[] = [];
  let size = 0;
  for (const p of pending) {
    if (current.length && size + p.items > maxItems) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += p.items;
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Work in progress that may call the models: what `CoalescingOptions.callers` reads. */
export interface InFlight {
  count(): number;
  track<T>(work: () => Promise<T>): Promise<T>;
}

export function createInFlight(): InFlight {
  let active = 0;
  return {
    count: () => active,
    async track(work) {
      active++;
      try {
        return await work();
      } finally {
        active--;
      }
    },
  };
}

export function createCoalescingClient(
  inner: InferenceClient,
  options: CoalescingOptions = {},
): InferenceClient {
  const maxItems = options.maxItems ?? 64;
  const windowMs = options.windowMs ?? 2;
  /** Per model: the calls waiting, and the timer that ends their window. */
  const queues = new Map<string, { pending: Pending[]; timer?: NodeJS.Timeout }>();

  async function send(model: string, group: Pending[]): Promise<void> {
    const [only] = group;
    if (only && group.length === 1) {
      return inner.invoke(model, only.inputs, only.options).then(only.resolve, only.reject);
    }
    // A merged request serves several callers, so no single caller's abort signal may cancel it;
    // each caller's own signal still rejects that caller's promise (see invoke below).
    const names = Object.keys(group[0]?.inputs ?? {});
    const merged = Object.fromEntries(
      names.map((name) => {
        const parts = group.map((p) => p.inputs[name]).filter((t): t is Tensor => t !== undefined);
        return [name, concatBatch(parts, options.padValue?.(model, name) ?? 0)];
      }),
    );
    try {
      const result = await inner.invoke(model, merged);
      let row = 0;
      for (const p of group) {
        const outputs = Object.fromEntries(
          Object.entries(result.outputs).map(([name, t]) => [name, sliceBatch(t, row, row + p.items)]),
        );
        row += p.items;
        p.resolve({ model: result.model, outputs });
      }
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  }

  function flush(model: string): void {
    const queue = queues.get(model);
    if (!queue) return;
    queues.delete(model);
    clearTimeout(queue.timer);
    const { pending } = queue;
    // Calls with different input names can't share a tensor; group by their signature.
    const bySignature = new Map<string, Pending[]>();
    for (const p of pending) {
      const signature = Object.keys(p.inputs).sort().join(',');
      bySignature.set(signature, [...(bySignature.get(signature) ?? []), p]);
    }
    for (const same of bySignature.values()) {
      for (const group of chunk(same, maxItems)) void send(model, group);
    }
  }

  return {
    invoke(model, inputs, invokeOptions) {
      return new Promise<InferenceResult>((resolve, reject) => {
        const signal = invokeOptions?.abortSignal;
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        const entry = { inputs, items: itemsOf(inputs), options: invokeOptions, resolve, reject };
        let queue = queues.get(model);
        if (queue) queue.pending.push(entry);
        else {
          queue = { pending: [entry] };
          queues.set(model, queue);
        }
        // Everyone who may call is here: no reason to wait. Still one turn, so calls made in this
        // turn join (setImmediate), as with no window.
        const everyone = options.callers !== undefined && queue.pending.length >= options.callers();
        if (queue.pending.length === 1 || everyone) {
          clearTimeout(queue.timer);
          const later = () => flush(model);
          if (windowMs > 0 && !everyone) queue.timer = setTimeout(later, windowMs);
          else setImmediate(later);
        }
      });
    },
  };
}
