/**
 * Parts of the local stack in threads of their own. Locally the emulators, the inference server and
 * the functions are all CPU-bound JavaScript; in one thread they take turns on one core and a slow
 * request of one (an s3rver PUT) holds up every other (docs/PERFORMANCE.md, "Local pipeline: where
 * the time goes"). In threads, they run side by side on the machine's cores and talk only over
 * their wire protocols, as on AWS. `startLocalThread` runs a module that calls `runInThread`.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/** An error as it crosses the thread: SDK errors hold values structured clone refuses. */
interface ErrorCopy {
  name: string;
  message: string;
  stack?: string;
}

/** Thread → stack. */
type ThreadMessage<Ready, Event> =
  | { type: 'ready'; ready: Ready }
  | { type: 'event'; event: Event }
  | { type: 'error'; error: ErrorCopy }
  | { type: 'stopped' };

/** Stack → thread. `start` carries the part's data and the environment it starts in. */
type ThreadCommand<Data = unknown> =
  | { type: 'start'; data: Data; env: NodeJS.ProcessEnv }
  | { type: 'stop' }
  | { type: 'exit' };

/** What the thread's module starts, and how the stack stops it. */
export interface ThreadPart<Ready> {
  /** Sent to the stack once the part serves (its URL, say). */
  ready: Ready;
  stop(): Promise<unknown>;
}

export interface ThreadChannel<Event> {
  /** Something the stack should know (an S3 event); delivered in order. */
  emit(event: Event): void;
  /** What the stack's `onError` should get. */
  error(err: unknown): void;
}

export interface LocalThread<Ready> {
  ready: Ready;
  /** Stops the part (its own `stop`), then the thread. */
  stop(): Promise<void>;
  /**
   * Ends the thread at once, work in flight dropped, for a process about to exit. The thread exits
   * itself, between two of its tasks: a thread stopped from outside (`worker.terminate()`, or the
   * process's exit) in the middle of a native call that returns into JavaScript, such as
   * onnxruntime's synchronous `run` under the VAD, aborts the whole process (node-addon-api throws
   * `Napi::Error` in the stopping environment, and nothing catches it). Resolves when it has gone;
   * a thread stuck in synchronous code never reads the request, so callers bound the wait.
   */
  exit(): Promise<void>;
}

export interface LocalThreadOptions<Event> {
  onEvent?: (event: Event) => void;
  onError?: (err: unknown) => void;
}

function copyError(err: unknown): ErrorCopy {
  return err instanceof Error
    ? { name: err.name, message: err.message, stack: err.stack }
    : { name: 'Error', message: String(err) };
}

function toError(copy: ErrorCopy): Error {
  const err = new Error(copy.message);
  err.name = copy.name;
  if (copy.stack) err.stack = copy.stack;
  return err;
}

/**
 * The thread loads TypeScript through tsx's loader, whatever loaded this module (tsx, vitest):
 * its `import` export is the loader `--import tsx` registers.
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Runs `module` (which calls `runInThread`) in a new thread. The thread starts at once and loads
 * its module while `data` may still be on its way (a promise: the stack's emulators starting); the
 * part starts when it arrives, with this process's environment as it is then. Resolves once the
 * part is ready; rejects if the thread fails first, or with `data`'s reason once the thread, told
 * to exit, has gone.
 */
export function startLocalThread<Data, Ready, Event = never>(
  module: URL,
  data: Data | Promise<Data>,
  { onEvent, onError }: LocalThreadOptions<Event> = {},
): Promise<LocalThread<Ready>> {
  const worker = new Worker(module, { execArgv: ['--import', TSX_LOADER] });
  const command = (c: ThreadCommand<Data>) => worker.postMessage(c);
  let stopped: (() => void) | undefined;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    /** Set when `data` failed: the thread was told to exit, and its exit rejects with this. */
    let dataFailure: { reason: unknown } | undefined;
    exited.then((code) =>
      reject(
        dataFailure
          ? dataFailure.reason
          : new Error(`${module.pathname} exited (code ${code}) before it was ready`),
      ),
    );
    Promise.resolve(data).then(
      (value) => command({ type: 'start', data: value, env: { ...process.env } }),
      (reason: unknown) => {
        dataFailure = { reason };
        command({ type: 'exit' });
      },
    );
    worker.on('message', (message: ThreadMessage<Ready, Event>) => {
      if (message.type === 'event') onEvent?.(message.event);
      else if (message.type === 'error') onError?.(toError(message.error));
      else if (message.type === 'stopped') stopped?.();
      else {
        worker.off('error', reject);
        // Once it serves, a crash of the thread is the stack's error, as a failed invocation would be.
        worker.on('error', (err) => onError?.(err));
        resolve({
          ready: message.ready,
          async stop() {
            const done = new Promise<void>((r) => {
              stopped = r;
            });
            command({ type: 'stop' });
            // A thread that died already has nothing to stop.
            await Promise.race([done, exited]);
            // The part has stopped, so the thread is idle: terminating it cuts no native call.
            await worker.terminate();
          },
          async exit() {
            command({ type: 'exit' });
            await exited;
          },
        });
      }
    });
  });
}

/**
 * The thread's side: starts the part when the stack's `data` arrives, in the stack's environment as
 * it was sent (the thread's own copy of process.env is made to match it), and stops it when told.
 */
export function runInThread<Data, Ready, Event = never>(
  start: (data: Data, channel: ThreadChannel<Event>) => Promise<ThreadPart<Ready>>,
): void {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('this module runs in a thread started by startLocalThread');
  const post = (message: ThreadMessage<Ready, Event>) => port.postMessage(message);
  const channel: ThreadChannel<Event> = {
    emit: (event) => post({ type: 'event', event }),
    error: (err) => post({ type: 'error', error: copyError(err) }),
  };
  let part: Promise<ThreadPart<Ready>> | undefined;
  port.on('message', async (command: ThreadCommand<Data>) => {
    // In a worker, process.exit ends only this thread; run from a message, it cuts no native call.
    if (command.type === 'exit') process.exit(0);
    if (command.type === 'start') {
      for (const name of Object.keys(process.env)) if (!(name in command.env)) delete process.env[name];
      Object.assign(process.env, command.env);
      // A start that fails is an unhandled rejection: it ends the thread with the reason, which
      // startLocalThread rejects with.
      part = start(command.data, channel);
      post({ type: 'ready', ready: (await part).ready });
    }
    if (command.type === 'stop' && part) {
      await (await part).stop().catch((err: unknown) => channel.error(err));
      post({ type: 'stopped' });
      port.close();
    }
  });
}
