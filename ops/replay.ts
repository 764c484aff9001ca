/**
 * Replay: what a policy would have decided on the verdicts already stored, without running a model.
 * A verdict keeps what its decision was made from — the calibrated fused `categories`, `partial`,
 * and the bank and term-list `matches` — so the decision is recomputed the way the judge makes it
 * (shared/moderation/judge.ts): a deny-bank match blocks whatever the policy, a blocklist hit raises
 * the decision to the new policy's blocklist action, and the thresholds decide the rest. The
 * result is a count of transitions from each stored automatic decision, with examples, and how
 * often the new decision would contradict a person's. It reads the table and writes nothing
 * (docs/REPLAY.md).
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Decision, Verdict, VerdictMatch } from '#shared/domain/verdict.ts';
import { applyPolicy, loadPolicy, type Policy } from '#shared/policy/policy.ts';
import { type TermListAction, termListPolicy } from '#shared/policy/term-lists.ts';

/** A decision the pipeline makes on its own: replay never produces `error`. */
export type AutoDecision = Exclude<Decision, 'error'>;
export type Transition = `${AutoDecision}→${AutoDecision}`;

const RANK: Record<AutoDecision, number> = { allow: 0, review: 1, block: 2 };
const AUTO: readonly AutoDecision[] = ['allow', 'review', 'block'];
const isAuto = (d: unknown): d is AutoDecision => typeof d === 'string' && d in RANK;
const most = (a: AutoDecision, b: AutoDecision) => (RANK[b] > RANK[a] ? b : a);

/** The policy replayed, with what a stored blocklist hit does under it (as the pipeline reads it). */
export interface ReplayPolicy {
  policy: Policy;
  blocklistAction: TermListAction;
}

export const replayPolicy = (policy: Policy): ReplayPolicy => ({
  policy,
  blocklistAction: termListPolicy(policy.name).blocklist.action,
});

/** What replay reads of a stored verdict (the table item, projected). */
export type StoredVerdict = Pick<Verdict, 'decision' | 'categories'> &
  Partial<
    Pick<
      Verdict,
      | 'id'
      | 'object'
      | 'reasons'
      | 'matches'
      | 'partial'
      | 'policyVersion'
      | 'createdAt'
      | 'review'
      | 'finalDecision'
      | 'inputs'
      | 'modelVersions'
    >
  > & { pk?: string };

export interface ReplayedDecision {
  decision: AutoDecision;
  reasons: string[];
}

/**
 * The reason the policy gives when part of an upload went unscored. Verdicts stored before
 * `partial` was kept only say so in their reasons; taken from applyPolicy so the text has one source.
 */
const PARTIAL_REASON = applyPolicy(
  { name: 'probe', version: 'probe', thresholds: {}, reviewWhenPartial: true },
  {},
  true,
).reasons[0];

export const wasPartial = (v: StoredVerdict): boolean =>
  v.partial ?? (PARTIAL_REASON !== undefined && (v.reasons ?? []).includes(PARTIAL_REASON));

const bankNames = (ms: VerdictMatch[]) => [...new Set(ms.map((m) => m.bank))].join(', ');

const denyBankMatches = (v: StoredVerdict) =>
  (v.matches ?? []).filter((m) => m.kind === 'deny' && m.signalType !== 'term');

/** A deny-bank match with no allow-bank one: the judge blocked it without running a model. */
export const isKnownContent = (v: StoredVerdict): boolean =>
  denyBankMatches(v).length > 0 && !(v.matches ?? []).some((m) => m.kind === 'allow');

/** The decision `target` makes on a stored verdict, combined as the judge combines it. */
export function replayDecision(verdict: StoredVerdict, target: ReplayPolicy): ReplayedDecision {
  const matches = verdict.matches ?? [];
  const deny = denyBankMatches(verdict);
  // Known content: the models did not run, the bank is the evidence, and no threshold changes that.
  if (isKnownContent(verdict))
    return {
      decision: 'block',
      reasons: [`known content: deny bank ${bankNames(deny)} (a bank match blocks)`],
    };
  const scored = applyPolicy(
    target.policy,
    verdict.categories as Record<string, number>,
    wasPartial(verdict),
  );
  const terms = matches.filter((m) => m.signalType === 'term');
  if (terms.length === 0) return scored;
  const labels = [...new Set(terms.map((m) => JSON.stringify(m.label)))].slice(0, 5).join(', ');
  return {
    // A blocklist hit raises the decision to the list's action, never lowers it (as judge.ts).
    decision: most(scored.decision, target.blocklistAction),
    reasons: [`blocklist: ${labels} → ${target.blocklistAction}`, ...scored.reasons],
  };
}

export type ItemKind = 'verdict' | 'pointer' | 'error' | 'other';

/** `latest#bucket/key` items point at the current version's verdict (shared/verdict/store.ts). */
const POINTER_PREFIX = 'latest#';

/** What a table item is: a verdict to replay, a latest-version pointer, an error verdict, or neither. */
export function classifyItem(item: Record<string, unknown>): ItemKind {
  if (typeof item.pk === 'string' && item.pk.startsWith(POINTER_PREFIX)) return 'pointer';
  if (item.decision === 'error') return 'error';
  if (isAuto(item.decision) && typeof item.categories === 'object' && item.categories !== null)
    return 'verdict';
  return 'other';
}

export interface ReplayExample {
  object: string;
  id?: string;
  createdAt?: string;
  policyVersion?: string;
  /** The scores that moved it: categories whose band changed (or the highest, see `driverScores`). */
  scores: Record<string, number>;
  /** With `--models`: the stored scores of the same categories, before the new pack re-scored them. */
  storedScores?: Record<string, number>;
  /** Why the replayed policy decides as it does. */
  reasons: string[];
  /** A person's decision on it, if any. */
  person?: 'allow' | 'block';
}

/** A person's decision that an automatic one contradicts: they allowed what it blocks, or the reverse. */
export interface Contradictions {
  /** Automatic block where a person allowed. */
  blocksAllowed: number;
  /** Automatic allow where a person blocked. */
  allowsBlocked: number;
}

export interface ReplayReport {
  policy: { name: string; version: string; blocklistAction: TermListAction };
  since?: string;
  /** Every item read from the table. */
  scanned: number;
  skipped: { pointers: number; errors: number; beforeSince: number; other: number };
  replayed: number;
  /** Replayed verdicts by the policy version that decided them. */
  storedPolicies: Record<string, number>;
  /** Verdicts whose decision changes, by transition (`allow→review`, …). */
  transitions: Partial<Record<Transition, number>>;
  /** Verdicts whose decision stays, by decision. */
  unchanged: Record<AutoDecision, number>;
  /** The most recent few of each transition. */
  examples: Partial<Record<Transition, ReplayExample[]>>;
  /** Verdicts a person decided, and how the stored and the replayed automatic decisions agree with them. */
  people: {
    decided: number;
    replayedContradicts: Contradictions;
    storedContradicted: Contradictions;
    examples: ReplayExample[];
  };
  /** Read capacity units the scan consumed, where the table reports them. */
  readUnits?: number;
  /** With `--models`: the re-scoring of kept inputs with another model pack (ops/replay-models.ts). */
  models?: ModelsReplaySummary;
}

/** How one category's fused score moved when the kept inputs were re-scored. */
export interface CategoryShift {
  /** Re-scored verdicts with the category scored before and after. */
  n: number;
  meanBefore: number;
  meanAfter: number;
  /** Mean of after − before. */
  meanShift: number;
  maxAbsShift: number;
  /** Scored only by the stored verdict (the new pack's channels do not cover it), or only after. */
  onlyBefore: number;
  onlyAfter: number;
}

/** The `--models` part of a report: what was re-scored, with which models, and how the scores moved. */
export interface ModelsReplaySummary {
  /** The `--models` argument, the pack's name, and its models as `name version`. */
  pack: { arg: string; name: string; models: string[] };
  /** Replayable verdicts that name kept inputs (re-scored or not). */
  withInputs: number;
  rescored: number;
  /** Deny-bank verdicts: no model ran on them, so they are decided as before (and replayed as such). */
  knownContent: number;
  /** Verdicts made while KEEP_INPUTS kept nothing (or whose put failed): not replayed. */
  noInputs: number;
  /** Verdicts with kept inputs that could not be re-scored, by reason: not replayed. */
  notRescorable: Record<string, number>;
  /** Model versions (`name version`, engines left out) over the re-scored verdicts, stored and new. */
  versions: { before: Record<string, number>; after: Record<string, number> };
  categories: Record<string, CategoryShift>;
  /** Bytes of kept inputs read. */
  inputBytes: number;
}

/** Scores a re-scoring gave a stored verdict, which replay then decides on instead of the stored ones. */
export interface Rescored {
  categories: Record<string, number>;
  partial: boolean;
}

export interface ReplayTallyOptions {
  /** Only verdicts created at or after this ISO instant. @default all */
  since?: string;
  /** Examples kept per transition. @default 3 */
  examples?: number;
  /** The policy behind a stored `policyVersion`, when known (for the scores that moved it). @default presets */
  storedPolicy?: (version: string) => Policy | undefined;
}

/** Accumulates replayed items (in any order: the scan's segments interleave) into a report. */
export interface ReplayTally {
  /** Whether `add` would replay the item (a verdict, not before `since`) rather than skip it. */
  accepts(item: Record<string, unknown>): boolean;
  /** Replays the item, on `rescored` scores when given (a re-scoring with another pack). */
  add(item: Record<string, unknown>, rescored?: Rescored): void;
  /** Counts an accepted item as read but not replayed (no kept inputs to re-score). */
  withhold(item: Record<string, unknown>): void;
  addReadUnits(units: number): void;
  report(): ReplayReport;
}

export function createReplayTally(target: ReplayPolicy, options: ReplayTallyOptions = {}): ReplayTally {
  const keep = options.examples ?? 3;
  const storedPolicy = options.storedPolicy ?? presetByVersion;
  const report: ReplayReport = {
    policy: {
      name: target.policy.name,
      version: target.policy.version,
      blocklistAction: target.blocklistAction,
    },
    ...(options.since !== undefined && { since: options.since }),
    scanned: 0,
    skipped: { pointers: 0, errors: 0, beforeSince: 0, other: 0 },
    replayed: 0,
    storedPolicies: {},
    transitions: {},
    unchanged: { allow: 0, review: 0, block: 0 },
    examples: {},
    people: {
      decided: 0,
      replayedContradicts: { blocksAllowed: 0, allowsBlocked: 0 },
      storedContradicted: { blocksAllowed: 0, allowsBlocked: 0 },
      examples: [],
    },
  };
  let readUnits: number | undefined;
  const example = (v: StoredVerdict, replayed: ReplayedDecision, rescored?: Rescored): ReplayExample => {
    const stored = v.policyVersion ? storedPolicy(v.policyVersion) : undefined;
    const scores = driverScores(v, target.policy, stored, rescored?.categories);
    const before = v.categories as Record<string, number>;
    return {
      object: v.object ?? v.pk ?? '?',
      ...(v.id && { id: v.id }),
      ...(v.createdAt && { createdAt: v.createdAt }),
      ...(v.policyVersion && { policyVersion: v.policyVersion }),
      scores,
      ...(rescored && {
        storedScores: Object.fromEntries(
          Object.keys(scores)
            .filter((c) => before[c] !== undefined)
            .map((c) => [c, round4(before[c] as number)]),
        ),
      }),
      reasons: replayed.reasons,
      ...(v.review && { person: v.review.decision }),
    };
  };
  const accepts = (item: Record<string, unknown>) =>
    classifyItem(item) === 'verdict' &&
    (options.since === undefined || String(item.createdAt ?? '') >= options.since);
  return {
    accepts,
    withhold(item) {
      if (!accepts(item)) throw new Error('withhold is for items replay accepts');
      report.scanned++;
    },
    add(item, rescored) {
      report.scanned++;
      const kind = classifyItem(item);
      if (kind === 'pointer') return void report.skipped.pointers++;
      if (kind === 'error') return void report.skipped.errors++;
      if (kind === 'other') return void report.skipped.other++;
      const stored = item as unknown as StoredVerdict & { decision: AutoDecision };
      if (options.since !== undefined && (stored.createdAt ?? '') < options.since)
        return void report.skipped.beforeSince++;
      report.replayed++;
      const version = stored.policyVersion ?? 'unknown';
      report.storedPolicies[version] = (report.storedPolicies[version] ?? 0) + 1;
      const v = rescored ? { ...stored, categories: rescored.categories, partial: rescored.partial } : stored;
      const replayed = replayDecision(v, target);
      const from = v.decision;
      const to = replayed.decision;
      if (from === to) report.unchanged[from]++;
      else {
        const t: Transition = `${from}→${to}`;
        report.transitions[t] = (report.transitions[t] ?? 0) + 1;
        report.examples[t] = newest(
          [...(report.examples[t] ?? []), example(stored, replayed, rescored)],
          keep,
        );
      }
      const person = v.review?.decision;
      if (!person) return;
      report.people.decided++;
      const replayedContradicts = contradict(report.people.replayedContradicts, to, person);
      contradict(report.people.storedContradicted, from, person);
      if (replayedContradicts)
        report.people.examples = newest(
          [...report.people.examples, example(stored, replayed, rescored)],
          keep,
        );
    },
    addReadUnits(units) {
      readUnits = (readUnits ?? 0) + units;
    },
    report: () => ({ ...report, ...(readUnits !== undefined && { readUnits }) }),
  };
}

/** Counts a contradiction of a person's decision; true when it was one. */
function contradict(c: Contradictions, automatic: AutoDecision, person: 'allow' | 'block'): boolean {
  if (automatic === 'block' && person === 'allow') c.blocksAllowed++;
  else if (automatic === 'allow' && person === 'block') c.allowsBlocked++;
  else return false;
  return true;
}

/** The `keep` most recent examples (then by object), so the choice does not depend on scan order. */
function newest(examples: ReplayExample[], keep: number): ReplayExample[] {
  return examples
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.object.localeCompare(b.object))
    .slice(0, keep);
}

/** A preset whose current version is the one stored; older versions are not kept. */
function presetByVersion(version: string): Policy | undefined {
  const name = version.slice(0, version.lastIndexOf('-'));
  try {
    const policy = loadPolicy(name);
    return policy.version === version ? policy : undefined;
  } catch {
    return undefined;
  }
}

const band = (policy: Policy, category: string, p: number): AutoDecision => {
  const t = policy.thresholds[category];
  return !t ? 'allow' : p >= t.block ? 'block' : p >= t.review ? 'review' : 'allow';
};

const round4 = (p: number) => Math.round(p * 10_000) / 10_000;

/**
 * The scores that moved a verdict: the categories whose band (allow, review, block) differs between
 * the stored policy on the stored scores and the replayed one on the replayed scores (`rescored`,
 * with --models; else the stored ones). Without the stored policy, or when nothing crossed a
 * threshold (partial, a blocklist hit), the three highest replayed scores.
 */
export function driverScores(
  v: StoredVerdict,
  target: Policy,
  stored?: Policy,
  rescored?: Record<string, number>,
): Record<string, number> {
  const before = v.categories as Record<string, number>;
  const entries = Object.entries(rescored ?? before);
  const moved = stored
    ? entries.filter(([c, p]) => band(stored, c, before[c] ?? 0) !== band(target, c, p))
    : ([] as [string, number][]);
  const chosen = moved.length ? moved : entries.sort((a, b) => b[1] - a[1]).slice(0, 3);
  return Object.fromEntries(chosen.map(([c, p]) => [c, round4(p)]));
}

/** What a scan reads of each item: what replay needs, not the evidence (which costs the same to read). */
const PROJECTED = [
  'pk',
  'id',
  'object',
  'decision',
  'categories',
  'matches',
  'partial',
  'reasons',
  'policyVersion',
  'createdAt',
  'review',
  'finalDecision',
  // For --models: where the inputs are kept, and the versions that scored them.
  'inputs',
  'modelVersions',
] as const;

export interface ReplayTableOptions extends ReplayTallyOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  policy: Policy;
  /** Parallel Scan segments, each read by its own loop. @default 4 */
  segments?: number;
  /** Items per Scan page (1 MB is DynamoDB's own page limit). @default no limit */
  pageSize?: number;
  onProgress?(scanned: number): void;
}

/**
 * Replays `policy` over every verdict in the table: a parallel Scan (eventually consistent, half the
 * read units of a consistent one), segments read concurrently. It reads and writes nothing else.
 */
export async function replayTable(options: ReplayTableOptions): Promise<ReplayReport> {
  const tally = createReplayTally(replayPolicy(options.policy), options);
  await scanVerdicts(options, tally, async (items) => {
    for (const item of items) tally.add(item);
  });
  return tally.report();
}

/**
 * The parallel Scan behind replay: each page's items (projected to what replay reads) go to
 * `onPage`, which a segment awaits before it reads its next page, so a slow consumer (re-scoring
 * with --models) holds at most one page per segment.
 */
export async function scanVerdicts(
  options: Pick<ReplayTableOptions, 'doc' | 'tableName' | 'segments' | 'pageSize' | 'onProgress'>,
  tally: Pick<ReplayTally, 'addReadUnits'>,
  onPage: (items: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const { doc, tableName } = options;
  const segments = options.segments ?? 4;
  if (!(Number.isInteger(segments) && segments >= 1 && segments <= 1_000_000))
    throw new RangeError(`segments must be an integer from 1 to 1000000, got ${segments}`);
  const names = Object.fromEntries(PROJECTED.map((a) => [`#${a}`, a]));
  let scanned = 0;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({
            TableName: tableName,
            ...(segments > 1 && { Segment: segment, TotalSegments: segments }),
            ProjectionExpression: Object.keys(names).join(', '),
            ExpressionAttributeNames: names,
            ReturnConsumedCapacity: 'TOTAL',
            ...(options.pageSize && { Limit: options.pageSize }),
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
        await onPage(page.Items ?? []);
        if (page.ConsumedCapacity?.CapacityUnits !== undefined)
          tally.addReadUnits(page.ConsumedCapacity.CapacityUnits);
        scanned += page.Items?.length ?? 0;
        options.onProgress?.(scanned);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}

/** A problem with the local data folder the user can fix (none there yet, or a stack is using it). */
export class LocalVerdictsError extends Error {
  override name = 'LocalVerdictsError';
}

export interface LocalVerdicts {
  doc: DynamoDBDocumentClient;
  tableName: string;
  close(): Promise<void>;
}

/**
 * The verdicts a local data folder keeps (`npm start`/`npm run api` with --data-dir), opened on
 * their own: dynalite on the folder's LevelDB, with no S3, queue or inference server started.
 */
export async function openLocalVerdicts(dataDir: string): Promise<LocalVerdicts> {
  // Loaded here, so the table path (a job on AWS) does not load the local stack and its emulators.
  const { assertLocalDynamoDbFree, LOCAL_VERDICT_TABLE, localDynamoDbPath } = await import('#local/stack.ts');
  const { default: dynalite } = await import('dynalite');
  const path = localDynamoDbPath(dataDir);
  if (!existsSync(`${path}/CURRENT`))
    throw new LocalVerdictsError(
      `no stored verdicts in ${dataDir} (no ${path}): run npm start or npm run api with --data-dir ${dataDir} first`,
    );
  try {
    await assertLocalDynamoDbFree(path);
  } catch (err) {
    throw new LocalVerdictsError(
      `${dataDir} is open in a running local stack (npm run api / npm start): stop it first, since its DynamoDB is one LevelDB that one process at a time may open`,
      { cause: err },
    );
  }
  const server = dynalite({ path });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const dynamo = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    doc: DynamoDBDocumentClient.from(dynamo),
    tableName: LOCAL_VERDICT_TABLE,
    async close() {
      dynamo.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const pct = (n: number, of: number) => (of ? `${((100 * n) / of).toFixed(1)}%` : '-');

/** The report as people read it: transition counts, then a few examples of each. */
export function formatReport(r: ReplayReport): string {
  const lines: string[] = [];
  const { pointers, errors, beforeSince, other } = r.skipped;
  const m = r.models;
  const withheld = m ? m.noInputs + sum(Object.values(m.notRescorable)) : 0;
  lines.push(
    `replay of policy ${r.policy.name} (${r.policy.version}; blocklist hits → ${r.policy.blocklistAction})` +
      (m ? ` on model pack ${m.pack.name}${m.pack.arg === m.pack.name ? '' : ` (${m.pack.arg})`}` : '') +
      (r.since ? ` since ${r.since}` : ''),
    `read ${plural(r.scanned, 'item')}: ${plural(r.replayed, 'verdict')} replayed` +
      (withheld ? `, ${withheld} not (see below)` : '') +
      `; skipped ${plural(pointers, 'latest# pointer')}, ${plural(errors, 'error verdict')}` +
      (beforeSince ? `, ${beforeSince} before --since` : '') +
      (other ? `, ${plural(other, 'other item')}` : ''),
    `stored under: ${
      Object.entries(r.storedPolicies)
        .sort((a, b) => b[1] - a[1])
        .map(([v, n]) => `${v} (${n})`)
        .join(', ') || '-'
    }`,
    '',
  );
  if (m) lines.push(...formatModels(m), '');
  const rows: [string, number][] = [];
  for (const from of AUTO)
    for (const to of AUTO) {
      const n = r.transitions[`${from}→${to}`];
      if (n) rows.push([`${from} → ${to}`, n]);
    }
  const unchanged = AUTO.reduce((n, d) => n + r.unchanged[d], 0);
  const width = Math.max(15, ...rows.map(([t]) => t.length));
  lines.push(`${'transition'.padEnd(width)}  ${'count'.padStart(6)}  share`);
  for (const [t, n] of rows)
    lines.push(`${t.padEnd(width)}  ${String(n).padStart(6)}  ${pct(n, r.replayed)}`);
  lines.push(
    `${'unchanged'.padEnd(width)}  ${String(unchanged).padStart(6)}  ${pct(unchanged, r.replayed)}  (${AUTO.map((d) => `${d} ${r.unchanged[d]}`).join(', ')})`,
  );
  const before = countBy(r, 'from');
  const after = countBy(r, 'to');
  lines.push(
    '',
    `decisions before → after: ${AUTO.map((d) => `${d} ${before[d]} → ${after[d]}`).join(', ')}`,
  );
  for (const from of AUTO)
    for (const to of AUTO) {
      const t: Transition = `${from}→${to}`;
      const examples = r.examples[t];
      if (!examples?.length) continue;
      lines.push('', `${from} → ${to} (${r.transitions[t]}), e.g.:`);
      for (const e of examples) lines.push(...formatExample(e));
    }
  const p = r.people;
  lines.push(
    '',
    p.decided
      ? `people: ${p.decided} verdicts have a person's decision. ${r.policy.name} would block ${p.replayedContradicts.blocksAllowed} that reviewers allowed and allow ${p.replayedContradicts.allowsBlocked} that reviewers blocked (the stored decisions: ${p.storedContradicted.blocksAllowed} and ${p.storedContradicted.allowsBlocked})`
      : 'people: no replayed verdict has a person’s decision yet',
  );
  for (const e of p.examples) lines.push(...formatExample(e));
  if (r.readUnits !== undefined) lines.push('', `read units consumed: ${r.readUnits}`);
  return `${lines.join('\n')}\n`;
}

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
const counted = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} (${n})`)
    .join(', ') || '-';
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
/** Scores to 4 places; a shift too small for that in exponent form, so "reproduced" reads as such. */
const shift = (x: number, sign = false) =>
  x === 0 ? '0' : Math.abs(x) < 5e-5 ? x.toExponential(1) : `${sign && x > 0 ? '+' : ''}${x.toFixed(4)}`;

/** The --models section: what was re-scored, the model versions before and after, the score shifts. */
function formatModels(m: ModelsReplaySummary): string[] {
  const lines = [
    `re-scored ${plural(m.rescored, 'verdict')} from their kept inputs (${megabytes(m.inputBytes)} read) with ${m.pack.models.join(', ')}` +
      (m.knownContent
        ? `; ${m.knownContent} known content (a deny-bank match, no model ran) decided as before`
        : ''),
    `no kept inputs: ${m.noInputs}` +
      (m.noInputs ? ' (made while KEEP_INPUTS kept nothing, or their put failed): not replayed' : ''),
    `not re-scorable: ${sum(Object.values(m.notRescorable))}` +
      (Object.keys(m.notRescorable).length
        ? ` — ${Object.entries(m.notRescorable)
            .sort((a, b) => b[1] - a[1])
            .map(([why, n]) => `${why}: ${n}`)
            .join('; ')} — not replayed`
        : ''),
    `models before: ${counted(m.versions.before)}`,
    `models after:  ${counted(m.versions.after)}`,
  ];
  const rows = Object.entries(m.categories).sort((a, b) => a[0].localeCompare(b[0]));
  if (!rows.length) return lines;
  const w = Math.max(8, ...rows.map(([c]) => c.length));
  lines.push(
    '',
    `${'category'.padEnd(w)}  ${'scored'.padStart(6)}  ${'mean before'.padStart(11)}  ${'mean after'.padStart(10)}  ${'mean shift'.padStart(10)}  ${'max |shift|'.padStart(11)}`,
  );
  for (const [c, s] of rows) {
    const only = [
      s.onlyBefore && `${s.onlyBefore} scored before only`,
      s.onlyAfter && `${s.onlyAfter} after only`,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `${c.padEnd(w)}  ${String(s.n).padStart(6)}  ${s.meanBefore.toFixed(4).padStart(11)}  ${s.meanAfter.toFixed(4).padStart(10)}  ${shift(s.meanShift, true).padStart(10)}  ${shift(s.maxAbsShift).padStart(11)}${only ? `  (${only})` : ''}`,
    );
  }
  return lines;
}

function countBy(r: ReplayReport, side: 'from' | 'to'): Record<AutoDecision, number> {
  const out = { ...r.unchanged };
  for (const [t, n] of Object.entries(r.transitions) as [Transition, number][]) {
    const [from, to] = t.split('→') as [AutoDecision, AutoDecision];
    out[side === 'from' ? from : to] += n;
  }
  return out;
}

function formatExample(e: ReplayExample): string[] {
  const scores = Object.entries(e.scores)
    .map(([c, p]) => {
      const before = e.storedScores?.[c];
      return `${c} ${before === undefined ? '' : `${before.toFixed(2)} → `}${p.toFixed(2)}`;
    })
    .join(', ');
  const person = e.person ? `  [person: ${e.person}]` : '';
  return [
    `  ${e.object}${person}`,
    `      scores: ${scores || '-'}; ${e.reasons.length ? e.reasons.join('; ') : 'no threshold reached'}`,
  ];
}
