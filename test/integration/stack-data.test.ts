/**
 * Where the local stack keeps its data: in the data folder's files by default, so that a later run
 * (`npm run replay`, a second `npm start --data-dir`) finds it; in memory with `persistData: false`,
 * as `npm start` runs on a folder of its own that goes with the command (local/s3-memory-store.ts).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalStack } from '#local/stack.ts';

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('the local stack’s data folder', () => {
  let dir: string;

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the objects and the tables by default, and nothing of them with persistData: false', async () => {
    // Arrange
    dir = await mkdtemp(join(tmpdir(), 'stack-data-'));
    const moderateOne = async (persistData: boolean | undefined, name: string) => {
      const stack = await startLocalStack({ dataDir: join(dir, name), persistData });
      try {
        const ref = await stack.upload(`data/${name}.txt`, Buffer.from('Thank you for the lovely dinner.'));
        const verdicts = await stack.waitForVerdicts([ref], { timeoutMs: 60_000 });
        return verdicts.get(ref);
      } finally {
        await stack.stop();
      }
    };

    // Act
    const kept = await moderateOne(undefined, 'kept');
    const inMemory = await moderateOne(false, 'memory');
    const keptFiles = await filesUnder(join(dir, 'kept'));
    const memoryFiles = await filesUnder(join(dir, 'memory'));

    // Assert
    expect(kept?.decision).toBe('allow');
    expect(inMemory?.decision).toBe('allow');
    expect(keptFiles.some((f) => f.startsWith('s3/') && f.includes('kept.txt'))).toBe(true);
    expect(keptFiles.some((f) => f.startsWith('dynamodb/'))).toBe(true);
    expect(memoryFiles).toEqual([]);
  }, 120_000);
});
