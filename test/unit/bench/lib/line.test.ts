import { describe, expect, it } from 'vitest';
import { lineProblems } from '#bench/lib/line.ts';
import { paired, quantile } from '#bench/lib/measure.ts';
import { BEGIN, describeMachine, END, markdown, spliceResults } from '#bench/lib/report.ts';

describe('bench helpers', () => {
  it('interpolates quantiles between ranks', () => {
    // Act / Assert
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30], 0.99)).toBeCloseTo(29.8, 6);
    expect(quantile([7], 0.99)).toBe(7);
  });

  it('pairs repetitions and takes the median ratio', async () => {
    // Arrange: baseline 100 then 50; measured 80 then 45 → ratios 0.8, 0.9
    const base = [100, 50];
    const meas = [80, 45];

    // Act
    const r = await paired(
      2,
      async () => ({ items: 10, itemsPerSec: base.shift() as number, cpuMsPerItem: 1 }),
      async () => ({ items: 10, itemsPerSec: meas.shift() as number, cpuMsPerItem: 2 }),
    );

    // Assert
    expect(r.ratio).toBeCloseTo(0.85, 6);
    expect(r.itemsPerSec).toBe(62.5);
    expect(r.cpuRatio).toBe(2);
  });

  it('rejects malformed lines', () => {
    // Act / Assert
    expect(lineProblems({ name: 'a', itemsPerSec: 10, baselineItemsPerSec: 20, ratio: 0.5 })).toEqual([]);
    expect(lineProblems({ name: 'a', itemsPerSec: null, value: 3, unit: 'ms' })).toEqual([]);
    expect(lineProblems({ name: 'a', itemsPerSec: 10, ratio: 0.5 })).toContain(
      'baselineItemsPerSec and ratio come together',
    );
    expect(lineProblems({ name: 'a', itemsPerSec: 10, p50Ms: 9, p99Ms: 3 })).toContain(
      'p99Ms is below p50Ms',
    );
    expect(lineProblems({ name: '', itemsPerSec: 'fast' })).toHaveLength(2);
  });

  it('replaces only the generated section of BENCHMARKS.md', () => {
    // Arrange
    const doc = `# B\n\nintro\n\n${BEGIN}\nold\n${END}\n\n## Analysis\nkept\n`;

    // Act
    const out = spliceResults(doc, 'new table');

    // Assert
    expect(out).toContain('intro');
    expect(out).toContain('## Analysis\nkept');
    expect(out).toContain('new table');
    expect(out).not.toContain('old');
  });

  it('names the wire of each inference row, so the JSON comparison rows read apart', () => {
    // Arrange
    const line = (wire: string, ratio: number) => ({
      name: 'inference/image-nsfw/server-vs-raw/batch=1',
      itemsPerSec: 100,
      baselineItemsPerSec: 150,
      ratio,
      batch: 1,
      wire,
    });

    // Act
    const table = markdown(
      [line('application/vnd.moderation.tensors', 0.65), line('application/json', 0.36)],
      describeMachine(),
      'npm run bench',
    );

    // Assert
    expect(table).toContain('| image-nsfw | batch 1, sequential | binary | 100 | 150 | 0.65 |');
    expect(table).toContain('| image-nsfw | batch 1, sequential | JSON | 100 | 150 | 0.36 |');
  });
});
