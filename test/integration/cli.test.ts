/** The CLI contract: `npm start -- --json <inputs>` prints exactly one JSON verdict per input on stdout. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
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
    // No --data-dir: the emulators' folder goes with the command, so no model inputs are kept in it.
    expect(verdicts.filter((v) => v.inputs)).toEqual([]);
    expect(stderr).toContain('moderated');
  });

  it('prints every verdict to a pipe that is read slowly, not only the 64 KiB the pipe takes at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-pipe-'));
    try {
      const count = 80;
      for (let i = 0; i < count; i++) {
        const text = `Thank you for the lovely dinner last night, the soup was delicious (${i}). `.repeat(8);
        await writeFile(join(dir, `${String(i).padStart(3, '0')}.txt`), text);
      }
      // The reader starts 8 s late, long after the command has summed up and stopped its stack: a
      // process.exit right after the write would leave only what the pipe's buffer took (64 KiB).
      const { stdout } = await run(
        'sh',
        [
          '-c',
          '"$0" --import tsx cli/moderate.ts --json "$1" 2>/dev/null | (sleep 8; cat)',
          process.execPath,
          dir,
        ],
        { cwd: root, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      );
      expect(stdout.length).toBeGreaterThan(64 * 1024);
      const verdicts = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Verdict);
      expect(verdicts).toHaveLength(count);
      expect(new Set(verdicts.map((v) => v.object)).size).toBe(count);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

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

  it('at --timeout prints the verdicts it has, a TIMEOUT error verdict for each missing one, and exits 1', async () => {
    // A video that takes the pipeline well over the deadline: 9 minutes go to the long-media
    // function, which reads up to 160 frames (OCR) and the whole soundtrack: ~9 s of work on a 2-core
    // machine after ~2.5 s of start-up. (A 55 s clip took 4.4 s, and its verdict sometimes came
    // before a 6 s deadline.)
    const dir = await mkdtemp(join(tmpdir(), 'cli-deadline-'));
    try {
      const slow = join(dir, 'slow.mp4');
      await run(
        'ffmpeg',
        [
          ...['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=1'],
          ...['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=16000', '-t', '540'],
          ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', slow],
        ],
        { timeout: 60_000 },
      );
      const args = ['--import', 'tsx', 'cli/moderate.ts', '--json', '--timeout', '6'];
      const inputs = [slow, 'samples/abusive-reply.txt', 'no/such/file.txt'];
      const exit = await run(process.execPath, [...args, ...inputs], { cwd: root, timeout: 60_000 }).then(
        (r) => ({ code: 0, signal: undefined, ...r }),
        (err: { code?: number; signal?: string; stdout: string; stderr: string }) => err,
      );
      // With what explains another status in the message: a signal means the watchdog killed a
      // process that did not exit; 0 means every input had a verdict in time (which ones, below).
      const decisions = exit.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          try {
            const v = JSON.parse(line) as Verdict;
            return `${v.object} ${v.decision} ${v.error?.code ?? ''} ${JSON.stringify(v.timings)}`;
          } catch {
            return line.slice(0, 200);
          }
        });
      expect(
        exit.code,
        `signal ${exit.signal}; verdicts: ${decisions.join(' | ')}; stderr: ${exit.stderr.slice(-800)}`,
      ).toBe(1);
      const verdicts = exit.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Verdict);
      expect(verdicts.map((v) => v.object)).toEqual([relative(root, slow), ...inputs.slice(1)]);
      const [video, text, missing] = verdicts;
      expect(video).toMatchObject({ decision: 'error', error: { code: 'TIMEOUT' } });
      expect(video?.error?.message).toMatch(/6 s deadline/);
      // The text is quick, but on a slow machine the deadline may come before the stack is up.
      if (text?.decision === 'error') expect(text.error?.code).toBe('TIMEOUT');
      else expect(text?.decision).toBe('block');
      expect(missing?.error?.code).toBe('OBJECT_NOT_FOUND');
      expect(exit.stderr).toMatch(/had no verdict by the 6 s deadline/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('blocks a resized copy of a banked image and shows blocklist spans; banks persist in --data-dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-banks-'));
    try {
      // A picture with detail (PDQ of a flat image has quality 0) and a half-size copy of it.
      const circles = Array.from({ length: 40 }, (_, i) => {
        const [x, y, r] = [(i * 97) % 640, (i * 53) % 480, 20 + ((i * 37) % 60)];
        return `<circle cx="${x}" cy="${y}" r="${r}" fill="rgb(${(i * 71) % 256},${(i * 29) % 256},${(i * 113) % 256})"/>`;
      }).join('');
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#3a6"/>${circles}</svg>`;
      const original = join(dir, 'original.png');
      const copy = join(dir, 'copy.png');
      await sharp(Buffer.from(svg)).png().toFile(original);
      await sharp(original).resize(320).png().toFile(copy);
      const { stdout: hashes } = await run(process.execPath, ['--import', 'tsx', 'cli/hash.ts', original], {
        cwd: root,
      });
      await writeFile(join(dir, 'known-abuse.csv'), hashes);
      await writeFile(join(dir, 'blocklist.txt'), 'idiot\nre:\\bl[o0]+ser\\b\n');
      await writeFile(join(dir, 'reply.txt'), 'honestly, what an 1d10t');
      const dataDir = join(dir, 'data');
      const moderate = (...args: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'cli/moderate.ts', '--json', ...args], {
          cwd: root,
          timeout: 120_000,
        });

      const { stdout } = await moderate(
        ...[
          '--data-dir',
          dataDir,
          '--bank',
          join(dir, 'known-abuse.csv'),
          '--blocklist',
          join(dir, 'blocklist.txt'),
        ],
        copy,
        join(dir, 'reply.txt'),
      );

      const [image, text] = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Verdict);
      expect(image).toMatchObject({ decision: 'block', categories: {} });
      expect(image?.matches?.[0]).toMatchObject({ bank: 'known-abuse', kind: 'deny', signalType: 'pdq' });
      expect(image?.matches?.[0]?.distance).toBeLessThanOrEqual(31);
      expect(image?.reasons.join(' ')).toMatch(/models not run/);
      // The blocklist span is evidence; the text model reads the leetspeak itself (evasion folding) and blocks.
      expect(text?.decision).toBe('block');
      // With --data-dir, a scored verdict's model inputs are kept there for `npm run replay -- --models`.
      expect(text?.inputs?.uri).toMatch(/^s3:\/\//);
      expect(text?.matches).toEqual([
        expect.objectContaining({ bank: 'blocklist', label: 'idiot', signal: '1d10t', range: [18, 23] }),
      ]);

      // Persisted: a later run on the same data folder still has the bank.
      const again = await moderate('--data-dir', dataDir, copy);
      expect((JSON.parse(again.stdout) as Verdict).decision).toBe('block');

      // A malformed bank is refused with its line number, before anything starts.
      await writeFile(join(dir, 'bad.csv'), `signal_type,signal,bank,label\nmd5,${'0'.repeat(31)},x,y\n`);
      const refused = await moderate('--bank', join(dir, 'bad.csv'), copy).then(
        () => ({ code: 0, stderr: '', stdout: '' }),
        (err: { code?: number; stdout: string; stderr: string }) => err,
      );
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/bad\.csv line 2: md5 signal has 31 hex digits; md5 has 32/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('prints and stops even when the main thread never yields (the deadline watchdog)', async () => {
    const wedged = [
      "const { startHardDeadline } = await import('./cli/deadline.ts');",
      "const d = startHardDeadline({ atMs: performance.now() + 300, watchdogGraceMs: 200, exitGraceMs: 1000, output: 'first\\n', cleanup: [] });",
      "d.fallback('latest verdicts\\n');",
      'for (;;) {}',
    ].join('\n');
    const exit = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', wedged], {
      cwd: root,
      timeout: 30_000,
    }).then(
      () => ({ signal: undefined, killed: false, stdout: '', stderr: '' }),
      (err: { signal?: string; killed: boolean; stdout: string; stderr: string }) => err,
    );
    expect(exit.killed).toBe(false); // not execFile's timeout: the watchdog
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.stdout).toBe('latest verdicts\n');
    expect(exit.stderr).toMatch(/printed the verdicts it had/);
  });
});
