/**
 * The inspector of every thread of this process, for the pipeline's profiling tools: the caller's
 * own session and each worker's, reached through it (the inspector's `NodeWorker` domain).
 * Code sent with `evaluate` runs as source in that thread, so it must be self-contained.
 */
import type { Session } from 'node:inspector/promises';
import { basename } from 'node:path';

/** One thread's inspector: the caller's own session, or a worker's reached through it. */
export interface Thread {
  name: string;
  post(method: string, params?: object): Promise<Record<string, unknown>>;
}

/** This thread (named `main`) and every worker running now, each with a way to send inspector commands. */
export async function attachThreads(session: Session, main = 'stack'): Promise<Thread[]> {
  const threads: Thread[] = [{ name: main, post: (m, p) => session.post(m, p) as never }];
  const replies = new Map<number, { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();
  let nextId = 1;
  session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
    const reply = JSON.parse(params.message) as { id?: number; result?: object; error?: { message: string } };
    const waiting = reply.id === undefined ? undefined : replies.get(reply.id);
    if (!waiting || reply.id === undefined) return;
    replies.delete(reply.id);
    if (reply.error) waiting.reject(new Error(reply.error.message));
    else waiting.resolve((reply.result ?? {}) as Record<string, unknown>);
  });
  session.on('NodeWorker.attachedToWorker', ({ params }) => {
    const { sessionId, workerInfo } = params;
    threads.push({
      name: basename(workerInfo.url, '.ts'),
      post: (method, p = {}) =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          replies.set(id, { resolve, reject });
          void session.post('NodeWorker.sendMessageToWorker', {
            sessionId,
            message: JSON.stringify({ id, method, params: p }),
          });
        }),
    });
  });
  await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  // Attachment events for running workers arrive right after enable.
  await new Promise((r) => setTimeout(r, 200));
  return threads;
}

/** Runs `expression` in `thread` and returns its value (JSON-able values only); throws what it throws. */
export async function evaluate(thread: Thread, expression: string): Promise<unknown> {
  const { result, exceptionDetails } = (await thread.post('Runtime.evaluate', {
    expression,
    returnByValue: true,
  })) as { result?: { value?: unknown }; exceptionDetails?: { exception?: { description?: string } } };
  if (exceptionDetails) {
    throw new Error(`in thread ${thread.name}: ${exceptionDetails.exception?.description ?? 'exception'}`);
  }
  return result?.value;
}

/** A request one of a thread's HTTP servers answered. */
export interface ServedRequest {
  /** When it reached the server and when its response was sent: ms on the clock threads share. */
  reached: number;
  answered: number;
  method: string;
  url: string;
  /** The AWS JSON protocols' operation header (DynamoDB, SQS), or ''. */
  target: string;
  thread: string;
}

/**
 * Records each request the thread's HTTP servers answer while `globalThis.benchTapOn`, in
 * `globalThis.benchServed`. Runs as source in each thread, so it is self-contained: no imports,
 * no closures, no named arrow functions (tsx wraps those in a helper the other thread lacks).
 */
function requestTap(): void {
  const g = globalThis as unknown as { benchServed?: unknown[]; benchTapOn?: boolean };
  if (g.benchServed) return;
  const served: unknown[] = [];
  g.benchServed = served;
  const http = process.getBuiltinModule('node:http');
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (g.benchTapOn && event === 'request') {
      const req = args[0] as { headers: Record<string, unknown>; method?: string; url?: string };
      const res = args[1] as { once(e: string, f: () => void): void };
      const reached = performance.timeOrigin + performance.now();
      res.once('finish', () =>
        served.push([
          reached,
          performance.timeOrigin + performance.now(),
          req.method ?? '',
          req.url ?? '',
          String(req.headers['x-amz-target'] ?? ''),
        ]),
      );
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof emit;
}

/** The request tap of every thread: off until `on()`; `take()` empties each thread's record. */
export interface RequestTap {
  on(): Promise<void>;
  off(): Promise<void>;
  /** The requests every thread has answered since the last take. */
  take(): Promise<ServedRequest[]>;
}

/** Installs the request tap in every thread. */
export async function tapRequests(threads: Thread[]): Promise<RequestTap> {
  for (const thread of threads) await evaluate(thread, `(${requestTap.toString()})()`);
  const turn = async (on: boolean) => {
    for (const thread of threads) await evaluate(thread, `globalThis.benchTapOn = ${on}`);
  };
  return {
    on: () => turn(true),
    off: () => turn(false),
    async take() {
      const all: ServedRequest[] = [];
      for (const thread of threads) {
        const served = (await evaluate(
          thread,
          'JSON.stringify(globalThis.benchServed.splice(0, globalThis.benchServed.length))',
        )) as string;
        for (const [reached, answered, method, url, target] of JSON.parse(served) as [
          number,
          number,
          string,
          string,
          string,
        ][])
          all.push({ reached, answered, method, url, target, thread: thread.name });
      }
      return all;
    },
  };
}
