/**
 * Replay end to end: a few hundred verdicts made by the real pipeline (the local API's judge, plus
 * two S3 uploads for a latest# pointer and an error verdict) are kept in a data folder; the stack
 * stops, and replay opens the folder's DynamoDB on its own and re-applies balanced (nothing moves)
 * and strict (counts add up, nothing goes down, the person's decisions it contradicts are counted).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApi } from '#local/api.ts';
import { startLocalStack } from '#local/stack.ts';
import {
  type AutoDecision,
  LocalVerdictsError,
  openLocalVerdicts,
  type ReplayReport,
  replayTable,
  type Transition,
} from '#ops/replay.ts';
import { verdictPkOf } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { applyPolicy, loadPolicy } from '#shared/policy/policy.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const TERM = 'zorblax';
const COUNT = 300;
const PEOPLE_ALLOWED = 3;
const RANK: Record<AutoDecision, number> = { allow: 0, review: 1, block: 2 };

/** Short texts from mild to abusive, every 15th with the blocklist term (balanced reviews it, strict blocks). */
function texts(): string[] {
  const who = [
    'you',
    'your friend',
    'that guy',
    'the team',
    'my neighbour',
    'this idea',
    'these people',
    'the coach',
  ];
  const what = [
    'is lovely',
    'is a worthless idiot',
    'played well today',
    'is a stupid loser',
    'should shut up',
    'made me laugh',
    'is disgusting trash',
    'is so kind',
    'can go to hell',
    'is a total moron',
  ];
  const tail = ['', ' lol', '!!', ' honestly', ' #monday', ' and I mean it'];
  const all = who.flatMap((w) => what.flatMap((p) => tail.map((t) => `${w} ${p}${t}`)));
  return Array.from({ length: COUNT }, (_, i) => {
    const text = all[(i * 7) % all.length]!;
    return i % 15 === 0 ? `${text}, ${TERM} ${i}` : `${text} (${i})`;
  });
}

let dataDir: string;
/** What strict should give each stored verdict, computed here from the table's items. */
let expected: { transitions: Partial<Record<Transition, number>>; replayed: number; pointers: number };
let decidedPk: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'replay-'));
  const stack = await startLocalStack({
    dataDir,
    matchLists: { blocklist: parseTermList(`${TERM}\n`, 'blocklist') },
  });
  try {
    const api = await startLocalApi(stack, {
      key: 'api-key',
      reviewerKey: 'reviewer-key',
      ratePerMinute: 100_000,
    });
    const call = (key: string, path: string, body: unknown) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const pending = texts();
    const verdicts: Verdict[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let text = pending.pop(); text !== undefined; text = pending.pop()) {
          const res = await call('api-key', '/v1/moderate', { text });
          expect(res.status).toBe(200);
          verdicts.push((await res.json()) as Verdict);
        }
      }),
    );
    // A person allows three blocklist hits balanced sent to review; strict would block them.
    const toDecide = verdicts
      .filter((v) => v.decision === 'review' && v.matches?.length)
      .slice(0, PEOPLE_ALLOWED);
    expect(toDecide).toHaveLength(PEOPLE_ALLOWED);
    for (const v of toDecide) {
      const res = await call('reviewer-key', `/v1/review/items/${v.id}/decision`, {
        decision: 'allow',
        reason: 'ok',
      });
      expect(res.status).toBe(200);
    }
    decidedPk = verdictPkOf(toDecide[0]!.id!)!;
    await api.close();
    // Two S3 uploads: one verdict with its latest# pointer, one error verdict (an empty object).
    const refs = [
      await stack.upload('replay/hello.txt', new TextEncoder().encode('hello there, nice to meet you')),
      await stack.upload('replay/empty.txt', new Uint8Array()),
    ];
    expect((await stack.waitForVerdicts(refs, { timeoutMs: 60_000 })).size).toBe(2);

    const strict = loadPolicy('strict');
    expected = { transitions: {}, replayed: 0, pointers: 0 };
    const { Items = [] } = await stack.doc.send(new ScanCommand({ TableName: stack.tableName }));
    for (const item of Items) {
      if (String(item.pk).startsWith('latest#')) expected.pointers++;
      if (String(item.pk).startsWith('latest#') || item.decision === 'error') continue;
      expected.replayed++;
      const v = item as Verdict;
      let to = applyPolicy(strict, v.categories as Record<string, number>, v.partial).decision;
      if (v.matches?.some((m) => m.signalType === 'term')) to = 'block';
      if (to !== v.decision) {
        const t = `${v.decision}→${to}` as Transition;
        expected.transitions[t] = (expected.transitions[t] ?? 0) + 1;
      }
    }
  } finally {
    await stack.stop();
  }
}, 300_000);

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function replay(policy: string): Promise<ReplayReport> {
  const local = await openLocalVerdicts(dataDir);
  try {
    return await replayTable({ doc: local.doc, tableName: local.tableName, policy: loadPolicy(policy) });
  } finally {
    await local.close();
  }
}

const sum = (counts: Partial<Record<string, number>>) =>
  Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);

describe('replay over a data folder', () => {
  it('keeps the verdicts for a stack started again on the folder, which replay may not open meanwhile', async () => {
    const stack = await startLocalStack({ dataDir });
    try {
      const { Item } = await stack.doc.send(
        new GetCommand({ TableName: stack.tableName, Key: { pk: decidedPk } }),
      );
      expect(Item).toMatchObject({ decision: 'review', finalDecision: 'allow' });
      await expect(openLocalVerdicts(dataDir)).rejects.toThrow(LocalVerdictsError);
    } finally {
      await stack.stop();
    }
  }, 120_000);

  it('reproduces every decision with the policy that made them (balanced)', async () => {
    const r = await replay('balanced');
    expect(r.replayed).toBe(COUNT + 1);
    expect(r.skipped).toEqual({ pointers: expected.pointers, errors: 1, beforeSince: 0, other: 0 });
    expect(expected.pointers).toBeGreaterThanOrEqual(1);
    expect(r.scanned).toBe(r.replayed + r.skipped.pointers + r.skipped.errors);
    expect(r.transitions).toEqual({});
    expect(sum(r.unchanged)).toBe(r.replayed);
    expect(r.people).toMatchObject({ decided: PEOPLE_ALLOWED, replayedContradicts: { blocksAllowed: 0 } });
  }, 60_000);

  it('moves decisions only upwards under strict, with counts that add up', async () => {
    const r = await replay('strict');
    expect(r.transitions).toEqual(expected.transitions);
    expect(sum(r.transitions) + sum(r.unchanged)).toBe(r.replayed);
    expect(sum(r.transitions)).toBeGreaterThan(0);
    for (const [t, n] of Object.entries(r.transitions) as [Transition, number][]) {
      const [from, to] = t.split('→') as [AutoDecision, AutoDecision];
      expect(RANK[to]).toBeGreaterThan(RANK[from]);
      expect(r.examples[t]?.length).toBe(Math.min(3, n));
    }
    expect(r.people).toMatchObject({
      decided: PEOPLE_ALLOWED,
      replayedContradicts: { blocksAllowed: PEOPLE_ALLOWED, allowsBlocked: 0 },
      storedContradicted: { blocksAllowed: 0, allowsBlocked: 0 },
    });
  }, 60_000);

  it('prints the same report from the command line, and refuses --models with the reason', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'cli/replay.ts', ...args], { cwd: root, timeout: 60_000 });
    const { stdout } = await cli('--policy', 'strict', '--data-dir', dataDir, '--json');
    const printed = JSON.parse(stdout) as ReplayReport;
    expect(printed.transitions).toEqual(expected.transitions);
    expect(printed.replayed).toBe(COUNT + 1);
    const refused = await cli('--policy', 'strict', '--data-dir', dataDir, '--models', 'other').then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not the extracted model inputs/);
  }, 120_000);
});
