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
