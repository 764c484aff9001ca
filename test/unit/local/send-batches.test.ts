import { describe, expect, it } from 'vitest';
import { sendBatches } from '#local/stack.ts';

describe('sendBatches (S3 notifications to the ingest queue)', () => {
  it('keeps every body, in order, in batches of at most 10', () => {
    // Arrange
    const bodies = Array.from({ length: 23 }, (_, i) => `{"n":${i}}`);

    // Act
    const batches = sendBatches(bodies);

    // Assert
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat()).toEqual(bodies);
  });

  it('starts a new batch before 256 KiB in all, and lets one large body go alone', () => {
    // Arrange
    const big = 'x'.repeat(150 * 1024);
    const huge = 'y'.repeat(300 * 1024);

    // Act
    const batches = sendBatches([big, big, 'small', huge]);

    // Assert
    expect(batches.map((b) => b.length)).toEqual([1, 2, 1]);
    expect(batches.flat()).toEqual([big, big, 'small', huge]);
  });
});
