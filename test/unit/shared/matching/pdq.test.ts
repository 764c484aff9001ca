/**
 * PDQ against Meta's reference hasher: the test images of `facebook/ThreatExchange` `pdq/data` and
 * the reference's output on them (../shared/pdq-reference beside the repository, as in CI). JPEG
 * decoders differ slightly (the reference decoded through ImageMagick 6, we through sharp), so up
 * to 2 bits may differ per image; the table is printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bitsToHex,
  DIHEDRAL_NAMES,
  type Dihedral,
  hammingDistance,
  isPdqHex,
  pdqDihedralHashes,
  pdqHash,
} from '#shared/matching/pdq.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const REFERENCE = join(REPO_ROOT, '../shared/pdq-reference');

interface Row {
  file: string;
  reference: string;
  referenceQuality: number;
  ours: string;
  quality: number;
  distance: number;
}

async function decode(path: string) {
  const { data, info } = await sharp(readFileSync(path)).raw().toBuffer({ resolveWithObject: true });
  return {
    pixels: new Uint8Array(data),
    width: info.width,
    height: info.height,
    channels: info.channels as 3,
  };
}

let rows: Row[] = [];

beforeAll(async () => {
  const csv = readFileSync(join(REFERENCE, 'expected.csv'), 'utf8').trim().split('\n');
  rows = await Promise.all(
    csv.map(async (line) => {
      const [reference = '', q = '', file = ''] = line.split(',');
      const img = await decode(join(REFERENCE, 'images', file));
      const ours = pdqHash(img.pixels, img.width, img.height, img.channels);
      return {
        file,
        reference,
        referenceQuality: Number(q),
        ours: ours.hash,
        quality: ours.quality,
        distance: hammingDistance(ours.hash, reference),
      };
    }),
  );
  const table = rows.map(
    (r) =>
      `${r.file.padEnd(46)} ${r.reference} ${r.ours} ${String(r.distance).padStart(2)} ${String(r.referenceQuality).padStart(3)} ${String(r.quality).padStart(3)}`,
  );
  console.log(
    `${'file'.padEnd(46)} ${'reference'.padEnd(64)} ${'ours'.padEnd(64)} d  q(ref) q(ours)\n${table.join('\n')}`,
  );
});

describe('pdqHash against the reference hasher', () => {
  it('reads all 27 reference images', () => {
    // Assert
    expect(rows).toHaveLength(27);
  });

  it('is within 2 bits of the reference hash on every test image, with its quality', () => {
    // Assert
    for (const r of rows) {
      expect(r.distance, r.file).toBeLessThanOrEqual(2);
      expect(Math.abs(r.quality - r.referenceQuality), r.file).toBeLessThanOrEqual(2);
    }
  });

  it('maps the bridge edits (blur, sharpen, resize, contrast) near the original', () => {
    // Arrange
    const original = rows.find((r) => r.file === 'bridge-mods__aaa-orig.jpg')?.ours ?? '';

    // Assert
    for (const r of rows.filter((x) => x.file.startsWith('bridge-mods__'))) {
      expect(hammingDistance(r.ours, original), r.file).toBeLessThanOrEqual(31);
    }
  });

  it('hashes the dih images as the dihedral variants of the original', async () => {
    // Arrange
    const original = await decode(join(REFERENCE, 'images', 'reg-test-input__dih__bridge-1-original.jpg'));
    const { hashes } = pdqDihedralHashes(original.pixels, original.width, original.height, original.channels);
    const fileOf: Record<Dihedral, string> = {
      original: 'bridge-1-original',
      rotate90: 'bridge-2-rotate-90',
      rotate180: 'bridge-3-rotate-180',
      rotate270: 'bridge-4-rotate-270',
      flipx: 'bridge-5-flipx',
      flipy: 'bridge-6-flipy',
      flipplus1: 'bridge-7-flip-plus-1',
      flipminus1: 'bridge-8-flip-minus-1',
    };

    // Act
    const lines: string[] = [];
    for (const name of DIHEDRAL_NAMES) {
      const row = rows.find((r) => r.file === `reg-test-input__dih__${fileOf[name]}.jpg`);
      const others = DIHEDRAL_NAMES.filter((n) => n !== name).map((n) =>
        hammingDistance(hashes[n], row?.reference ?? ''),
      );
      const d = hammingDistance(hashes[name], row?.reference ?? '');
      lines.push(
        `${name.padEnd(10)} derived vs reference file: ${d}; nearest other variant: ${Math.min(...others)}`,
      );

      // Assert: the file's reference hash matches (PDQ's threshold, 31) its variant and no other.
      expect(d, name).toBeLessThanOrEqual(31);
      expect(Math.min(...others), name).toBeGreaterThan(64);
    }
    console.log(lines.join('\n'));
  });
});

describe('pdqHash', () => {
  const noise = (w: number, h: number, channels: number, seed = 1) => {
    let x = seed;
    return Uint8Array.from({ length: w * h * channels }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 24;
    });
  };

  it('gives the zero hash for images under 5 pixels a side, and quality 0 for flat images', () => {
    // Act
    const tiny = pdqHash(new Uint8Array(4 * 100 * 3), 4, 100, 3);
    const flat = pdqHash(new Uint8Array(64 * 64).fill(128), 64, 64, 1);

    // Assert
    expect(tiny).toEqual({ hash: '0'.repeat(64), quality: 0 });
    // A flat image's hash is rounding noise (as the reference's is): quality 0 says "do not match on it".
    expect(flat.quality).toBe(0);
  });

  it('sets exactly half the bits of a textured image and prints 64 lower-case hex digits', () => {
    // Act
    const { hash, quality } = pdqHash(noise(300, 200, 3), 300, 200, 3);

    // Assert
    expect(isPdqHex(hash)).toBe(true);
    expect(hash).toBe(hash.toLowerCase());
    expect(hammingDistance(hash, '0'.repeat(64))).toBe(128);
    expect(quality).toBe(100);
  });

  it('ignores alpha, and hashes grey pixels as RGB with R = G = B', () => {
    // Arrange
    const w = 120;
    const h = 90;
    const rgb = noise(w, h, 3);
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = i % 256;
    }
    const grey = noise(w, h, 1, 7);
    const greyRgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) greyRgb.fill(grey[i] as number, i * 3, i * 3 + 3);

    // Assert
    expect(pdqHash(rgba, w, h, 4)).toEqual(pdqHash(rgb, w, h, 3));
    expect(hammingDistance(pdqHash(grey, w, h, 1).hash, pdqHash(greyRgb, w, h, 3).hash)).toBeLessThanOrEqual(
      2,
    );
  });

  it('refuses a pixel buffer too short for its size, and an unknown channel count', () => {
    // Assert
    expect(() => pdqHash(new Uint8Array(10), 10, 10, 3)).toThrow(/too few/);
    expect(() => pdqHash(new Uint8Array(300), 10, 10, 2 as 3)).toThrow(/channels/);
  });

  it('writes bit i·16+j big-endian, as the reference formats a Hash256', () => {
    // Arrange: coefficient k is k, so bits 128..255 are set (above the median, 127).
    const coefficients = Float32Array.from({ length: 256 }, (_, k) => k);

    // Act
    const hex = bitsToHex(coefficients);

    // Assert: the first 32 hex digits are words 15..8 (bits 255..128), the rest words 7..0.
    expect(hex).toBe(`${'f'.repeat(32)}${'0'.repeat(32)}`);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits in hex strings of either case', () => {
    // Assert
    expect(hammingDistance('00ff', '0000')).toBe(8);
    expect(hammingDistance('ABCD', 'abcd')).toBe(0);
    expect(hammingDistance('f'.repeat(64), '0'.repeat(64))).toBe(256);
  });

  it('throws on strings of different lengths or with non-hex digits', () => {
    // Assert
    expect(() => hammingDistance('00', '000')).toThrow(/lengths/);
    expect(() => hammingDistance('0g', '00')).toThrow(/not hex/);
  });
});
