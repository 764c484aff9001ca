/**
 * The local stack's start when a part fails: the parts start side by side and the functions'
 * thread before the emulators (docs/PERFORMANCE.md, "Start-up and shutdown"), so a failure must
 * still stop every part that did start, that thread included.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const HELD_FOLDER = fileURLToPath(new URL('../fixtures/stack/start-on-a-held-folder.ts', import.meta.url));

describe('startLocalStack when a part cannot start', () => {
  it('rejects with the reason and leaves no thread running: the process exits on its own', async () => {
    // Act: a timeout kills a process that a leftover thread keeps alive, and the call then rejects.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', HELD_FOLDER], {
      timeout: 90_000,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });

    // Assert
    expect(stdout).toMatch(/^second stack refused: .*dynamodb is in use by another process/m);
  }, 120_000);
});
