/**
 * The learning-from-decisions measurement (docs/LEARNING.md): a platform whose content differs from
 * the training data — one source of ../shared/data the text model never trained on — is scored
 * offline by the current models; a random "review stream" of it is decided by simulated reviewers
 * (its true labels), and the first 200 / 500 / 1,000 decisions are used to (a) refit the policy's
 * thresholds (`npm run calibrate`'s fit) and (b) retrain the fusion head (`train:fusion`'s trainer
 * and recalibration, text rows plus the decisions); precision and recall are measured on the
 * disjoint rest of the source, before and after, over several random streams.
 *
 *   npx tsx model-artifacts/learning/simulate.ts [--source gab] [--sizes 200,500,1000] [--repeats 5]
 *     [--target-precision 0.8] [--review-precision 0.5] [--min-decisions 50] [--data-dir DIR]
 *     [--text-model DIR] [--fusion-model DIR]
 *
 * Writes reports/LEARNING.md, reports/learning/simulation.json, the table in docs/LEARNING.md
 * (between its simulation markers) and .local/learning/<source>-decisions.jsonl (the first stream's
 * decisions as verdicts, for `npm run calibrate -- --decisions`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '#model-artifacts/fusion/compose.ts';
import { FUSION_LABELS, type FusionParams, fuse } from '#model-artifacts/fusion/model.ts';
import { recalibrate, trainFusion } from '#model-artifacts/fusion/train.ts';
import { loadCorpus, SOURCE_DIRS, SOURCES } from '#model-artifacts/text-model/data.ts';
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { applyPolicy, loadPolicy, type Policy } from '#shared/policy/policy.ts';
import { fnv1a32 } from '#shared/text/featurize.ts';
import {
  type DecisionRow,
  type DecisionVerdict,
  decisionRows,
  labelledScores,
  parseDecisionVerdict,
  withDecisionRows,
} from './decisions.ts';
import { fitCategory, operatingPoint } from './fit.ts';
import { type PlatformItem, type PlatformSource, platformSource } from './platform.ts';
import { createOfflineScorer, type ScoredUpload, textRow } from './score.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const SEED = 20_261_122;
const MARK = { start: '<!-- simulation:start -->', end: '<!-- simulation:end -->' };

const log = (msg: string): void => {
  process.stderr.write(`[learning] ${msg}\n`);
};

interface Args {
  source: string;
  sizes: number[];
  repeats: number;
  targets: { review: number; block: number };
  minDecisions: number;
  dataDir: string;
  textModel: string;
  fusionModel: string;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      source: { type: 'string', default: 'gab' },
      sizes: { type: 'string', default: '200,500,1000' },
      repeats: { type: 'string', default: '5' },
      'target-precision': { type: 'string', default: '0.8' },
      'review-precision': { type: 'string', default: '0.5' },
      'min-decisions': { type: 'string', default: '50' },
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      'text-model': { type: 'string', default: join(REPO, 'model-artifacts/models/text-toxicity') },
      'fusion-model': { type: 'string', default: join(REPO, 'model-artifacts/models/fusion') },
    },
  });
  return {
    source: values.source,
    sizes: values.sizes.split(',').map(Number),
    repeats: Number(values.repeats),
    targets: { review: Number(values['review-precision']), block: Number(values['target-precision']) },
    minDecisions: Number(values['min-decisions']),
    dataDir: values['data-dir'],
    textModel: values['text-model'],
    fusionModel: values['fusion-model'],
  };
}

interface Scored extends PlatformItem, ScoredUpload {}

/** A stream item as the verdict the pipeline would have stored, decided by a reviewer with its true labels. */
function decidedVerdict(item: Scored, i: number, base: Policy, versions: Record<string, string>): Verdict {
  const outcome = applyPolicy(base, item.fused);
  const harmful = Object.values(item.labels).some((l) => l === 1);
  const labels = Object.fromEntries(Object.entries(item.labels).map(([c, l]) => [c, l === 1]));
  const at = new Date(Date.UTC(2026, 10, 22, 0, 0, i)).toISOString();
  return {
    id: `sim-${i}`,
    object: `sim://platform/${i}`,
    contentType: 'text/plain',
    decision: outcome.decision,
    score: Math.max(0, ...Object.values(item.fused)),
    categories: item.fused,
    unscoredCategories: ['sexual', 'violence'],
    reasons: outcome.reasons,
    modalities: { text: { scores: item.channel, evidence: [] } },
    modelVersions: versions,
    policyVersion: base.version,
    timings: {},
    createdAt: at,
    review: {
      decision: harmful ? 'block' : 'allow',
      reviewer: 'simulated',
      at,
      reason: 'true label of the source',
      labels,
      kind: 'review',
    },
    finalDecision: harmful ? 'block' : 'allow',
  };
}

/** Thresholds per category (review, block). */
type Thresholds = Record<string, { review: number; block: number }>;

interface Cell {
  review: { precision: number; recall: number; flagged: number };
  block: { precision: number; recall: number; flagged: number };
  thresholds: { review: number; block: number };
}

/** Precision and recall on the rest at the given thresholds, per category the source labels. */
function measure(
  rest: readonly Scored[],
  fused: readonly Record<string, number>[],
  thresholds: Thresholds,
  categories: readonly string[],
): Record<string, Cell> {
  return Object.fromEntries(
    categories.map((c) => {
      const items = rest.map((r, i) => ({ score: fused[i]?.[c] ?? 0, label: r.labels[c as 'hate'] ?? 0 }));
      const t = thresholds[c] ?? { review: 1.01, block: 1.01 };
      const at = (thr: number) => {
        const op = operatingPoint(items, thr);
        return { precision: op.precision.value, recall: op.recall.value, flagged: op.flagged };
      };
      return [c, { review: at(t.review), block: at(t.block), thresholds: t }];
    }),
  );
}

/** Thresholds refitted from decisions (categories refused or unlabelled keep the base policy's). */
function calibrated(decisions: readonly DecisionVerdict[], base: Policy, args: Args): Thresholds {
  const scores = labelledScores(decisions);
  const out: Thresholds = structuredClone(base.thresholds);
  for (const c of Object.keys(scores) as Category[]) {
    if (scores[c].length === 0) continue;
    const fit = fitCategory(c, scores[c], base, { targets: args.targets, minDecisions: args.minDecisions });
    if (fit.status === 'fitted')
      out[c] = { review: fit.review.point.threshold, block: fit.block.point.threshold };
  }
  return out;
}

/** Fused scores by category label from fusion params (the TypeScript twin of the ONNX graph). */
function fusedBy(params: FusionParams, rows: readonly { x: Float32Array; present: Float32Array }[]) {
  return rows.map((r) => {
    const p = fuse(params, r.x, r.present);
    return Object.fromEntries(FUSION_LABELS.map((l, c) => [l, p[c] ?? 0]).filter(([l]) => l !== 'sexual'));
  });
}

/** train:fusion's trainer and Platt recalibration on the base text rows plus the decision rows. */
function retrain(
  baseRows: readonly DecisionRow[],
  decisions: readonly DecisionRow[],
  clip: FusionParams['clip'],
) {
  const rnd = mulberry32(SEED + 11);
  const fit = trainFusion(() => withDecisionRows([...baseRows], decisions, rnd), clip);
  return recalibrate(fit.params, [...baseRows, ...decisions]).params;
}

type Method = 'base' | 'calibrated' | 'retrained' | 'retrained+calibrated';
interface Result {
  repeat: number;
  decisions: number;
  method: Method;
  cells: Record<string, Cell>;
}

interface Context {
  args: Args;
  source: PlatformSource;
  base: Policy;
  items: Scored[];
  baseRows: DecisionRow[];
  clip: FusionParams['clip'];
  /** The fusion head retrained by the same recipe without decisions: what the recipe alone changes. */
  control: FusionParams;
  versions: Record<string, string>;
}

function runRepeat(ctx: Context, repeat: number): { results: Result[]; firstStream: Verdict[] } {
  const { args, source, base } = ctx;
  const order = [...ctx.items].sort(
    (a, b) => fnv1a32(`learning|${repeat}|${a.key}`) - fnv1a32(`learning|${repeat}|${b.key}`),
  );
  const streamSize = Math.max(...args.sizes);
  const stream = order.slice(0, streamSize);
  const rest = order.slice(streamSize);
  const restRows = rest.map((r) => textRow(r.channel));
  const verdicts = stream.map((item, i) => decidedVerdict(item, i, base, ctx.versions));
  // Through the same parser `npm run calibrate` uses on a JSONL file.
  const decided = verdicts.map((v) => parseDecisionVerdict(JSON.parse(JSON.stringify(v))));
  const cats = source.categories;
  const results: Result[] = [
    {
      repeat,
      decisions: 0,
      method: 'base',
      cells: measure(
        rest,
        rest.map((r) => r.fused),
        base.thresholds,
        cats,
      ),
    },
  ];
  results.push({
    repeat,
    decisions: 0,
    method: 'retrained',
    cells: measure(rest, fusedBy(ctx.control, restRows), base.thresholds, cats),
  });
  for (const n of args.sizes) {
    const used = decided.slice(0, n);
    const fused = rest.map((r) => r.fused);
    results.push({
      repeat,
      decisions: n,
      method: 'calibrated',
      cells: measure(rest, fused, calibrated(used, base, args), cats),
    });
    const params = retrain(ctx.baseRows, decisionRows(used), ctx.clip);
    const restFused = fusedBy(params, restRows);
    results.push({
      repeat,
      decisions: n,
      method: 'retrained',
      cells: measure(rest, restFused, base.thresholds, cats),
    });
    // The same decisions re-scored by the retrained model, then the thresholds refitted on them.
    const rescored = used.map((v, i) => ({
      ...v,
      categories: fusedBy(params, [textRow(stream[i]?.channel ?? {})])[0] ?? {},
    }));
    results.push({
      repeat,
      decisions: n,
      method: 'retrained+calibrated',
      cells: measure(rest, restFused, calibrated(rescored, base, args), cats),
    });
  }
  log(`repeat ${repeat}: stream ${stream.length}, rest ${rest.length}`);
  return { results, firstStream: verdicts };
}

const METHOD_TITLE: Record<Method, string> = {
  base: 'before: balanced, shipped fusion',
  calibrated: '(a) calibrated thresholds',
  retrained: '(b) fusion retrained, balanced thresholds',
  'retrained+calibrated': '(b) + (a): retrained, then calibrated',
};

const mean = (xs: number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN;
};
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const spread = (xs: number[]): string => {
  const f = xs.filter(Number.isFinite);
  if (f.length === 0) return '–';
  const lo = Math.min(...f);
  const hi = Math.max(...f);
  return f.length > 1 ? `${f3(mean(f))} (${f3(lo)}–${f3(hi)})` : f3(f[0] as number);
};
const one = (x: number): string => (x > 1 ? 'never' : f3(x));
/** Thresholds vary by stream: their range, "never" included. */
const thr = (xs: number[]): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? one(lo) : `${one(lo)}–${one(hi)}`;
};

/** One markdown table per category: mean over the repeats (min–max across them). */
function renderTables(results: readonly Result[], source: PlatformSource, sizes: readonly number[]): string {
  const keys: [number, Method][] = [
    [0, 'base'],
    [0, 'retrained'],
    ...sizes.flatMap((n): [number, Method][] => [
      [n, 'calibrated'],
      [n, 'retrained'],
      [n, 'retrained+calibrated'],
    ]),
  ];
  return source.categories
    .map((c) => {
      const cells = (n: number, m: Method) =>
        results.filter((r) => r.decisions === n && r.method === m).map((r) => r.cells[c] as Cell);
      // A category the policy never blocks (and no fit changed that) gets no block columns.
      const blocks = keys.some(([n, m]) => cells(n, m).some((x) => x.thresholds.block <= 1));
      const rows = keys.map(([n, m]) => {
        const rs = cells(n, m);
        const title =
          n === 0 && m === 'retrained' ? '(b) control: fusion retrained, no decisions' : METHOD_TITLE[m];
        const review = `${thr(rs.map((x) => x.thresholds.review))} | ${spread(rs.map((x) => x.review.precision))} | ${spread(rs.map((x) => x.review.recall))}`;
        const block = `${thr(rs.map((x) => x.thresholds.block))} | ${spread(rs.map((x) => x.block.precision))} | ${spread(rs.map((x) => x.block.recall))} |`;
        return `| ${n} | ${title} | ${review} |${blocks ? ` ${block}` : ''}`;
      });
      return [
        `**${c}**${blocks ? '' : ' (the policy never blocks it: review threshold only)'}`,
        '',
        `| decisions | method | review ≥ | review-or-block precision | recall |${blocks ? ' block ≥ | block precision | recall |' : ''}`,
        `|---:|---|---:|---:|---:|${blocks ? '---:|---:|---:|' : ''}`,
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}

function renderSection(ctx: Context, results: readonly Result[], restSize: number): string {
  const { args, source } = ctx;
  const prevalence = source.categories
    .map(
      (c) =>
        `${c} ${((ctx.items.filter((i) => i.labels[c] === 1).length / ctx.items.length) * 100).toFixed(1)}%`,
    )
    .join(', ');
  return `${MARK.start}
Generated by \`npx tsx model-artifacts/learning/simulate.ts\` (${args.repeats} random review streams). Platform:
\`${source.folder}\` (${ctx.items.length} distinct texts; positives ${prevalence}); ${source.mapping}.
Each repeat draws a review stream of ${Math.max(...args.sizes)} texts; the first 200 / 500 / 1,000 are the decisions, and
every figure is measured on the other ${restSize} texts (never decided, never trained on). Models:
${Object.entries(ctx.versions)
  .map(([k, v]) => `${k} ${v}`)
  .join(
    ', ',
  )}. Targets: review precision ${args.targets.review}, block precision ${args.targets.block}, as Wilson 95% lower
bounds on the decisions; minimum ${args.minDecisions} decisions per category. Cells: mean over the repeats (min–max);
"review-or-block" counts everything at or above the review threshold; "–" where nothing was flagged.

${renderTables(results, source, args.sizes)}
${MARK.end}`;
}

/** Replaces the marked section of a markdown file (or appends it). */
function writeSection(path: string, section: string, fallbackHead: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = fallbackHead;
  }
  const a = text.indexOf(MARK.start);
  const b = text.indexOf(MARK.end);
  const next =
    a >= 0 && b > a
      ? text.slice(0, a) + section + text.slice(b + MARK.end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, next);
}

/**
 * Base fusion training rows: the text model's validation texts, as single-text uploads, **without
 * the held-out source's** (its texts are the platform: none may train the retrained fusion head).
 */
async function baseTextRows(
  dataDir: string,
  heldOutFolder: string,
  score: (t: readonly string[]) => Promise<ScoredUpload[]>,
) {
  const sources = SOURCES.filter((s) => SOURCE_DIRS[s] !== heldOutFolder);
  const val = loadCorpus(dataDir, sources).examples.filter((e) => e.split === 'validation');
  const scored = await score(val.map((e) => e.text));
  return val.map((e, i): DecisionRow => {
    const y = new Float32Array(FUSION_LABELS.length);
    const mask = new Float32Array(FUSION_LABELS.length);
    mask[0] = 1; // sexual: a text is taken as non-sexual, as train:fusion does
    (['hate', 'harassment', 'offensive'] as const).forEach((l, k) => {
      const c = FUSION_LABELS.indexOf(l);
      y[c] = e.y[k] ?? 0;
      mask[c] = e.mask[k] ?? 0;
    });
    const r = scored[i] as ScoredUpload;
    return { x: r.x, present: r.present, y, mask, embeddings: [] };
  });
}

async function main(): Promise<void> {
  const args = parse();
  const source = platformSource(args.source);
  const scorer = await createOfflineScorer(args.textModel, args.fusionModel);
  const textSource = JSON.stringify(scorer.textModel.manifest);
  if (textSource.includes(source.folder))
    throw new Error(
      `the text model's manifest names ${source.folder}: it is not held out; pick another --source`,
    );
  const base = loadPolicy('balanced');
  const platform = source.load(args.dataDir);
  log(`${platform.length} texts from ${source.folder}; scoring`);
  const scored = await scorer.score(platform.map((p) => p.text));
  const items = platform.map((p, i) => ({ ...p, ...(scored[i] as ScoredUpload) }));
  const baseRows = await baseTextRows(args.dataDir, source.folder, (t) => scorer.score(t));
  const clip = (scorer.fusionModel.manifest.preprocess as { clip: FusionParams['clip'] }).clip;
  // The text model's version names its recipe; which files it trained on is its manifest's (checked
  // above), so the report says where the model came from and that the platform was not among them.
  const versions = {
    'text-toxicity': `${scorer.textModel.manifest.version} (${relative(REPO, args.textModel)}; its training files include none of ${source.folder})`,
    fusion: `${scorer.fusionModel.manifest.version} (${relative(REPO, args.fusionModel)})`,
  };
  await scorer.release();
  log(`${baseRows.length} base text rows; training the control`);
  const ctx: Context = {
    args,
    source,
    base,
    items,
    baseRows,
    clip,
    control: retrain(baseRows, [], clip),
    versions,
  };
  const results: Result[] = [];
  let firstStream: Verdict[] = [];
  for (let r = 0; r < args.repeats; r++) {
    const out = runRepeat(ctx, r);
    results.push(...out.results);
    if (r === 0) firstStream = out.firstStream;
  }
  const restSize = items.length - Math.max(...args.sizes);
  const section = renderSection(ctx, results, restSize);
  writeSection(
    join(REPO, 'reports/LEARNING.md'),
    section,
    '# Learning from decisions: simulation\n\nSee docs/LEARNING.md for the method.\n',
  );
  writeSection(join(REPO, 'docs/LEARNING.md'), section, '# Learning from decisions\n');
  mkdirSync(join(REPO, 'reports/learning'), { recursive: true });
  writeFileSync(
    join(REPO, 'reports/learning/simulation.json'),
    `${JSON.stringify({ args, versions, results }, null, 2)}\n`,
  );
  const jsonl = join(REPO, '.local/learning', `${args.source}-decisions.jsonl`);
  mkdirSync(dirname(jsonl), { recursive: true });
  writeFileSync(jsonl, `${firstStream.map((v) => JSON.stringify(v)).join('\n')}\n`);
  log(`wrote reports/LEARNING.md, docs/LEARNING.md, reports/learning/simulation.json, ${jsonl}`);
  process.stdout.write(`${section}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
