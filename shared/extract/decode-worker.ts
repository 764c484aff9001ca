/**
 * The killable image decoder: animated and large images are decoded in a child Node process, so a
 * decode that runs past its time budget is stopped with SIGKILL rather than left running.
 *
 * Why a process and not a `worker_threads` Worker: sharp's work runs in native code on the process's
 * libuv thread pool and libvips' own threads, which `worker.terminate()` cannot interrupt — measured:
 * terminating a Worker one second into a 10 s decode resolved only after the decode had finished,
 * 10.4 s later. A killed process takes its threads with it.
 *
 * The child's program is a string (run with `node -e`), so the Lambda bundle needs no second entry
 * point; it loads the same sharp the function does. Children are kept and reused (at most
 * `maxProcesses` at once, jobs queue beyond that); a killed or crashed one is replaced on demand.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { ModerationError, RetryableError } from '#shared/domain/errors.ts';
import { currentDeadline } from '#shared/retry/deadline.ts';

/** One image's decode: the pages to produce, at the image model's size and (for OCR) at `ocrMaxSide`. */
export interface DecodeJob {
  bytes: Uint8Array;
  /** Pages to decode, in order. */
  pages: readonly number[];
  /** Side of the image model's square input. */
  size: number;
  /** Also return each page as RGB scaled to fit this side, for OCR; 0 for none. */
  ocrMaxSide: number;
  /** Pixels of one frame (the decoder refuses larger ones before decoding). */
  maxPixels: number;
  /** Pixels decoded over all pages; checked again, page by page, from each page's own header. */
  maxDecodedPixels: number;
  /** Whether reaching page N decodes pages 0..N-1 (GIF, WebP). */
  sequential: boolean;
}

/** A decoded page: the model tensor and, when asked for, the frame OCR reads. */
export interface DecodedPage {
  page: number;
  /** RGB uint8, [size, size, 3]. */
  pixels: Uint8Array;
  ocr?: { data: Uint8Array; width: number; height: number; channels: 3 };
}

export interface DecodeResult {
  pages: DecodedPage[];
  decodedPixels: number;
  /** Wall and CPU time of the decode in the child. */
  ms: number;
  cpuMs: number;
}

type Reply =
  | ({ ok: true } & DecodeResult)
  | { ok: false; message: string; kind: 'budget' | 'pixels' | 'decode' }
  | { ready: true };

/**
 * The child's program (CommonJS, `node -e`, sharp's path as its argument). One libvips thread: the
 * decode's CPU time is then at most its wall time, so the time limit bounds CPU too.
 */
const CHILD_SOURCE = `
'use strict';
const sharp = require(process.argv[1]);
sharp.concurrency(1);
sharp.cache(false);
process.on('disconnect', () => process.exit(0));
function fail(kind, message) { const e = new Error(message); e.kind = kind; return e; }
async function decode(job) {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const pages = [];
  let decodedPixels = 0;
  for (const page of job.pages) {
    const meta = await sharp(job.bytes, { page }).metadata();
    const framePixels = (meta.width || 0) * (meta.height || 0);
    if (framePixels > job.maxPixels) {
      throw fail('pixels', 'page ' + page + ' is ' + meta.width + '×' + meta.height + ' = ' + framePixels + ' pixels, over the ' + job.maxPixels + '-pixel limit');
    }
    decodedPixels += (job.sequential ? page + 1 : 1) * framePixels;
    if (decodedPixels > job.maxDecodedPixels) {
      throw fail('budget', 'reaching page ' + page + ' decodes ' + decodedPixels + ' pixels, over the ' + job.maxDecodedPixels + '-pixel decode budget');
    }
    const frame = sharp(job.bytes, { page, animated: false, limitInputPixels: job.maxPixels, failOn: 'truncated' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .toColourspace('srgb');
    if (job.ocrMaxSide > 0) {
      const side = job.ocrMaxSide;
      const { data, info } = await frame.resize(side, side, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
      const raw = { width: info.width, height: info.height, channels: info.channels };
      const pixels = await sharp(data, { raw }).resize(job.size, job.size, { fit: 'fill' }).raw().toBuffer();
      pages.push({ page, pixels, ocr: { data, width: info.width, height: info.height, channels: info.channels } });
    } else {
      pages.push({ page, pixels: await frame.resize(job.size, job.size, { fit: 'fill' }).raw().toBuffer() });
    }
  }
  const used = process.cpuUsage(cpu);
  return { ok: true, pages, decodedPixels, ms: Date.now() - started, cpuMs: (used.user + used.system) / 1000 };
}
process.on('message', (job) => {
  decode(job).then(
    (reply) => process.send(reply),
    (err) => {
      const message = String((err && err.message) || err);
      const kind = err && err.kind ? err.kind : /pixel limit/i.test(message) ? 'pixels' : 'decode';
      process.send({ ok: false, kind, message });
    },
  );
});
process.send({ ready: true });
`;

const SHARP_PATH = createRequire(import.meta.url).resolve('sharp');
/** A child that has not loaded sharp by then is a broken environment, not a bad upload. */
const START_TIMEOUT_MS = 15_000;
/** Time kept back from the invocation's deadline to record the verdict (as the model-call retries do). */
const DEADLINE_RESERVE_MS = 3_000;

/** One child process, one job at a time. */
class DecoderProcess {
  private constructor(private readonly child: ChildProcess) {
    // Failures show up as the job's exit or send error; an 'error' event with no listener would throw.
    child.on('error', () => child.kill('SIGKILL'));
  }

  /** Spawns a child and waits until it has loaded sharp. */
  static start(): Promise<DecoderProcess> {
    const { NODE_OPTIONS: _loaders, ...env } = process.env; // no tsx/vitest loaders in the child
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE, SHARP_PATH], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
      env,
    });
    // An idle decoder never keeps the process alive; a running job's timer does.
    child.unref();
    child.channel?.unref();
    return new Promise((resolve, reject) => {
      const settle = (err?: Error) => {
        clearTimeout(timer);
        child.off('error', settle).off('exit', exited).off('message', ready);
        if (!err) return resolve(new DecoderProcess(child));
        child.kill('SIGKILL');
        reject(err);
      };
      const exited = (code: number | null, signal: string | null) =>
        settle(new Error(`image decoder exited at start (${signal ?? code})`));
      const ready = (m: Reply) =>
        settle('ready' in m ? undefined : new Error('image decoder sent no ready message'));
      const timer = setTimeout(
        () => settle(new Error(`image decoder did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.on('error', settle).on('exit', exited).on('message', ready);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    const { child } = this;
    return !child.killed && child.exitCode === null && child.signalCode === null && child.connected;
  }

  /**
   * Runs one job. At `timeoutMs` the child is killed and `onTimeout()` is what the job rejects with;
   * a child that dies on its own while decoding is the upload's fault (a decoder crash).
   */
  run(job: DecodeJob, timeoutMs: number, onTimeout: () => Error): Promise<DecodeResult> {
    const { child } = this;
    return new Promise((resolve, reject) => {
      const settle = (err: Error | undefined, result?: DecodeResult) => {
        clearTimeout(timer);
        child.off('exit', exited).off('message', replied);
        if (err) reject(err);
        else resolve(result as DecodeResult);
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(onTimeout());
      }, timeoutMs);
      const exited = (code: number | null, signal: string | null) =>
        settle(
          new ModerationError(
            'IMAGE_DECODE_FAILED',
            `the image decoder exited (${signal ?? code}) while decoding the image`,
          ),
        );
      const replied = (m: Reply) => {
        if ('ready' in m) settle(new Error('image decoder sent a second ready message'));
        else if (m.ok) settle(undefined, m);
        else if (m.kind === 'budget') settle(new ModerationError('DECODE_BUDGET_EXCEEDED', m.message));
        else if (m.kind === 'pixels') settle(new ModerationError('IMAGE_TOO_MANY_PIXELS', m.message));
        else settle(new ModerationError('IMAGE_DECODE_FAILED', `image could not be decoded: ${m.message}`));
      };
      child.on('exit', exited).on('message', replied);
      child.send({ ...job, bytes: ownBuffer(job.bytes) }, (err) => {
        if (!err) return;
        child.kill('SIGKILL');
        settle(err);
      });
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The structured clone of a view copies its whole ArrayBuffer: send only the image's own bytes. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

export interface DecodeOptions {
  /** The decode's time budget; the child is killed at it (`DECODE_BUDGET_EXCEEDED`). */
  timeoutMs: number;
}

/** Decoder processes, reused across uploads; at most `maxProcesses` decode at once. */
export class DecodePool {
  private readonly idle: DecoderProcess[] = [];
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly all = new Set<DecoderProcess>();
  /** Children killed at their time limit since the pool was made. */
  kills = 0;

  constructor(private readonly maxProcesses = 2) {}

  /**
   * Decodes within `timeoutMs`, capped by the invocation's deadline: a decode cut short by the
   * deadline rather than its own budget is retried (`RetryableError`), not blamed on the upload.
   */
  async decode(job: DecodeJob, { timeoutMs }: DecodeOptions): Promise<DecodeResult> {
    await this.acquire();
    try {
      const remaining = currentDeadline()?.remainingMs();
      const cap = remaining === undefined ? Infinity : remaining - DEADLINE_RESERVE_MS;
      if (cap <= 0) throw new RetryableError('no time left in the invocation to decode the image');
      const decoder = this.takeIdle() ?? (await this.spawn());
      const limit = Math.min(timeoutMs, cap);
      const onTimeout = () => {
        this.kills++;
        return limit === timeoutMs
          ? new ModerationError(
              'DECODE_BUDGET_EXCEEDED',
              `decoding ${job.pages.length} frames of the image took longer than the ${timeoutMs} ms decode time budget (decoder killed)`,
            )
          : new RetryableError(`the invocation's deadline came ${limit} ms into decoding the image`);
      };
      try {
        return await decoder.run(job, limit, onTimeout);
      } finally {
        if (decoder.alive) this.idle.push(decoder);
        else this.all.delete(decoder);
      }
    } finally {
      this.release();
    }
  }

  /** A decode slot: at most `maxProcesses` run at once; a freed slot goes to the longest waiter. */
  private async acquire(): Promise<void> {
    if (this.running < this.maxProcesses) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** Process ids of the live decoders (tests check that a killed one is gone). */
  pids(): number[] {
    return [...this.all].flatMap((d) => (d.alive && d.pid !== undefined ? [d.pid] : []));
  }

  /** Kills every decoder; the pool starts new ones if used again. */
  close(): void {
    for (const d of this.all) d.kill();
    this.all.clear();
    this.idle.length = 0;
  }

  /** An idle decoder that is still alive (one may have died while idle). */
  private takeIdle(): DecoderProcess | undefined {
    for (let d = this.idle.pop(); d; d = this.idle.pop()) {
      if (d.alive) return d;
      this.all.delete(d);
    }
    return undefined;
  }

  private async spawn(): Promise<DecoderProcess> {
    const decoder = await DecoderProcess.start();
    this.all.add(decoder);
    return decoder;
  }
}

/** The function's decoders: created on the first animated or large image, reused by every later one. */
export const imageDecoders = new DecodePool();
