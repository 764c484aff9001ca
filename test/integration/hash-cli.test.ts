/**
 * `npm run hash` end to end: the reference hasher's line format for an image, `#t=<ms>` per frame of
 * an animation, the dihedral and crypto lines, and a failing file reported without stopping the rest.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const run = promisify(execFile);
const IMAGE = join(REPO_ROOT, '../shared/pdq-reference/images/reg-test-input__labelme-subset__q0122.jpg');
const REFERENCE_LINE = 'cfb2009ddd21c6dab0046a7745b5984757a8a4535b3377aea2591d32b33ff940,100';

let dir = '';

async function hash(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/hash.ts', ...args], {
      cwd: REPO_ROOT,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hash-cli-'));
  const a = await sharp(IMAGE).png().toBuffer();
  const b = await sharp(IMAGE).flop().png().toBuffer();
  await writeFile(
    join(dir, 'anim.gif'),
    await sharp([a, b], { join: { animated: true } })
      .gif({ delay: [250, 250] })
      .toBuffer(),
  );
  await writeFile(join(dir, 'note.txt'), 'not a picture');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run hash', () => {
  it('prints <pdq>,<quality>,<path> for an image, as the reference hasher does', async () => {
    // Act
    const { code, stdout } = await hash(IMAGE);

    // Assert
    expect(code).toBe(0);
    expect(stdout).toBe(`${REFERENCE_LINE},${IMAGE}\n`);
  });

  it('prints one line per frame of an animation with #t=<ms>, and reports a bad file with status 1', async () => {
    // Act
    const { code, stdout, stderr } = await hash(join(dir, 'anim.gif'), join(dir, 'note.txt'));

    // Assert
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^[0-9a-f]{64},100,${join(dir, 'anim.gif')}#t=0$`));
    expect(lines[1]).toMatch(/#t=250$/);
    expect(stderr).toContain('note.txt: not an image or a video');
  });

  it('adds the seven other dihedral hashes and the byte hashes when asked', async () => {
    // Act
    const { stdout } = await hash('--dihedral', '--crypto', IMAGE);

    // Assert
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^md5,[0-9a-f]{32},${IMAGE}$`));
    expect(lines[1]).toMatch(new RegExp(`^sha256,[0-9a-f]{64},${IMAGE}$`));
    expect(lines[2]).toBe(`${REFERENCE_LINE},${IMAGE}`);
    expect(lines.slice(3).map((l) => l.split('#dih=')[1])).toEqual([
      'rotate90',
      'rotate180',
      'rotate270',
      'flipx',
      'flipy',
      'flipplus1',
      'flipminus1',
    ]);
  });
});
