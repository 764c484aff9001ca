import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine, rateAndEta, startRunProgress } from '#cli/progress.ts';

/** A non-terminal stream that keeps what is written. */
function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

describe('run progress', () => {
  it('computes the rate since the start and the time left at that rate', () => {
    // Act
    const { perSec, etaS } = rateAndEta(250, 1000, 1000, 6000);

    // Assert
    expect(perSec).toBe(50);
    expect(etaS).toBe(15);
    expect(rateAndEta(0, 1000, 0, 1000).etaS).toBeUndefined();
  });

  it('writes plain lines at most once per interval when stderr is not a terminal, and a last one', () => {
    // Arrange
    const { stream, text } = capture();
    let now = 0;
    const progress = startRunProgress(100, { stream, lineIntervalMs: 5000, now: () => now });

    // Act
    now = 1000;
    progress.update(10, 40);
    now = 5000;
    progress.update(20, 60);
    now = 6000;
    progress.update(30, 100);
    now = 10_000;
    progress.update(100, 100);
    progress.stop();
    progress.stop();

    // Assert
    expect(text().split('\n').filter(Boolean)).toEqual([
      progressLine(20, 60, 100, 5000),
      progressLine(100, 100, 100, 10_000),
      progressLine(100, 100, 100, 10_000),
    ]);
    expect(progressLine(20, 60, 100, 5000)).toBe('moderated 20/100 (4.0/s, 60 uploaded, ETA 20 s)');
    expect(text()).not.toContain('\u001b[');
  });
});
