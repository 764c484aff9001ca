/**
 * PDQ, Meta's 256-bit perceptual image hash, computed from decoded pixels the way the reference
 * hasher (`facebook/ThreatExchange` `pdq/cpp`, `pdq-photo-hasher`) does:
 *
 * 1. images larger than 512 on either side are first resized to 512×512 by nearest neighbour
 *    (the reference's `pdqio.cpp` does this with CImg before hashing, to bound the filter's cost);
 * 2. luminance Y = 0.299 R + 0.587 G + 0.114 B (grey images as they are; alpha ignored);
 * 3. two passes of a box filter along rows then columns (the Jarosz tent filter), window
 *    ⌈side / 128⌉, then decimation to 64×64 at pixel centres;
 * 4. quality: the sum of quantised gradients of the 64×64 image / 90, capped at 100;
 * 5. the 16×16 top-left block of the 64×64 DCT-II (frequencies 1..16 in each direction);
 * 6. bit i·16+j is set when coefficient (i, j) is above the median (Torben's lower median), and the
 *    256-bit number is printed big-endian, as the reference's `Hash256::format` does.
 *
 * Arithmetic is single precision as in the C++ (`Math.fround` after every operation), so the same
 * pixels give the same bits; differences from the reference on JPEGs come from the JPEG decoder.
 */
import type { PdqHash } from './types.ts';

/** The reference's MIN_HASHABLE_DIM: smaller images hash to all zeros with quality 0. */
const MIN_HASHABLE_DIM = 5;
/** The reference photo hasher's pre-resize bound (pdqio.cpp DOWNSAMPLE_DIMS). */
const DOWNSAMPLE_DIMS = 512;
const f = Math.fround;
/** R·0.299, G·0.587, B·0.114 in single precision for every byte value (exact products, looked up). */
const LUMA_TABLES = (() => {
  const r = new Float32Array(256);
  const g = new Float32Array(256);
  const b = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    r[v] = f(0.299) * v;
    g[v] = f(0.587) * v;
    b[v] = f(0.114) * v;
  }
  return { r, g, b };
})();

/** 16×64 DCT-II basis, rows 1..16, as the reference builds it (float entries from double cosines). */
const DCT_MATRIX: Float32Array = (() => {
  const m = new Float32Array(16 * 64);
  const scale = f(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return m;
})();

/** Scratch buffers reused across calls (the hasher is synchronous, so one set suffices). */
let scratchA = new Float32Array(0);
let scratchB = new Float32Array(0);
const buffer64 = new Float32Array(64 * 64);
const buffer16x64 = new Float32Array(16 * 64);
const buffer16 = new Float32Array(16 * 16);
const sortScratch = new Float32Array(256);

function scratch(n: number): [Float32Array, Float32Array] {
  if (scratchA.length < n) {
    scratchA = new Float32Array(n);
    scratchB = new Float32Array(n);
  }
  return [scratchA, scratchB];
}

/**
 * Luminance of the (possibly nearest-neighbour resized) image into `out`, row-major rows×cols.
 * Source column for output x is ⌊x·W/cols⌋, CImg's nearest-neighbour rule.
 */
function fillLuma(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: number,
  rows: number,
  cols: number,
  out: Float32Array,
): void {
  const xs = new Int32Array(cols);
  for (let x = 0; x < cols; x++) xs[x] = Math.floor((x * width) / cols) * channels;
  for (let y = 0; y < rows; y++) {
    const rowBase = Math.floor((y * height) / rows) * width * channels;
    const o = y * cols;
    if (channels === 1) {
      for (let x = 0; x < cols; x++) out[o + x] = pixels[rowBase + (xs[x] as number)] as number;
    } else {
      const { r, g, b } = LUMA_TABLES;
      for (let x = 0; x < cols; x++) {
        const p = rowBase + (xs[x] as number);
        out[o + x] = f(
          f((r[pixels[p] as number] as number) + (g[pixels[p + 1] as number] as number)) +
            (b[pixels[p + 2] as number] as number),
        );
      }
    }
  }
}

/**
 * The reference's four phases of a running box of `window` samples over `length`: growing before
 * the first output, growing while writing, sliding, shrinking at the end.
 */
function boxPhases(window: number, length: number) {
  const half = ((window + 2) / 2) | 0;
  return { phase1: half - 1, phase2: window - half + 1, phase3: length - window, phase4: half - 1 };
}

/**
 * One box filter along a vector (the reference's box1DFloat): a running window of `window`
 * samples, shorter at both ends, written at the window's centre.
 */
function box1D(
  input: Float32Array,
  output: Float32Array,
  start: number,
  length: number,
  stride: number,
  window: number,
): void {
  const { phase1, phase2, phase3, phase4 } = boxPhases(window, length);
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let size = 0;
  for (let i = 0; i < phase1; i++) {
    sum = f(sum + (input[ri] as number));
    size++;
    ri += stride;
  }
  for (let i = 0; i < phase2; i++) {
    sum = f(sum + (input[ri] as number));
    size++;
    output[oi] = sum / size;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase3; i++) {
    sum = f(sum + (input[ri] as number));
    sum = f(sum - (input[li] as number));
    output[oi] = sum / size;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase4; i++) {
    sum = f(sum - (input[li] as number));
    size--;
    output[oi] = sum / size;
    li += stride;
    oi += stride;
  }
}

/**
 * box1D along four rows at once: the running sum is a chain of dependent float operations, so
 * four independent chains keep the CPU busy (same operations, same order, per row).
 */
function boxAlongRows(
  input: Float32Array,
  output: Float32Array,
  rows: number,
  cols: number,
  window: number,
): void {
  const { phase1, phase2, phase3, phase4 } = boxPhases(window, cols);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const b0 = i * cols;
    const b1 = b0 + cols;
    const b2 = b1 + cols;
    const b3 = b2 + cols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let ri = 0;
    let li = 0;
    let oi = 0;
    let size = 0;
    for (let n = 0; n < phase1; n++, ri++) {
      size++;
      s0 = f(s0 + (input[b0 + ri] as number));
      s1 = f(s1 + (input[b1 + ri] as number));
      s2 = f(s2 + (input[b2 + ri] as number));
      s3 = f(s3 + (input[b3 + ri] as number));
    }
    for (let n = 0; n < phase2; n++, ri++, oi++) {
      size++;
      s0 = f(s0 + (input[b0 + ri] as number));
      s1 = f(s1 + (input[b1 + ri] as number));
      s2 = f(s2 + (input[b2 + ri] as number));
      s3 = f(s3 + (input[b3 + ri] as number));
      output[b0 + oi] = s0 / size;
      output[b1 + oi] = s1 / size;
      output[b2 + oi] = s2 / size;
      output[b3 + oi] = s3 / size;
    }
    for (let n = 0; n < phase3; n++, ri++, li++, oi++) {
      s0 = f(f(s0 + (input[b0 + ri] as number)) - (input[b0 + li] as number));
      s1 = f(f(s1 + (input[b1 + ri] as number)) - (input[b1 + li] as number));
      s2 = f(f(s2 + (input[b2 + ri] as number)) - (input[b2 + li] as number));
      s3 = f(f(s3 + (input[b3 + ri] as number)) - (input[b3 + li] as number));
      output[b0 + oi] = s0 / size;
      output[b1 + oi] = s1 / size;
      output[b2 + oi] = s2 / size;
      output[b3 + oi] = s3 / size;
    }
    for (let n = 0; n < phase4; n++, li++, oi++) {
      size--;
      s0 = f(s0 - (input[b0 + li] as number));
      s1 = f(s1 - (input[b1 + li] as number));
      s2 = f(s2 - (input[b2 + li] as number));
      s3 = f(s3 - (input[b3 + li] as number));
      output[b0 + oi] = s0 / size;
      output[b1 + oi] = s1 / size;
      output[b2 + oi] = s2 / size;
      output[b3 + oi] = s3 / size;
    }
  }
  for (; i < rows; i++) box1D(input, output, i * cols, cols, 1, window);
}

/**
 * box1D down every column at once, a row at a time (same sums in the same order per column as
 * the reference's strided boxAlongColsFloat, but reading memory in order).
 */
function boxAlongCols(
  input: Float32Array,
  output: Float32Array,
  rows: number,
  cols: number,
  window: number,
): void {
  const { phase1, phase2, phase3, phase4 } = boxPhases(window, rows);
  const sums = columnSums(cols);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let size = 0;
  for (let n = 0; n < phase1; n++, ri++) {
    size++;
    const r = ri * cols;
    for (let j = 0; j < cols; j++) sums[j] = (sums[j] as number) + (input[r + j] as number);
  }
  for (let n = 0; n < phase2; n++, ri++, oi++) {
    size++;
    const r = ri * cols;
    const o = oi * cols;
    for (let j = 0; j < cols; j++) {
      const s = f((sums[j] as number) + (input[r + j] as number));
      sums[j] = s;
      output[o + j] = s / size;
    }
  }
  for (let n = 0; n < phase3; n++, ri++, li++, oi++) {
    const r = ri * cols;
    const l = li * cols;
    const o = oi * cols;
    for (let j = 0; j < cols; j++) {
      const s = f(f((sums[j] as number) + (input[r + j] as number)) - (input[l + j] as number));
      sums[j] = s;
      output[o + j] = s / size;
    }
  }
  for (let n = 0; n < phase4; n++, li++, oi++) {
    size--;
    const l = li * cols;
    const o = oi * cols;
    for (let j = 0; j < cols; j++) {
      const s = f((sums[j] as number) - (input[l + j] as number));
      sums[j] = s;
      output[o + j] = s / size;
    }
  }
}

/**
 * The last column pass, only where decimation will sample: the 64 columns `picked` and the 64 rows
 * `keep` (running sums are per column, so the other columns cannot change these), into buffer64.
 */
function boxPickedColumns(
  input: Float32Array,
  rows: number,
  cols: number,
  window: number,
  picked: Int32Array,
  keep: Int32Array,
): void {
  const { phase1, phase2, phase3, phase4 } = boxPhases(window, rows);
  const sums = columnSums(64);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let size = 0;
  let next = 0;
  const emit = () => {
    while (next < 64 && keep[next] === oi) {
      const o = next * 64;
      for (let j = 0; j < 64; j++) buffer64[o + j] = (sums[j] as number) / size;
      next++;
    }
  };
  for (let n = 0; n < phase1; n++, ri++) {
    size++;
    const r = ri * cols;
    for (let j = 0; j < 64; j++) sums[j] = (sums[j] as number) + (input[r + (picked[j] as number)] as number);
  }
  for (let n = 0; n < phase2; n++, ri++, oi++) {
    size++;
    const r = ri * cols;
    for (let j = 0; j < 64; j++) sums[j] = (sums[j] as number) + (input[r + (picked[j] as number)] as number);
    emit();
  }
  for (let n = 0; n < phase3; n++, ri++, li++, oi++) {
    const r = ri * cols;
    const l = li * cols;
    for (let j = 0; j < 64; j++) {
      const c = picked[j] as number;
      sums[j] = f((sums[j] as number) + (input[r + c] as number)) - (input[l + c] as number);
    }
    emit();
  }
  for (let n = 0; n < phase4; n++, li++, oi++) {
    size--;
    const l = li * cols;
    for (let j = 0; j < 64; j++) sums[j] = (sums[j] as number) - (input[l + (picked[j] as number)] as number);
    emit();
  }
}

let sumsScratch = new Float32Array(0);
function columnSums(cols: number): Float32Array {
  if (sumsScratch.length < cols) sumsScratch = new Float32Array(cols);
  const sums = sumsScratch.subarray(0, cols);
  sums.fill(0);
  return sums;
}

/** The reference's computeJaroszFilterWindowSize: half a 64th of the side, rounded up. */
function windowSize(oldDimension: number, newDimension: number): number {
  return ((oldDimension + 2 * newDimension - 1) / (2 * newDimension)) | 0;
}

/** Two passes of rows-then-columns box filtering, then decimation to 64×64 into buffer64. */
function downsample(a: Float32Array, b: Float32Array, rows: number, cols: number): void {
  const windowAlongRows = windowSize(cols, 64);
  const windowAlongCols = windowSize(rows, 64);
  // Decimation samples pixel centres: row ⌊(i + ½)·rows/64⌋, column ⌊(j + ½)·cols/64⌋.
  const keep = new Int32Array(64);
  const picked = new Int32Array(64);
  for (let i = 0; i < 64; i++) {
    keep[i] = Math.trunc(((i + 0.5) * rows) / 64);
    picked[i] = Math.trunc(((i + 0.5) * cols) / 64);
  }
  // Two passes (PDQ_NUM_JAROSZ_XY_PASSES) of rows then columns; the last column pass is computed
  // only at the pixels decimation keeps.
  boxAlongRows(a, b, rows, cols, windowAlongRows);
  boxAlongCols(b, a, rows, cols, windowAlongCols);
  boxAlongRows(a, b, rows, cols, windowAlongRows);
  boxPickedColumns(b, rows, cols, windowAlongCols, picked, keep);
}

/** The reference's image-domain quality: significant gradients of the 64×64 image. */
function quality64(): number {
  let gradientSum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = f(
        f(f((buffer64[i * 64 + j] as number) - (buffer64[(i + 1) * 64 + j] as number)) * 100) / 255,
      );
      gradientSum += Math.abs(Math.trunc(d));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = f(f(f((buffer64[i * 64 + j] as number) - (buffer64[i * 64 + j + 1] as number)) * 100) / 255);
      gradientSum += Math.abs(Math.trunc(d));
    }
  }
  return Math.min(100, Math.trunc(gradientSum / 90));
}

/** B = D·A·Dᵀ for the 16 lowest non-DC frequencies, summed in the reference's order. */
function dct64To16(): void {
  const D = DCT_MATRIX;
  // T = D·A, accumulated over k in order for every (i, j), reading A row by row.
  buffer16x64.fill(0);
  for (let i = 0; i < 16; i++) {
    const di = i * 64;
    for (let k = 0; k < 64; k++) {
      const d = D[di + k] as number;
      const ak = k * 64;
      for (let j = 0; j < 64; j++) {
        buffer16x64[di + j] = (buffer16x64[di + j] as number) + f(d * (buffer64[ak + j] as number));
      }
    }
  }
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let j = 0; j < 16; j++) {
      const dj = j * 64;
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f(sum + f((buffer16x64[ti + k] as number) * (D[dj + k] as number)));
      buffer16[i * 16 + j] = sum;
    }
  }
}

const HEX = '0123456789abcdef';

/** Bits of a 16×16 coefficient block above its median, as 64 hex chars in the reference's order. */
export function bitsToHex(dct16: Float32Array): string {
  sortScratch.set(dct16);
  sortScratch.sort();
  // Torben's median of 256 values is the 128th smallest.
  const median = sortScratch[127] as number;
  // Bit k = i·16+j of a 256-bit number printed big-endian: nibble k>>2 from the right.
  let hex = '';
  for (let nibble = 63; nibble >= 0; nibble--) {
    const k = nibble * 4;
    const v =
      ((dct16[k] as number) > median ? 1 : 0) |
      ((dct16[k + 1] as number) > median ? 2 : 0) |
      ((dct16[k + 2] as number) > median ? 4 : 0) |
      ((dct16[k + 3] as number) > median ? 8 : 0);
    hex += HEX[v];
  }
  return hex;
}

const ZERO_HASH = '0'.repeat(64);

function checkInput(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number) {
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`pdq: channels must be 1, 3 or 4, got ${channels}`);
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`pdq: bad image size ${width}×${height}`);
  }
  if (pixels.length < width * height * channels) {
    throw new RangeError(
      `pdq: ${pixels.length} bytes is too few for ${width}×${height}×${channels} (${width * height * channels})`,
    );
  }
}

/** Rows and columns hashed: the reference photo hasher's pre-resize to 512×512 when a side is over 512. */
function hashedSize(width: number, height: number): [number, number] {
  return height > DOWNSAMPLE_DIMS || width > DOWNSAMPLE_DIMS
    ? [DOWNSAMPLE_DIMS, DOWNSAMPLE_DIMS]
    : [height, width];
}

/** Too small to hash after the pre-resize (the reference checks the resized image, so 1000×3 is hashed). */
function tooSmall(width: number, height: number): boolean {
  const [rows, cols] = hashedSize(width, height);
  return rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM;
}

/** Runs steps 1–5 and leaves the 16×16 DCT block in `buffer16`; returns the quality. */
function pdqFloat(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: number,
): number {
  const [rows, cols] = hashedSize(width, height);
  const [a, b] = scratch(rows * cols);
  fillLuma(pixels, width, height, channels, rows, cols, a);
  if (rows === 64 && cols === 64) buffer64.set(a.subarray(0, 64 * 64));
  else downsample(a, b, rows, cols);
  const quality = quality64();
  dct64To16();
  return quality;
}

/**
 * PDQ hash and quality of decoded pixels (row-major, `channels` interleaved bytes per pixel: grey,
 * RGB or RGBA with alpha ignored). Images under 5 pixels on a side (after the pre-resize) give the
 * zero hash, quality 0.
 */
export function pdqHash(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
): PdqHash {
  checkInput(pixels, width, height, channels);
  if (tooSmall(width, height)) return { hash: ZERO_HASH, quality: 0 };
  const quality = pdqFloat(pixels, width, height, channels);
  return { hash: bitsToHex(buffer16), quality };
}

/** The eight rotations and flips, named as the reference's `--pdqdih` output names them. */
export const DIHEDRAL_NAMES = [
  'original',
  'rotate90',
  'rotate180',
  'rotate270',
  'flipx',
  'flipy',
  'flipplus1',
  'flipminus1',
] as const;
export type Dihedral = (typeof DIHEDRAL_NAMES)[number];

/**
 * The PDQ hashes of the image's eight dihedral transforms, from one DCT (the reference's
 * pdqDihedralHash256esFromFloatLuma): a rotated or flipped copy of the image hashes to one of these.
 */
export function pdqDihedralHashes(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
): { hashes: Record<Dihedral, string>; quality: number } {
  checkInput(pixels, width, height, channels);
  if (tooSmall(width, height)) {
    const hashes = Object.fromEntries(DIHEDRAL_NAMES.map((n) => [n, ZERO_HASH])) as Record<Dihedral, string>;
    return { hashes, quality: 0 };
  }
  const quality = pdqFloat(pixels, width, height, channels);
  const a = buffer16;
  const out = new Float32Array(256);
  const variant = (transpose: boolean, negate: (i: number, j: number) => boolean): string => {
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        const v = a[i * 16 + j] as number;
        out[transpose ? j * 16 + i : i * 16 + j] = negate(i, j) ? -v : v;
      }
    }
    return bitsToHex(out);
  };
  const hashes: Record<Dihedral, string> = {
    original: bitsToHex(a),
    rotate90: variant(true, (_i, j) => (j & 1) === 0),
    rotate180: variant(false, (i, j) => ((i + j) & 1) === 1),
    rotate270: variant(true, (i) => (i & 1) === 0),
    flipx: variant(false, (i) => (i & 1) === 0),
    flipy: variant(false, (_i, j) => (j & 1) === 0),
    flipplus1: variant(true, () => false),
    flipminus1: variant(true, (i, j) => ((i + j) & 1) === 1),
  };
  return { hashes, quality };
}

const POPCOUNT4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

function nibble(c: number): number {
  // '0'-'9' → 0-9, 'a'-'f' / 'A'-'F' → 10-15, anything else → -1.
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Hamming distance of two equal-length hex strings (PDQ: 0..256). Throws on a length or digit mismatch. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) {
    throw new RangeError(`hammingDistance: lengths differ (${a.length} and ${b.length})`);
  }
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = nibble(a.charCodeAt(i));
    const y = nibble(b.charCodeAt(i));
    if (x < 0 || y < 0) throw new RangeError(`hammingDistance: not hex at position ${i}`);
    d += POPCOUNT4[x ^ y] as number;
  }
  return d;
}

/** Whether `s` is a PDQ hash as printed: 64 hex digits. */
export function isPdqHex(s: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(s);
}
