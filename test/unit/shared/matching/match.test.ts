import { describe, expect, it } from 'vitest';
import type { Bank } from '#shared/matching/banks.ts';
import { createBankMatcher, MIN_PDQ_QUALITY, matchKnownContent } from '#shared/matching/match.ts';
import { staticMatchLists } from '#shared/matching/store.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import type { Signal } from '#shared/matching/types.ts';

const PDQ = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
/** PDQ with the first `bits` bits flipped: at Hamming distance `bits`. */
function flipped(hash: string, bits: number): string {
  const n = BigInt(`0x${hash}`) ^ ((1n << BigInt(bits)) - 1n);
  return n.toString(16).padStart(64, '0');
}
const MD5 = '0123456789abcdef0123456789abcdef';

const bank = (name: string, kind: Bank['kind'], entries: Bank['entries'], pdqDistance = 31): Bank => ({
  name,
  kind,
  pdqDistance,
  entries,
});
const pdq = (signal: string, source = 's3://b/a.png', extra: Partial<Signal> = {}): Signal => ({
  signalType: 'pdq',
  signal,
  quality: 100,
  source,
  ...extra,
});

describe('bank matching', () => {
  it('matches PDQ within each bank’s own distance and exact hashes by equality', () => {
    const matcher = createBankMatcher([
      bank('wide', 'deny', [{ signalType: 'pdq', signal: PDQ, label: 'terror' }], 31),
      bank('tight', 'deny', [{ signalType: 'pdq', signal: PDQ, label: 'csam' }], 10),
      bank('exact', 'deny', [{ signalType: 'md5', signal: MD5, label: 'removed' }]),
    ]);
    expect(matcher.match([pdq(flipped(PDQ, 20))]).map((h) => [h.bank, h.distance])).toEqual([['wide', 20]]);
    expect(matcher.match([pdq(flipped(PDQ, 4))]).map((h) => h.bank)).toEqual(['wide', 'tight']);
    expect(matcher.match([pdq(flipped(PDQ, 32))])).toEqual([]);
    expect(
      matcher.match([{ signalType: 'md5', signal: MD5.toUpperCase(), source: 's3://b/x' }]),
    ).toMatchObject([{ bank: 'exact', label: 'removed', distance: 0, source: 's3://b/x' }]);
  });

  it('reports a bank once per signal of the upload, however often the bank lists it', () => {
    const twice = { signalType: 'md5' as const, signal: MD5, label: 'l' };
    const matcher = createBankMatcher([bank('b', 'deny', [twice, twice])]);
    expect(matcher.match([{ signalType: 'md5', signal: MD5, source: 's' }])).toHaveLength(1);
  });

  it('does not match low-quality PDQ (flat images collide)', () => {
    const matcher = createBankMatcher([bank('b', 'deny', [{ signalType: 'pdq', signal: PDQ, label: 'l' }])]);
    expect(matcher.match([pdq(PDQ, 's', { quality: MIN_PDQ_QUALITY - 1 })])).toEqual([]);
  });

  it('uses the multi-index for large banks with the same results', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({
      signalType: 'pdq' as const,
      signal: flipped(PDQ, 64 + (i % 100)),
      label: `x${i}`,
    }));
    const matcher = createBankMatcher([
      bank('big', 'deny', [...many, { signalType: 'pdq', signal: PDQ, label: 'hit' }]),
    ]);
    expect(matcher.match([pdq(flipped(PDQ, 3))]).map((h) => h.label)).toEqual(['hit']);
  });
});

describe('the matching step', () => {
  const lists = async (input: Parameters<typeof staticMatchLists>[0]) => staticMatchLists(input).current();
  const deny = bank('known-abuse', 'deny', [{ signalType: 'pdq', signal: PDQ, label: 'terror' }]);

  it('blocks on a deny match, with the evidence, and says the models were not needed', async () => {
    const known = matchKnownContent(
      { channels: {}, signals: [pdq(flipped(PDQ, 5), 's3://b/p.gif', { frameMs: 1200 })] },
      await lists({ banks: [deny] }),
    );
    expect(known).toMatchObject({ denied: true, decision: 'block' });
    expect(known.matches).toEqual([
      {
        bank: 'known-abuse',
        kind: 'deny',
        label: 'terror',
        signalType: 'pdq',
        signal: PDQ,
        distance: 5,
        source: 's3://b/p.gif',
        frameMs: 1200,
      },
    ]);
    expect(known.reasons[0]).toMatch(/deny bank known-abuse \(terror; pdq distance 5\)/);
  });

  it('lets an allow bank exempt the upload from the deny banks', async () => {
    const allow = bank('false-positives', 'allow', [
      { signalType: 'pdq', signal: flipped(PDQ, 2), label: 'art' },
    ]);
    const known = matchKnownContent(
      { channels: {}, signals: [pdq(PDQ)] },
      await lists({ banks: [deny, allow] }),
    );
    expect(known.denied).toBe(false);
    expect(known.decision).toBeUndefined();
    expect(known.matches.map((m) => m.kind)).toEqual(['deny', 'allow']);
    expect(known.reasons).toEqual(['deny bank known-abuse matched, exempted by allow bank false-positives']);
  });

  it('matches a post when any of its media matches (their signals are merged into the post’s)', async () => {
    const signals = [
      pdq(flipped(PDQ, 200), 's3://b/post/cat.png'),
      pdq(flipped(PDQ, 1), 's3://b/post/bridge.png'),
    ];
    const known = matchKnownContent({ channels: {}, signals }, await lists({ banks: [deny] }));
    expect(known.denied).toBe(true);
    expect(known.matches[0]?.source).toBe('s3://b/post/bridge.png');
  });

  it('reports blocklist hits in typed text, OCR and transcripts with their ranges, at the policy’s action', async () => {
    const blocklist = parseTermList('idiot\n', 'blocklist');
    const channels = {
      text: [
        { source: 's3://b/post.json#text', text: 'what an 1d10t', range: [100, 113] as [number, number] },
      ],
      ocr: [
        {
          source: 's3://b/v.mp4',
          text: 'IDIOT',
          timestampMs: 2000,
          timeRangeMs: [2000, 3000] as [number, number],
        },
      ],
    };
    const strict = matchKnownContent({ channels }, await lists({ blocklist, policyName: 'strict' }));
    expect(strict.decision).toBe('block');
    expect(strict.matches).toEqual([
      expect.objectContaining({
        bank: 'blocklist',
        label: 'idiot',
        signalType: 'term',
        signal: '1d10t',
        channel: 'text',
        range: [108, 113],
      }),
      expect.objectContaining({
        signal: 'IDIOT',
        channel: 'ocr',
        range: [0, 5],
        frameMs: 2000,
        timeRangeMs: [2000, 3000],
      }),
    ]);
    const balanced = matchKnownContent({ channels }, await lists({ blocklist, policyName: 'balanced' }));
    expect(balanced.decision).toBe('review');
    expect(balanced.reasons).toEqual(['blocklist: "idiot" → review']);
  });
});
