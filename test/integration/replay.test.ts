/**
 * Replay end to end: a few hundred verdicts made by the real pipeline (the local API's judge, plus
 * S3 uploads for latest# pointers, an image, a bank match and an error verdict) are kept in a data
 * folder, most with their model inputs kept (KEEP_INPUTS=all), some made while nothing was kept or
 * only text was; the stack stops, and replay opens the folder's DynamoDB on its own and re-applies
 * balanced (nothing moves) and strict (counts add up, nothing goes down, the person's decisions it
 * contradicts are counted). With --models it scores the kept inputs again on the local inference
 * server: with the default pack it reproduces the stored scores, with the strong-tiny fixture pack
 * the versions and scores change; verdicts without kept inputs are counted, not replayed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApi } from '#local/api.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '#local/stack.ts';
import fusionManifest from '#model-artifacts/models/fusion/manifest.json' with { type: 'json' };
import textManifest from '#model-artifacts/models/text-toxicity/manifest.json' with { type: 'json' };
import {
  type AutoDecision,
  LocalVerdictsError,
  openLocalVerdicts,
  type ReplayReport,
  replayTable,
  type Transition,
} from '#ops/replay.ts';
import { openLocalInputs, replayTableWithModels, servePack } from '#ops/replay-models.ts';
import { verdictPkOf } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { latestKey, type ObjectRef } from '#shared/events/s3-notification.ts';
import { parseBankFile } from '#shared/matching/banks.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { applyPolicy, loadPolicy } from '#shared/policy/policy.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const TERM = 'zorblax';
const COUNT = 300;
const PEOPLE_ALLOWED = 3;
/** Texts moderated while KEEP_INPUTS=none: verdicts with nothing to re-score. */
const NOT_KEPT = 3;
/** Known content: its md5 is in a deny bank, so no model ran (and nothing was kept). */
const BANNED = new TextEncoder().encode('buy cheap pills at example.com, banked');
const PICTURE = join(root, 'samples/post/landscape.png');
const STRONG_TINY = 'model-artifacts/fixtures/strong-tiny';
/** The committed models (strong-tiny shares the default fusion model). */
const TEXT = `text-toxicity ${textManifest.version}`;
const FUSION = `fusion ${fusionManifest.version}`;
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
/** A copy of the folder holding only the verdicts made while nothing was kept. */
let notKeptDir: string;
/** What strict should give each stored verdict, computed here from the table's items. */
let expected: {
  transitions: Partial<Record<Transition, number>>;
  replayed: number;
  pointers: number;
  /** Verdicts naming kept inputs that --models can re-score (all but the text-only image). */
  rescorable: number;
  /** The mean stored score per category over those. */
  meanBefore: Record<string, number>;
};
let decidedPk: string;

/** A stack on the data folder for `run`, stopped after it. */
async function withStack(options: LocalStackOptions, run: (stack: LocalStack) => Promise<void>) {
  const stack = await startLocalStack({ dataDir, ...options });
  try {
    await run(stack);
  } finally {
    await stack.stop();
  }
}

async function uploadAndWait(stack: LocalStack, files: [string, Uint8Array][]): Promise<void> {
  const refs: ObjectRef[] = [];
  for (const [key, body] of files) refs.push(await stack.upload(key, body));
  expect((await stack.waitForVerdicts(refs, { timeoutMs: 60_000 })).size).toBe(files.length);
  // The function advances each key's latest# pointer just after writing its verdict (and runs in
  // a thread of its own): the table's counts below need the pointers written too.
  for (const ref of refs) {
    const deadline = Date.now() + 30_000;
    const pointer = () =>
      stack.doc.send(new GetCommand({ TableName: stack.tableName, Key: { pk: latestKey(ref) } }));
    while (!(await pointer()).Item) {
      if (Date.now() > deadline) throw new Error(`no latest pointer for ${ref.key}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'replay-'));
  notKeptDir = await mkdtemp(join(tmpdir(), 'replay-not-kept-'));
  // Before inputs were kept: verdicts that name none.
  await withStack({ keepInputs: 'none' }, (stack) =>
    uploadAndWait(
      stack,
      Array.from({ length: NOT_KEPT }, (_, i) => [
        `replay/old-${i}.txt`,
        utf8(`an older comment number ${i}`),
      ]),
    ),
  );
  await cp(dataDir, notKeptDir, { recursive: true });
  // Text only: an image's pixels are not kept (so it cannot be re-scored), a text's words are.
  const picture = new Uint8Array(await readFile(PICTURE));
  await withStack({ keepInputs: 'text' }, (stack) =>
    uploadAndWait(stack, [
      ['replay/text-only.png', picture],
      ['replay/text-only.txt', utf8('kept as words only, you idiot')],
    ]),
  );
  const md5 = createHash('md5').update(BANNED).digest('hex');
  const stack = await startLocalStack({
    dataDir,
    keepInputs: 'all',
    matchLists: {
      blocklist: parseTermList(`${TERM}\n`, 'blocklist'),
      banks: parseBankFile(`md5,${md5},banned.txt\n`, { kind: 'deny', file: 'spam.csv', label: 'spam' }),
    },
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
    // S3 uploads: verdicts with their latest# pointers (a text, an image whose pixels are kept, a
    // banked copy), and one error verdict (an empty object).
    await uploadAndWait(stack, [
      ['replay/hello.txt', utf8('hello there, nice to meet you')],
      ['replay/picture.png', picture],
      ['replay/banned.txt', BANNED],
      ['replay/empty.txt', new Uint8Array()],
    ]);

    const strict = loadPolicy('strict');
    expected = { transitions: {}, replayed: 0, pointers: 0, rescorable: 0, meanBefore: {} };
    const sums: Record<string, { sum: number; n: number }> = {};
    const { Items = [] } = await stack.doc.send(new ScanCommand({ TableName: stack.tableName }));
    for (const item of Items) {
      if (String(item.pk).startsWith('latest#')) expected.pointers++;
      if (String(item.pk).startsWith('latest#') || item.decision === 'error') continue;
      expected.replayed++;
      const v = item as Verdict;
      if (v.inputs && !(v.inputs.keep === 'text' && v.modalities.image)) {
        expected.rescorable++;
        for (const [c, p] of Object.entries(v.categories)) {
          sums[c] ??= { sum: 0, n: 0 };
          sums[c].sum += p;
          sums[c].n++;
        }
      }
      let to = applyPolicy(strict, v.categories as Record<string, number>, v.partial).decision;
      if (v.matches?.some((m) => m.signalType === 'term')) to = 'block';
      if (v.matches?.some((m) => m.kind === 'deny' && m.signalType !== 'term')) to = 'block';
      if (to !== v.decision) {
        const t = `${v.decision}→${to}` as Transition;
        expected.transitions[t] = (expected.transitions[t] ?? 0) + 1;
      }
    }
    expected.meanBefore = Object.fromEntries(Object.entries(sums).map(([c, { sum, n }]) => [c, sum / n]));
  } finally {
    await stack.stop();
  }
}, 300_000);

afterAll(async () => {
  for (const dir of [dataDir, notKeptDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every verdict but the error: the API's texts, hello, the picture, the bank match, and the earlier runs'. */
const STORED = COUNT + 3 + NOT_KEPT + 2;

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
    expect(r.replayed).toBe(STORED);
    expect(expected.replayed).toBe(STORED);
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

  it('prints the same report from the command line', async () => {
    const { stdout } = await cli('--policy', 'strict', '--data-dir', dataDir, '--json');
    const printed = JSON.parse(stdout) as ReplayReport;
    expect(printed.transitions).toEqual(expected.transitions);
    expect(printed.replayed).toBe(STORED);
    expect(printed.models).toBeUndefined();
  }, 120_000);
});

const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'cli/replay.ts', ...args], { cwd: root, timeout: 120_000 });
const failed = (...args: string[]) =>
  cli(...args).then(
    ({ stdout }) => ({ code: 0, stderr: '', stdout }),
    (err: { code: number; stderr: string; stdout: string }) => err,
  );

/** What replay left out of the transitions: verdicts without kept inputs, and those it could not re-score. */
const withheld = (r: ReplayReport) => (r.models?.noInputs ?? 0) + sum(r.models?.notRescorable ?? {});

describe('replay --models: kept inputs scored again', () => {
  it('reproduces the stored scores and decisions with the pack that made them (default)', async () => {
    const local = await openLocalVerdicts(dataDir);
    const inputs = await openLocalInputs(dataDir);
    const served = await servePack('default');
    let r: ReplayReport;
    try {
      r = await replayTableWithModels({
        doc: local.doc,
        tableName: local.tableName,
        policy: loadPolicy('balanced'),
        served,
        s3: inputs.s3,
      });
    } finally {
      await served.close();
      await inputs.close();
      await local.close();
    }
    const m = r.models!;
    expect(m).toMatchObject({
      rescored: expected.rescorable,
      knownContent: 1,
      noInputs: NOT_KEPT,
      notRescorable: { 'image pixels not kept (KEEP_INPUTS=text)': 1 },
    });
    // The API's texts, hello, the picture and the text-only run's text.
    expect(m.rescored).toBe(COUNT + 3);
    expect(m.withInputs).toBe(m.rescored + 1);
    expect(r.replayed).toBe(m.rescored + m.knownContent);
    expect(r.replayed + withheld(r)).toBe(STORED);
    expect(r.scanned).toBe(r.replayed + withheld(r) + r.skipped.pointers + r.skipped.errors);
    // Same models, same inputs: the same fused scores, so the same decisions.
    expect(m.versions.after).toEqual(m.versions.before);
    expect(Object.keys(m.categories).sort()).toEqual(Object.keys(expected.meanBefore).sort());
    for (const [c, shift] of Object.entries(m.categories)) {
      expect(shift.maxAbsShift, c).toBeLessThan(1e-6);
      expect(shift.meanBefore, c).toBeCloseTo(expected.meanBefore[c]!, 9);
      expect(shift.onlyBefore + shift.onlyAfter, c).toBe(0);
    }
    expect(r.transitions).toEqual({});
    expect(m.inputBytes).toBeGreaterThan(224 * 224 * 3);
  }, 240_000);

  it('scores them with another pack (strong-tiny): other model versions, moved scores, counts that add up', async () => {
    const { stdout } = await cli(
      '--policy',
      'balanced',
      '--models',
      STRONG_TINY,
      '--data-dir',
      dataDir,
      '--json',
    );
    const r = JSON.parse(stdout) as ReplayReport;
    const m = r.models!;
    expect(m.pack).toEqual({
      arg: STRONG_TINY,
      name: 'strong-tiny',
      models: ['text-bert tiny-random-1', 'image-clip tiny-random-1', FUSION],
    });
    expect(m.rescored).toBe(expected.rescorable);
    expect(m.noInputs).toBe(NOT_KEPT);
    // Every re-scored verdict has text, one (the picture) an image; fusion is the same model.
    expect(m.versions.before).toMatchObject({
      [TEXT]: m.rescored - 1,
      [FUSION]: m.rescored,
    });
    expect(m.versions.after).toEqual({
      'text-bert tiny-random-1': m.rescored - 1,
      'image-clip tiny-random-1': 1,
      [FUSION]: m.rescored,
    });
    // Random-weight models: the fused scores move, the stored side is what the table holds.
    expect(Math.max(...Object.values(m.categories).map((c) => c.maxAbsShift))).toBeGreaterThan(0.01);
    for (const [c, shift] of Object.entries(m.categories))
      expect(shift.meanBefore, c).toBeCloseTo(expected.meanBefore[c]!, 9);
    expect(sum(r.transitions) + sum(r.unchanged)).toBe(r.replayed);
    expect(r.replayed + withheld(r)).toBe(STORED);
    const text = await cli('--policy', 'balanced', '--models', STRONG_TINY, '--data-dir', dataDir);
    expect(text.stdout).toMatch(/^replay of policy balanced .* on model pack strong-tiny/);
    expect(text.stdout).toMatch(new RegExp(`no kept inputs: ${NOT_KEPT} `));
    expect(text.stdout).toMatch(
      new RegExp(`models after: {2}${FUSION.replaceAll('.', '\\.')} \\(\\d+\\), text-bert tiny-random-1`),
    );
  }, 240_000);

  it('refuses with exit 2: a pack that is none, no pack, and a folder with no kept inputs (saying how to keep them)', async () => {
    const unknown = await failed(
      '--policy',
      'balanced',
      '--models',
      '/nonexistent/pack',
      '--data-dir',
      dataDir,
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--models \/nonexistent\/pack: .*no pack\.json; known packs: default, strong/,
    );
    const missing = await failed('--policy', 'balanced', '--data-dir', dataDir, '--models');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--models <value>' argument missing/);
    const none = await failed('--policy', 'balanced', '--models', 'default', '--data-dir', notKeptDir);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(
      new RegExp(`no verdict read has kept model inputs \\(${NOT_KEPT} were made without them\\)`),
    );
    expect(none.stderr).toMatch(/KEEP_INPUTS=text .* KEEP_INPUTS=all/);
  }, 240_000);
});
