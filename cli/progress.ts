/**
 * Progress of a large run on stderr (stdout carries the verdicts and nothing else): a live bar
 * (count, rate, ETA) when stderr is a terminal, else one plain line every few seconds, so a CI log
 * gets a readable record instead of a screenful of redraw sequences.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface RunProgress {
  /** The counts so far: verdicts found, and objects uploaded (the pipeline's input). */
  update(done: number, uploaded: number): void;
  /** Draws the last state and leaves the terminal as it was; later calls do nothing. */
  stop(): void;
}

export interface RunProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Between two plain lines when the stream is not a terminal. @default 5000 */
  lineIntervalMs?: number;
  /** @default performance.now */
  now?: () => number;
}

/** Items per second since `startedMs`, and the seconds left at that rate (undefined before any). */
export function rateAndEta(
  done: number,
  total: number,
  startedMs: number,
  nowMs: number,
): { perSec: number; etaS: number | undefined } {
  const seconds = Math.max(1e-3, (nowMs - startedMs) / 1000);
  const perSec = done / seconds;
  return { perSec, etaS: perSec > 0 ? (total - done) / perSec : undefined };
}

/** `moderated 1234/10000 (85.2/s, 2180 uploaded, ETA 103 s)` */
export function progressLine(done: number, uploaded: number, total: number, elapsedMs: number): string {
  const { perSec, etaS } = rateAndEta(done, total, 0, elapsedMs);
  const eta = etaS === undefined ? 'ETA -' : `ETA ${Math.ceil(etaS)} s`;
  const up = uploaded < total ? `, ${uploaded} uploaded` : '';
  return `moderated ${done}/${total} (${perSec.toFixed(1)}/s${up}, ${eta})`;
}

export function startRunProgress(total: number, options: RunProgressOptions = {}): RunProgress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const started = now();
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format: 'moderating [{bar}] {value}/{total} | {rate}/s | {uploaded} uploaded | ETA {eta_formatted}',
        hideCursor: true,
        // The ETA over the last 500 updates (one per verdict) rather than cli-progress's 10,
        // which swings with every SQS batch.
        etaBuffer: 500,
        fps: 5,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', uploaded: 0 });
    return {
      update(done, uploaded) {
        const { perSec } = rateAndEta(done, total, started, now());
        bar.update(done, { rate: perSec.toFixed(1), uploaded });
      },
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.lineIntervalMs ?? 5_000;
  let last = { done: 0, uploaded: 0 };
  let lastLineAt = started;
  let stopped = false;
  const line = () => stream.write(`${progressLine(last.done, last.uploaded, total, now() - started)}\n`);
  return {
    update(done, uploaded) {
      last = { done, uploaded };
      if (stopped || now() - lastLineAt < intervalMs) return;
      lastLineAt = now();
      line();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      line();
    },
  };
}
