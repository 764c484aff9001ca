/**
 * A hard deadline for a command whose work runs in its own process (the CLI runs the local stack
 * and the handler in-process). At the deadline the command prints what it has and exits, whatever
 * that work is doing. The main thread's timer covers work that waits (a decode holding the thread
 * pool, a poll that never returns); a watchdog thread covers a main thread stuck in synchronous
 * code, where no timer can fire: shortly after the deadline it prints the last output it was given
 * and kills the process.
 */
import { Worker } from 'node:worker_threads';

export interface HardDeadlineOptions {
  /** The deadline, in `performance.now()` time (milliseconds since the process started). */
  atMs: number;
  /** How long after the deadline the watchdog waits for the main thread to print. */
  watchdogGraceMs: number;
  /** How long after that the watchdog waits for the process to exit before it kills it. */
  exitGraceMs: number;
  /** Printed by the watchdog if the main thread cannot print; kept current with `fallback`. */
  output: string;
  /** Folders the watchdog removes before it kills the process (the emulators' temporary data). */
  cleanup: string[];
}

export interface HardDeadline {
  /** Milliseconds left until the deadline (0 when it has passed). */
  remaining(): number;
  /** Resolves when the deadline passes. */
  readonly reached: Promise<void>;
  /** Replaces what the watchdog prints if it has to. */
  fallback(output: string): void;
  /** The right to print the output: true the first time, false when the watchdog has printed it. */
  claimOutput(): boolean;
  /** Clears the main thread's timer (the watchdog never keeps the process alive). */
  dispose(): void;
}

// Plain JavaScript, run with `eval`, so the watchdog needs no TypeScript loader.
const WATCHDOG = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync, rmSync } = require('node:fs');
const printed = new Int32Array(workerData.printed);
let output = workerData.output;
parentPort.on('message', (next) => { output = next; });
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd, text) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) {
    try { at += writeSync(fd, bytes, at); }
    catch (err) { if (err.code !== 'EAGAIN') return; Atomics.wait(pause, 0, 0, 5); }
  }
}
function kill() {
  for (const dir of workerData.cleanup) { try { rmSync(dir, { recursive: true, force: true }); } catch {} }
  process.kill(process.pid, 'SIGKILL');
}
const delay = Math.max(0, workerData.printAt - Date.now());
setTimeout(() => {
  if (Atomics.compareExchange(printed, 0, 0, 1) === 0) {
    writeAll(1, output);
    writeAll(2, 'deadline: the pipeline did not let go; printed the verdicts it had and stopped it\\n');
    kill();
  }
  setTimeout(kill, workerData.exitGraceMs);
}, delay);
`;

export function startHardDeadline(options: HardDeadlineOptions): HardDeadline {
  const printed = new SharedArrayBuffer(4);
  const flag = new Int32Array(printed);
  const remaining = () => Math.max(0, options.atMs - performance.now());
  const watchdog = new Worker(WATCHDOG, {
    eval: true,
    // Plain JavaScript: no loader (tsx) to start, so the watchdog is up in milliseconds.
    execArgv: [],
    workerData: {
      printed,
      output: options.output,
      cleanup: options.cleanup,
      // The worker has a clock of its own: hand it wall-clock time.
      printAt: Date.now() + remaining() + options.watchdogGraceMs,
      exitGraceMs: options.exitGraceMs,
    },
  });
  watchdog.unref();
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, remaining());
  });
  return {
    remaining,
    reached,
    fallback: (output) => watchdog.postMessage(output),
    claimOutput: () => Atomics.compareExchange(flag, 0, 0, 1) === 0,
    dispose: () => clearTimeout(timer),
  };
}
