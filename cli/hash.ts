/**
 * `npm run hash -- [--dihedral] <file>...` — PDQ hashes of images, animations and videos, one line
 * per hash in the reference hasher's format: `<pdq hex>,<quality>,<path>` for an image and
 * `<pdq hex>,<quality>,<path>#t=<ms>` for each sampled frame of a video or animated GIF/WebP (the
 * lines banks import). Logic: shared/matching/signals.ts.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { sniff } from '#shared/ingest/sniff.ts';
import { DIHEDRAL_NAMES } from '#shared/matching/pdq.ts';
import { formatPdqLine, imageSignals, pdqDihedralOfImage, videoSignals } from '#shared/matching/signals.ts';
import type { Signal } from '#shared/matching/types.ts';

const USAGE = `usage: npm run hash -- [options] <file>...

  prints <pdq hex>,<quality>,<path> per image and <pdq hex>,<quality>,<path>#t=<ms> per sampled
  frame of a video or animated GIF/WebP; a file that cannot be hashed is reported on stderr and
  the exit status is 1

options:
  --dihedral    also the seven rotations and flips of each still image, as <path>#dih=<name>
                (bank these so rotated or mirrored copies match)
  --crypto      also md5,<hex>,<path> and sha256,<hex>,<path> lines
  -h, --help    this text`;

async function signalsOf(path: string): Promise<Signal[]> {
  const bytes = new Uint8Array(await readFile(path));
  const { kind, mime } = await sniff(bytes);
  if (kind === 'image') return imageSignals(bytes, path);
  if (kind === 'video') return videoSignals(bytes, mime, path);
  throw new Error(`not an image or a video (sniffed ${mime})`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dihedral: { type: 'boolean', default: false },
      crypto: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  let failed = 0;
  for (const path of positionals) {
    try {
      const signals = await signalsOf(path);
      const lines: string[] = [];
      for (const s of signals) {
        if (s.signalType === 'pdq') lines.push(formatPdqLine(s, path));
        else if (values.crypto) lines.push(`${s.signalType},${s.signal},${path}`);
      }
      const still = signals.some((s) => s.signalType === 'pdq' && s.frameMs === undefined);
      if (values.dihedral && still) {
        const { hashes, quality } = await pdqDihedralOfImage(new Uint8Array(await readFile(path)));
        for (const name of DIHEDRAL_NAMES.slice(1))
          lines.push(`${hashes[name]},${quality},${path}#dih=${name}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`${path}: ${(err as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
