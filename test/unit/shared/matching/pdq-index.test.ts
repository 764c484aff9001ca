/**
 * The multi-index-hashing PDQ index against a linear scan, on random hashes with planted
 * neighbours where an approximate method (or an off-by-one in the pigeonhole radius) would lose
 * them: at 30, 31 and 32 bits; 31 bits spread so that only one 16-bit slot is within ⌊31/16⌋ = 1
 * bit; and 32 bits spread 2 to every slot (no slot within 1 bit, and correctly no match at 31).
 */
import { describe, expect, it } from 'vitest';
import { hammingDistance } from '#shared/matching/pdq.ts';
import { createLinearPdqIndex, createPdqIndex, type PdqIndexEntry } from '#shared/matching/pdq-index.ts';

/** A small deterministic generator (mulberry32), so a failure is reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHash(next: () => number): string {
  let hex = '';
  for (let i = 0; i < 8; i++)
    hex += Math.floor(next() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return hex;
}

/** `hash` with the given bit positions (0 = most significant bit of the first hex digit) flipped. */
function flipBits(hash: string, bits: Iterable<number>): string {
  const nibbles = [...hash].map((c) => Number.parseInt(c, 16));
  for (const b of bits) nibbles[b >> 2] = (nibbles[b >> 2] as number) ^ (8 >> (b & 3));
  return nibbles.map((n) => n.toString(16)).join('');
}

function flipRandom(hash: string, count: number, next: () => number): string {
  const bits = new Set<number>();
  while (bits.size < count) bits.add(Math.floor(next() * 256));
  return flipBits(hash, bits);
}

/** Flips `perSlot[s]` bits inside 16-bit slot s (slot s = hex digits 4s..4s+3). */
function flipPerSlot(hash: string, perSlot: readonly number[]): string {
  const bits: number[] = [];
  perSlot.forEach((n, s) => {
    for (let k = 0; k < n; k++) bits.push(s * 16 + ((k * 7) % 16));
  });
  return flipBits(hash, bits);
}

const sorted = (hits: { id: number; distance: number }[]) =>
  [...hits].sort((a, b) => a.distance - b.distance || a.id - b.id);

describe('createPdqIndex', () => {
  const next = rng(18);
  const queries = Array.from({ length: 40 }, () => randomHash(next));
  const entries: PdqIndexEntry[] = Array.from({ length: 20_000 }, (_, id) => ({
    hash: randomHash(next),
    id,
  }));
  // Neighbours of each query at the boundary distances, and in clusters to exercise duplicates.
  for (const q of queries) {
    for (const d of [0, 1, 15, 16, 17, 29, 30, 31, 32, 33, 47, 48, 63, 64]) {
      entries.push({ hash: flipRandom(q, d, next), id: entries.length });
    }
    // 31 bits spread 2 per slot on 15 slots and 1 on the last: only one slot is within radius 1.
    entries.push({ hash: flipPerSlot(q, [...Array(15).fill(2), 1]), id: entries.length });
    // 32 bits, 2 per slot: no slot within radius 1, and correctly not a match at 31.
    entries.push({ hash: flipPerSlot(q, Array(16).fill(2)), id: entries.length });
    // 31 bits all in two slots.
    entries.push({ hash: flipPerSlot(q, [16, 15]), id: entries.length });
  }
  entries.push({ hash: entries[0]?.hash.toUpperCase() ?? '', id: 1_000_000 }); // a duplicate, upper case
  const index = createPdqIndex(entries);
  const linear = createLinearPdqIndex(entries);

  it('finds exactly what a linear scan finds, at every distance from 0 to 100', () => {
    // Assert
    for (const q of [...queries, entries[0]?.hash ?? '']) {
      for (const d of [0, 1, 15, 16, 17, 30, 31, 32, 47, 48, 63, 64, 100]) {
        expect(sorted(index.query(q, d)), `distance ${d}`).toEqual(sorted(linear.query(q, d)));
      }
    }
  });

  it('finds the planted neighbours at 30 and 31 bits and not the one at 32', () => {
    // Arrange
    const q = queries[0] ?? '';
    const byDistance = new Map(entries.map((e) => [e.id, hammingDistance(e.hash, q)]));

    // Act
    const hits = index.query(q, 31);

    // Assert
    const found = new Set(hits.map((h) => h.id));
    const planted = entries.filter((e) => (byDistance.get(e.id) as number) <= 31);
    expect(planted.length).toBe(10);
    for (const e of planted) expect(found.has(e.id), `id ${e.id}`).toBe(true);
    expect(hits.some((h) => h.distance === 30)).toBe(true);
    expect(hits.filter((h) => h.distance === 31).length).toBeGreaterThanOrEqual(3);
    expect(hits.every((h) => h.distance <= 31)).toBe(true);
    for (const h of hits) expect(h.distance).toBe(byDistance.get(h.id));
  });

  it('returns hits nearest first, each entry once, duplicates under both ids', () => {
    // Act
    const hits = index.query(entries[0]?.hash ?? '', 31);

    // Assert
    expect(hits.map((h) => h.distance)).toEqual([...hits.map((h) => h.distance)].sort((a, b) => a - b));
    expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
    expect(hits.slice(0, 2)).toEqual([
      { id: 0, distance: 0 },
      { id: 1_000_000, distance: 0 },
    ]);
  });

  it('reports its size and memory', () => {
    // Assert
    expect(index.size).toBe(entries.length);
    expect(index.memoryBytes).toBeGreaterThan(entries.length * 32);
  });

  it('refuses a malformed bank hash with its position, and a malformed query or distance', () => {
    // Assert
    expect(() => createPdqIndex([{ hash: 'ab', id: 1 }])).toThrow(/entry 0: not a PDQ hash/);
    expect(() => createPdqIndex([{ hash: `${'0'.repeat(63)}g`, id: 1 }])).toThrow(/entry 0/);
    expect(() => index.query('xyz', 31)).toThrow(/not a PDQ hash/);
    expect(() => index.query(queries[0] ?? '', -1)).toThrow(/maxDistance/);
    expect(() => index.query(queries[0] ?? '', 1.5)).toThrow(/maxDistance/);
  });

  it('answers an empty bank with no hits', () => {
    // Assert
    expect(createPdqIndex([]).query(queries[0] ?? '', 31)).toEqual([]);
    expect(createPdqIndex([]).size).toBe(0);
  });
});
