/**
 * A deterministic `.tar.gz` of a directory: sorted entries, zero mtimes and owners, fixed modes, and
 * a gzip header with no timestamp or OS. The same files always give the same tar bytes, so the
 * asset hash (taken over the tar) is stable across machines and an unchanged model is never
 * re-uploaded. No system `tar` is needed (BSD and GNU tar disagree on the flags for this).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const BLOCK = 512;
/** GNU and BSD tar write archives in records of 20 blocks; readers accept any multiple of 512. */
const RECORD = BLOCK * 20;

/** Regular files under `dir`, as sorted POSIX paths relative to it; dotfiles are left out. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const abs = join(current, entry.name);
      if (entry.isDirectory()) walk(abs);
      else if (entry.isFile()) out.push(relative(dir, abs).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL terminator, as ustar readers expect.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  let path = name;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) {
      throw new Error(`tar: path too long for ustar: ${name}`);
    }
    prefix = path.slice(0, cut);
    path = path.slice(cut + 1);
  }
  block.write(path, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii'); // uid
  block.write(octal(0, 8), 116, 8, 'ascii'); // gid
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(0, 12), 136, 12, 'ascii'); // mtime: the epoch, for reproducibility
  block.write('        ', 148, 8, 'ascii'); // checksum placeholder: spaces while summing
  block.write('0', 156, 1, 'ascii'); // regular file
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

export interface PackedDirectory {
  /** The gzipped archive. */
  readonly gzip: Buffer;
  /** sha256 of the uncompressed tar: independent of the zlib build, so usable as an asset hash. */
  readonly tarSha256: string;
  /** The archived paths, in archive order. */
  readonly files: readonly string[];
}

/** Packs every regular file under `dir` at the archive root (`manifest.json`, not `dir/manifest.json`). */
export function packDirectory(dir: string): PackedDirectory {
  const files = listFiles(dir);
  if (files.length === 0) throw new Error(`tar: no files to pack in ${dir}`);
  const parts: Buffer[] = [];
  for (const file of files) {
    const abs = join(dir, ...file.split('/'));
    const { size } = statSync(abs);
    parts.push(header(file, size));
    parts.push(readFileSync(abs));
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0)); // end-of-archive marker
  let tar = Buffer.concat(parts);
  const tail = (RECORD - (tar.length % RECORD)) % RECORD;
  if (tail) tar = Buffer.concat([tar, Buffer.alloc(tail, 0)]);
  const gzip = gzipSync(tar, { level: constants.Z_BEST_COMPRESSION });
  // RFC 1952 header: bytes 4..7 are MTIME (zlib writes 0), byte 9 is OS, which depends on the
  // platform zlib was built for. 255 = "unknown" makes it the same everywhere.
  gzip[9] = 0xff;
  return { gzip, tarSha256: createHash('sha256').update(tar).digest('hex'), files };
}
