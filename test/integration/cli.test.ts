/** The CLI contract: `npm start -- --json <inputs>` prints exactly one JSON verdict per input on stdout. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Verdict } from '#shared/domain/verdict.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

describe('cli', () => {
  it('prints one JSON verdict per input and nothing else on stdout, in input order', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/moderate.ts',
        '--json',
        'samples/abusive-reply.txt',
        'samples/post',
        'no/such/file.txt',
      ],
      { cwd: root, timeout: 120_000 },
    );
    const lines = stdout.trim().split('\n');
    const verdicts = lines.map((l) => JSON.parse(l) as Verdict);
    expect(verdicts.map((v) => v.object)).toEqual([
      'samples/abusive-reply.txt',
      'samples/post/landscape.png',
      'samples/post/post.json',
      'no/such/file.txt',
    ]);
    expect(verdicts[0]?.decision).not.toBe('allow');
    expect(verdicts[2]?.modalities.image).toBeDefined();
    expect(verdicts[3]?.error?.code).toBe('OBJECT_NOT_FOUND');
    expect(stderr).toContain('moderated');
  });

  it('prints a readable table by default', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/moderate.ts', 'samples/truncated.png'],
      {
        cwd: root,
        timeout: 120_000,
      },
    );
    expect(stdout.split('\n')[0]).toMatch(/^DECISION\s+SCORE\s+WHY\s+FILE/);
    expect(stdout).toMatch(/error\s+-\s+IMAGE_DECODE_FAILED/);
  });
});
