/**
 * Exact lookup of PDQ hashes within a Hamming distance among many bank hashes: multi-index
 * hashing (Norouzi et al. 2014; the reference's `pdq/README-MIH.md`). The 256 bits are cut into 16
 * slots of 16 bits; two hashes within distance d agree to within ⌊d/16⌋ bits on at least one slot
 * (pigeonhole: 16·(⌊d/16⌋+1) > d), so probing every slot's table at the keys within ⌊d/16⌋ bits of
 * the query's slot finds every match — for d = 31, 17 keys per slot, 272 in all — and each
 * candidate is then checked on all 256 bits. Nothing is approximate: every hash within d is
 * returned. Radii where probing would touch most of the bank fall back to a linear scan.
 *
 * Memory: 32 bytes per hash for the hashes, 8 for the id, and 16 × 4 bytes for the slot tables'
 * members plus 16 × 256 KiB of bucket offsets: about 100 MiB per million hashes
 * (`memoryBytes` reports the exact figure).
 */

/** One bank hash to index: the 64-hex-char PDQ and the caller's id for it (e.g. a row number). */
export interface PdqIndexEntry {
  hash: string;
  id: number;
}

export interface PdqIndexHit {
  id: number;
  distance: number;
}

export interface PdqIndex {
  /** Every entry within `maxDistance` (0..256) of `hash`, nearest first (ties in insertion order). */
  query(hash: string, maxDistance: number): PdqIndexHit[];
  /** Number of entries indexed. */
  readonly size: number;
  /** Bytes held by the index's typed arrays. */
  readonly memoryBytes: number;
}

const WORDS = 8; // 32-bit words per hash
const SLOTS = 16; // 16-bit slots per hash
const SLOT_VALUES = 1 << 16;

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Writes the hash's eight big-endian 32-bit words at out[at..at+8); false if it is not 64 hex digits. */
export function parsePdqWords(hash: string, out: Uint32Array, at: number): boolean {
  if (hash.length !== 64) return false;
  for (let w = 0; w < WORDS; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const n = hexNibble(hash.charCodeAt(w * 8 + k));
      if (n < 0) return false;
      v = (v << 4) | n;
    }
    out[at + w] = v >>> 0;
  }
  return true;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Distance between the query words q and stored hash i, or maxDistance + 1 once it is exceeded. */
function distanceAt(words: Uint32Array, i: number, q: Uint32Array, maxDistance: number): number {
  const base = i * WORDS;
  let d = popcount32(((words[base] as number) ^ (q[0] as number)) >>> 0);
  d += popcount32(((words[base + 1] as number) ^ (q[1] as number)) >>> 0);
  d += popcount32(((words[base + 2] as number) ^ (q[2] as number)) >>> 0);
  d += popcount32(((words[base + 3] as number) ^ (q[3] as number)) >>> 0);
  if (d > maxDistance) return maxDistance + 1;
  d += popcount32(((words[base + 4] as number) ^ (q[4] as number)) >>> 0);
  d += popcount32(((words[base + 5] as number) ^ (q[5] as number)) >>> 0);
  d += popcount32(((words[base + 6] as number) ^ (q[6] as number)) >>> 0);
  d += popcount32(((words[base + 7] as number) ^ (q[7] as number)) >>> 0);
  return d;
}

/** Slot s (0..15) of hash i: 16 bits, slot 0 the first four hex digits. */
function slotOf(words: Uint32Array, base: number, s: number): number {
  const w = words[base + (s >> 1)] as number;
  return s & 1 ? w & 0xffff : w >>> 16;
}

/** All 16-bit masks with at most r bits set, fewest bits first. */
const masksCache = new Map<number, Uint16Array>();
function masksWithin(r: number): Uint16Array {
  let masks = masksCache.get(r);
  if (!masks) {
    const list: number[] = [];
    for (let bits = 0; bits <= r; bits++) {
      for (let m = 0; m < SLOT_VALUES; m++) if (popcount32(m) === bits) list.push(m);
    }
    masks = Uint16Array.from(list);
    masksCache.set(r, masks);
  }
  return masks;
}

/** Number of slot keys probed per slot at radius r: Σ C(16, k), k ≤ r. */
function probesAt(r: number): number {
  let total = 0;
  let c = 1;
  for (let k = 0; k <= Math.min(r, 16); k++) {
    total += c;
    c = (c * (16 - k)) / (k + 1);
  }
  return total;
}

function checkDistance(maxDistance: number): void {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 256) {
    throw new RangeError(`maxDistance must be an integer 0..256, got ${maxDistance}`);
  }
}

function parseQuery(hash: string, q: Uint32Array): void {
  if (!parsePdqWords(hash, q, 0)) {
    throw new RangeError(`not a PDQ hash (64 hex digits): ${JSON.stringify(hash.slice(0, 80))}`);
  }
}

/** Hash words and ids of the entries, validated. */
function load(entries: readonly PdqIndexEntry[]): { words: Uint32Array; ids: Float64Array } {
  const words = new Uint32Array(entries.length * WORDS);
  const ids = new Float64Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as PdqIndexEntry;
    if (typeof e.hash !== 'string' || !parsePdqWords(e.hash, words, i * WORDS)) {
      throw new RangeError(
        `entry ${i}: not a PDQ hash (64 hex digits): ${JSON.stringify(String(e.hash).slice(0, 80))}`,
      );
    }
    ids[i] = e.id;
  }
  return { words, ids };
}

function sortHits(hits: { index: number; distance: number }[], ids: Float64Array): PdqIndexHit[] {
  hits.sort((a, b) => a.distance - b.distance || a.index - b.index);
  return hits.map((h) => ({ id: ids[h.index] as number, distance: h.distance }));
}

function scan(words: Uint32Array, n: number, q: Uint32Array, maxDistance: number) {
  const hits: { index: number; distance: number }[] = [];
  for (let i = 0; i < n; i++) {
    const d = distanceAt(words, i, q, maxDistance);
    if (d <= maxDistance) hits.push({ index: i, distance: d });
  }
  return hits;
}

/** The same interface by comparing the query with every entry: the baseline, and fine for small banks. */
export function createLinearPdqIndex(entries: readonly PdqIndexEntry[]): PdqIndex {
  const { words, ids } = load(entries);
  const q = new Uint32Array(WORDS);
  return {
    size: entries.length,
    memoryBytes: words.byteLength + ids.byteLength,
    query(hash, maxDistance) {
      checkDistance(maxDistance);
      parseQuery(hash, q);
      return sortHits(scan(words, entries.length, q, maxDistance), ids);
    },
  };
}

/**
 * A multi-index-hashing PDQ index over `entries` (validated: a malformed hash throws with its
 * position). Queries are exact for any maxDistance; distances up to 63 use the slot tables.
 */
export function createPdqIndex(entries: readonly PdqIndexEntry[]): PdqIndex {
  const { words, ids } = load(entries);
  const n = entries.length;
  // Per slot, a counting sort of the entries by the slot's value: members of key k are
  // members[offsets[k]..offsets[k+1]).
  const offsets: Uint32Array[] = [];
  const members: Uint32Array[] = [];
  for (let s = 0; s < SLOTS; s++) {
    const off = new Uint32Array(SLOT_VALUES + 1);
    for (let i = 0; i < n; i++) {
      const k = slotOf(words, i * WORDS, s) + 1;
      off[k] = (off[k] as number) + 1;
    }
    for (let k = 0; k < SLOT_VALUES; k++) off[k + 1] = (off[k + 1] as number) + (off[k] as number);
    const fill = off.slice(0, SLOT_VALUES);
    const mem = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = slotOf(words, i * WORDS, s);
      mem[fill[k] as number] = i;
      fill[k] = (fill[k] as number) + 1;
    }
    offsets.push(off);
    members.push(mem);
  }
  const memoryBytes =
    words.byteLength +
    ids.byteLength +
    offsets.reduce((t, a) => t + a.byteLength, 0) +
    members.reduce((t, a) => t + a.byteLength, 0);
  const q = new Uint32Array(WORDS);

  return {
    size: n,
    memoryBytes,
    query(hash, maxDistance) {
      checkDistance(maxDistance);
      parseQuery(hash, q);
      const r = Math.floor(maxDistance / SLOTS);
      // Probing visits about SLOTS·probes/65536 of the entries per query (uniform hashes), plus a
      // bucket lookup per probe: past half the bank a scan is cheaper.
      if ((SLOTS * probesAt(r)) / SLOT_VALUES > 0.5 || n === 0) {
        return sortHits(n === 0 ? [] : scan(words, n, q, maxDistance), ids);
      }
      const masks = masksWithin(r);
      const hits: { index: number; distance: number }[] = [];
      // An entry can be a candidate in several slots; matches are few, so they are deduplicated
      // (not the far more numerous rejected candidates).
      let seen: Set<number> | undefined;
      for (let s = 0; s < SLOTS; s++) {
        const key = slotOf(q, 0, s);
        const off = offsets[s] as Uint32Array;
        const mem = members[s] as Uint32Array;
        for (let m = 0; m < masks.length; m++) {
          const k = key ^ (masks[m] as number);
          const end = off[k + 1] as number;
          for (let p = off[k] as number; p < end; p++) {
            const i = mem[p] as number;
            const d = distanceAt(words, i, q, maxDistance);
            if (d > maxDistance) continue;
            seen ??= new Set();
            if (seen.has(i)) continue;
            seen.add(i);
            hits.push({ index: i, distance: d });
          }
        }
      }
      return sortHits(hits, ids);
    },
  };
}
