import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type AutoDecision,
  classifyItem,
  createReplayTally,
  formatReport,
  type ReplayPolicy,
  replayDecision,
  replayPolicy,
  replayTable,
  type StoredVerdict,
} from '#ops/replay.ts';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import type { VerdictMatch } from '#shared/domain/verdict.ts';
import { applyPolicy, type Policy, parsePolicy } from '#shared/policy/policy.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

// Frozen copies of the presets (test/fixtures/policies/): the cases below are about how replay
// applies thresholds, so they must not move when the models are retrained and the presets refit.
const fixture = (name: string): Policy =>
  parsePolicy(JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/policies', `${name}-v2.json`), 'utf8')));
const balanced = fixture('balanced');
const strict = fixture('strict');
const lenient = fixture('lenient');
const RANK: Record<AutoDecision, number> = { allow: 0, review: 1, block: 2 };

const term: VerdictMatch = {
  bank: 'blocklist',
  kind: 'deny',
  label: 'zorblax',
  signalType: 'term',
  signal: 'zorblax',
  distance: 0,
  source: 's3://b/uploads/a.txt',
  channel: 'text',
  range: [0, 7],
};
const denyBank: VerdictMatch = {
  bank: 'removed-2026',
  kind: 'deny',
  label: 'known',
  signalType: 'pdq',
  signal: 'ab'.repeat(32),
  distance: 3,
  source: 's3://b/uploads/a.png',
};
const allowBank: VerdictMatch = { ...denyBank, bank: 'false-positives', kind: 'allow' };

const verdict = (over: Partial<StoredVerdict> = {}): StoredVerdict => ({
  pk: 'b/uploads/a.txt#v1',
  object: 's3://b/uploads/a.txt',
  decision: 'allow',
  categories: { hate: 0.1, harassment: 0.1, offensive: 0.1 },
  reasons: [],
  policyVersion: balanced.version,
  createdAt: '2026-11-22T18:00:00.000Z',
  ...over,
});

describe('replayDecision', () => {
  it('recomputes the decision from the stored scores under the new thresholds', () => {
    const v = verdict({ categories: { harassment: 0.7, offensive: 0.3 } });
    expect(replayDecision(v, replayPolicy(balanced)).decision).toBe('review');
    const replayed = replayDecision(v, replayPolicy(strict));
    expect(replayed.decision).toBe('block');
    expect(replayed.reasons).toEqual([`harassment 0.70 ≥ block ${strict.thresholds.harassment!.block}`]);
  });

  it('keeps a deny-bank match a block under any policy, with no scores to go by', () => {
    const v = verdict({ decision: 'block', categories: {}, matches: [denyBank] });
    const replayed = replayDecision(v, replayPolicy(lenient));
    expect(replayed.decision).toBe('block');
    expect(replayed.reasons[0]).toMatch(/deny bank removed-2026/);
  });

  it('scores a deny-bank match that an allow bank exempts, as the judge does', () => {
    const v = verdict({ categories: { harassment: 0.1 }, matches: [denyBank, allowBank] });
    expect(replayDecision(v, replayPolicy(strict)).decision).toBe('allow');
  });

  it("gives a blocklist hit the new policy's action, and never lowers a decision with it", () => {
    const v = verdict({ decision: 'review', matches: [term] });
    expect(replayDecision(v, replayPolicy(balanced)).decision).toBe('review');
    const replayed = replayDecision(v, replayPolicy(strict));
    expect(replayed.decision).toBe('block');
    expect(replayed.reasons[0]).toBe('blocklist: "zorblax" → block');
    const blocked = verdict({ categories: { harassment: 0.95 }, matches: [term] });
    expect(replayDecision(blocked, replayPolicy(balanced)).decision).toBe('block');
  });

  it('asks a person about a partial verdict, also one stored before `partial` was kept', () => {
    expect(replayDecision(verdict({ partial: true }), replayPolicy(lenient)).decision).toBe('review');
    const old = verdict({ decision: 'review', reasons: ['part of the upload was not scored'] });
    expect(replayDecision(old, replayPolicy(lenient)).decision).toBe('review');
    const noReview: Policy = { ...lenient, reviewWhenPartial: false };
    expect(replayDecision(verdict({ partial: true }), replayPolicy(noReview)).decision).toBe('allow');
  });
});

const scores = fc.dictionary(fc.constantFrom(...CATEGORIES), fc.double({ min: 0, max: 1, noNaN: true }));
const preset = fc.constantFrom(balanced, strict, lenient);
const matchesArb = fc.constantFrom<VerdictMatch[] | undefined>(
  undefined,
  [],
  [term],
  [denyBank],
  [denyBank, allowBank],
  [denyBank, term],
);

/** A policy and a stricter one: every threshold lower or equal, partial reviewed if it was. */
const policyPair = fc
  .tuple(
    fc.array(
      fc.tuple(fc.double({ min: 0, max: 1.01, noNaN: true }), fc.double({ min: 0, max: 1.01, noNaN: true })),
      {
        minLength: CATEGORIES.length,
        maxLength: CATEGORIES.length,
      },
    ),
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
      minLength: CATEGORIES.length * 2,
      maxLength: CATEGORIES.length * 2,
    }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom<'review' | 'block'>('review', 'block'),
    fc.boolean(),
  )
  .map(([pairs, shrink, partialLoose, partialStrict, looseAction, raiseAction]) => {
    const loose: Record<string, { review: number; block: number }> = {};
    const tight: Record<string, { review: number; block: number }> = {};
    CATEGORIES.forEach((c, i) => {
      const [a, b] = pairs[i]!;
      const [review, block] = a <= b ? [a, b] : [b, a];
      loose[c] = { review, block };
      const block2 = block * shrink[2 * i]!;
      tight[c] = { review: Math.min(review * shrink[2 * i + 1]!, block2), block: block2 };
    });
    const make = (name: string, thresholds: typeof loose, reviewWhenPartial: boolean): Policy => ({
      name,
      version: `${name}-1`,
      thresholds,
      reviewWhenPartial,
    });
    const looser: ReplayPolicy = {
      policy: make('looser', loose, partialLoose),
      blocklistAction: looseAction,
    };
    const stricter: ReplayPolicy = {
      policy: make('stricter', tight, partialLoose || partialStrict),
      blocklistAction: raiseAction ? 'block' : looseAction,
    };
    return { looser, stricter };
  });

describe('replay properties', () => {
  it("reproduces the stored decision with the verdict's own policy (no matches)", () => {
    fc.assert(
      fc.property(preset, scores, fc.boolean(), (policy, categories, partial) => {
        const decision = applyPolicy(policy, categories, partial).decision;
        const v = verdict({
          decision,
          categories,
          ...(partial && { partial }),
          policyVersion: policy.version,
        });
        expect(replayDecision(v, replayPolicy(policy)).decision).toBe(decision);
      }),
    );
  });

  it('never lowers a decision under a stricter policy', () => {
    fc.assert(
      fc.property(
        policyPair,
        scores,
        fc.boolean(),
        matchesArb,
        ({ looser, stricter }, categories, partial, m) => {
          const v = verdict({ categories, partial, ...(m && { matches: m }) });
          const a = replayDecision(v, looser).decision;
          const b = replayDecision(v, stricter).decision;
          expect(RANK[b]).toBeGreaterThanOrEqual(RANK[a]);
        },
      ),
    );
  });

  it('orders the presets: lenient ≤ balanced ≤ strict on any verdict', () => {
    fc.assert(
      fc.property(scores, fc.boolean(), matchesArb, (categories, partial, m) => {
        const v = verdict({ categories, partial, ...(m && { matches: m }) });
        const [l, b, s] = [lenient, balanced, strict].map(
          (p) => RANK[replayDecision(v, replayPolicy(p)).decision],
        );
        expect(l).toBeLessThanOrEqual(b!);
        expect(b).toBeLessThanOrEqual(s!);
      }),
    );
  });
});

describe('the tally', () => {
  it('tells verdicts from pointers, error verdicts and other items', () => {
    expect(classifyItem({ pk: 'latest#b/uploads/a.txt', verdictPk: 'x', sequencer: '1' })).toBe('pointer');
    expect(classifyItem({ pk: 'b/k#v', decision: 'error', categories: {} })).toBe('error');
    expect(classifyItem({ pk: 'b/k#v', decision: 'review', categories: {} })).toBe('verdict');
    expect(classifyItem({ pk: 'b/k#v', hits: 3 })).toBe('other');
  });

  it('counts every item once, transitions by pair, and keeps the most recent examples', () => {
    const tally = createReplayTally(replayPolicy(strict), { examples: 2, since: '2026-11-01T00:00:00.000Z' });
    const moved = (i: number) =>
      verdict({
        pk: `b/k${i}#v`,
        object: `s3://b/k${i}`,
        categories: { harassment: 0.5 },
        createdAt: `2026-11-2${i}T00:00:00.000Z`,
      });
    for (let i = 0; i < 4; i++) tally.add(moved(i));
    tally.add(
      verdict({ pk: 'b/old#v', createdAt: '2026-10-01T00:00:00.000Z', categories: { harassment: 0.9 } }),
    );
    tally.add(verdict({ pk: 'b/same#v' }));
    tally.add({ pk: 'latest#b/k0', verdictPk: 'b/k0#v', sequencer: '1' });
    tally.add({ pk: 'b/bad#v', decision: 'error', categories: {}, error: { code: 'EMPTY_OBJECT' } });
    tally.addReadUnits(1.5);
    tally.addReadUnits(2);
    const r = tally.report();

    expect(r.scanned).toBe(8);
    expect(r.skipped).toEqual({ pointers: 1, errors: 1, beforeSince: 1, other: 0 });
    expect(r.replayed).toBe(5);
    expect(r.transitions).toEqual({ 'allow→review': 4 });
    expect(r.unchanged).toEqual({ allow: 1, review: 0, block: 0 });
    expect(r.examples['allow→review']?.map((e) => e.object)).toEqual(['s3://b/k3', 's3://b/k2']);
    // balanced and strict are both presets: the score that crossed a threshold is the one shown.
    expect(r.examples['allow→review']?.[0]?.scores).toEqual({ harassment: 0.5 });
    expect(r.storedPolicies).toEqual({ [balanced.version]: 5 });
    expect(r.readUnits).toBe(3.5);
  });

  it("counts the person's decisions the replayed and the stored automatic decisions contradict", () => {
    const tally = createReplayTally(replayPolicy(strict));
    const person = (decision: 'allow' | 'block') => ({
      decision,
      reviewer: 'r',
      at: '2026-11-23T00:00:00.000Z',
      reason: 'x',
      kind: 'review' as const,
    });
    // Reviewers allowed it; strict blocks it (balanced asked them).
    tally.add(verdict({ decision: 'review', categories: { harassment: 0.7 }, review: person('allow') }));
    // Reviewers blocked it; both policies allow it.
    tally.add(verdict({ pk: 'b/2#v', categories: { offensive: 0.1 }, review: person('block') }));
    // Reviewers blocked it; strict agrees.
    tally.add(
      verdict({ pk: 'b/3#v', decision: 'review', categories: { harassment: 0.7 }, review: person('block') }),
    );
    const { people } = tally.report();
    expect(people.decided).toBe(3);
    expect(people.replayedContradicts).toEqual({ blocksAllowed: 1, allowsBlocked: 1 });
    expect(people.storedContradicted).toEqual({ blocksAllowed: 0, allowsBlocked: 1 });
    expect(people.examples.map((e) => e.person).sort()).toEqual(['allow', 'block']);
  });

  it('prints the transitions, examples and contradictions', () => {
    const tally = createReplayTally(replayPolicy(strict));
    tally.add(verdict({ categories: { harassment: 0.5 } }));
    tally.add(verdict({ pk: 'b/2#v' }));
    const text = formatReport(tally.report());
    expect(text).toMatch(/^replay of policy strict \(strict-[^;]+; blocklist hits → block\)/);
    expect(text).toMatch(/allow → review\s+1\s+50\.0%/);
    expect(text).toMatch(/unchanged\s+1\s+50\.0%\s+\(allow 1, review 0, block 0\)/);
    expect(text).toMatch(
      /allow → review \(1\), e\.g\.:\n {2}s3:\/\/b\/uploads\/a\.txt\n\s+scores: harassment 0\.50; harassment 0\.50 ≥ review/,
    );
    expect(text).toMatch(/people: no replayed verdict/);
  });
});

describe('the tally with re-scored inputs (--models)', () => {
  it('decides on the new scores, shows old → new, and counts withheld verdicts as read, not replayed', () => {
    const tally = createReplayTally(replayPolicy(balanced));
    const v = verdict({ categories: { harassment: 0.05, offensive: 0.01 } });
    expect(tally.accepts(v)).toBe(true);
    tally.add(v, { categories: { harassment: 0.9, offensive: 0.01 }, partial: false });
    const withheld = verdict({ pk: 'b/none#v' });
    tally.withhold(withheld);
    const pointer = { pk: 'latest#b/k', verdictPk: 'b/k#v', sequencer: '1' };
    expect(tally.accepts(pointer)).toBe(false);
    expect(() => tally.withhold(pointer)).toThrow();
    tally.add(pointer);
    const r = tally.report();

    expect(r).toMatchObject({ scanned: 3, replayed: 1, skipped: { pointers: 1 } });
    expect(r.transitions).toEqual({ 'allow→block': 1 });
    // The frozen fixture's version is no current preset's: the highest new scores, beside the stored ones.
    expect(r.examples['allow→block']?.[0]).toMatchObject({
      scores: { harassment: 0.9, offensive: 0.01 },
      storedScores: { harassment: 0.05, offensive: 0.01 },
    });
    expect(formatReport(r)).toMatch(
      /scores: harassment 0\.05 → 0\.90, offensive 0\.01 → 0\.01; harassment 0\.90 ≥ block/,
    );
  });

  it('a re-scored partial flag asks for review as the stored one does', () => {
    const tally = createReplayTally(replayPolicy(balanced));
    tally.add(verdict(), { categories: { harassment: 0.01 }, partial: true });
    expect(tally.report().transitions).toEqual({ 'allow→review': 1 });
  });

  it('prints the models section: counts, versions before and after, shifts', () => {
    const tally = createReplayTally(replayPolicy(balanced));
    tally.add(verdict(), { categories: { harassment: 0.1 }, partial: false });
    const text = formatReport({
      ...tally.report(),
      models: {
        pack: { arg: 'packs/x', name: 'x', models: ['text-bert 1', 'image-clip 1', 'fusion 2.0.0'] },
        withInputs: 2,
        rescored: 1,
        knownContent: 0,
        noInputs: 4,
        notRescorable: { 'image pixels not kept (KEEP_INPUTS=text)': 1 },
        versions: { before: { 'text-toxicity 2.0.0': 1 }, after: { 'text-bert 1': 1 } },
        categories: {
          harassment: {
            n: 1,
            meanBefore: 0.1,
            meanAfter: 0.1,
            meanShift: 2e-8,
            maxAbsShift: 2e-8,
            onlyBefore: 0,
            onlyAfter: 0,
          },
        },
        inputBytes: 2_500_000,
      },
    });
    expect(text).toMatch(/^replay of policy balanced .* on model pack x \(packs\/x\)\n/);
    expect(text).toMatch(/1 verdict replayed, 5 not \(see below\)/);
    expect(text).toMatch(/re-scored 1 verdict from their kept inputs \(2\.5 MB read\) with text-bert 1/);
    expect(text).toMatch(/no kept inputs: 4 \(made while KEEP_INPUTS kept nothing/);
    expect(text).toMatch(/not re-scorable: 1 — image pixels not kept \(KEEP_INPUTS=text\): 1 — not replayed/);
    expect(text).toMatch(/models before: text-toxicity 2\.0\.0 \(1\)\nmodels after: {2}text-bert 1 \(1\)/);
    expect(text).toMatch(/harassment\s+1\s+0\.1000\s+0\.1000\s+2\.0e-8\s+2\.0e-8/);
  });
});

describe('replayTable', () => {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const ddb = mockClient(doc);
  beforeEach(() => ddb.reset());

  it('scans every segment to its last page, eventually consistent, and writes nothing', async () => {
    ddb
      .on(ScanCommand)
      .callsFake((input: { Segment?: number; ExclusiveStartKey?: Record<string, unknown> }) => {
        const s = input.Segment ?? 0;
        const page = input.ExclusiveStartKey ? 2 : 1;
        return {
          Items: [verdict({ pk: `b/s${s}p${page}#v`, categories: { harassment: 0.5 } })],
          ConsumedCapacity: { CapacityUnits: 0.5 },
          ...(page === 1 && { LastEvaluatedKey: { pk: `b/s${s}p1#v` } }),
        };
      });

    const report = await replayTable({ doc, tableName: 'verdicts', policy: strict, segments: 3 });

    const calls = ddb.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(6);
    expect(new Set(calls.map((c) => `${c.Segment}/${c.TotalSegments}`))).toEqual(
      new Set(['0/3', '1/3', '2/3']),
    );
    expect(calls.every((c) => c.TableName === 'verdicts' && !c.ConsistentRead)).toBe(true);
    expect(ddb.calls()).toHaveLength(6);
    expect(report.replayed).toBe(6);
    expect(report.transitions).toEqual({ 'allow→review': 6 });
    expect(report.readUnits).toBe(3);
  });

  it('refuses a segment count DynamoDB would refuse', async () => {
    await expect(replayTable({ doc, tableName: 't', policy: strict, segments: 0 })).rejects.toThrow(
      /segments/,
    );
  });
});
