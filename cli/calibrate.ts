/**
 * `npm run calibrate -- --target-precision <p> (--decisions <file.jsonl> | --table <name>)` — refits
 * the policy's per-category review and block thresholds from reviewer decisions and writes a new
 * versioned preset. Logic: model-artifacts/learning/fit.ts; docs/LEARNING.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type DecisionVerdict,
  isDecided,
  labelledScores,
  readDecisionsJsonl,
} from '#model-artifacts/learning/decisions.ts';
import {
  type CategoryFit,
  calibratedPolicy,
  fitCategory,
  type OperatingPoint,
} from '#model-artifacts/learning/fit.ts';
import { scanDecisions } from '#model-artifacts/learning/sources.ts';
import type { Estimate } from '#model-artifacts/learning/stats.ts';
import { CATEGORIES, type Category } from '#shared/domain/taxonomy.ts';
import { loadPolicy, type Policy, parsePolicy } from '#shared/policy/policy.ts';

const USAGE = `usage: npm run calibrate -- --target-precision <p> (--decisions <file.jsonl> | --table <name>) [options]

  fits per-category review and block thresholds from reviewer decisions: the lowest threshold whose
  precision's Wilson 95% lower bound reaches the target; prints threshold, precision and recall with
  95% intervals and the decisions used; writes a policy preset

options:
  --target-precision <p>   block precision target (0..1]
  --review-precision <p>   review precision target (default: the base policy's review target, else 0.5)
  --decisions <file>       verdicts, one JSON per line (GET /v1/verdicts/{id}); only decided ones count
  --table <name>           the verdict table on AWS (DynamoDB Scan; AWS_REGION and credentials as usual)
  --data-dir <dir>         a local stack's data folder (not yet: export verdicts and use --decisions)
  --base <name|file>       base policy (default balanced)
  --min-decisions <n>      fewest labelled decisions (positives + negatives) per category (default 50)
  --categories <list>      categories to fit (default: every one with a labelled decision)
  --refit-never-block      also fit block where the base never blocks (default: keep "never")
  --name <name>            preset name (default <base>-calibrated)
  --out <file>             where the preset goes (default reports/calibrated-policy.json)
  -h, --help               this text

exit status: 0 written; 2 a category had too few decisions (it keeps the base threshold; the preset
is still written when another category was fitted); 1 bad arguments or input`;

class UsageError extends Error {
  override name = 'UsageError';
}

function loadBase(spec: string): Policy {
  return spec.endsWith('.json') ? parsePolicy(JSON.parse(readFileSync(spec, 'utf8'))) : loadPolicy(spec);
}

function probability(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const p = Number(raw);
  if (!(p > 0 && p <= 1))
    throw new UsageError(`${flag} must be a number in (0, 1], got ${JSON.stringify(raw)}`);
  return p;
}

async function readDecisions(values: { decisions?: string; table?: string; 'data-dir'?: string }) {
  const given = [values.decisions, values.table, values['data-dir']].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --decisions, --table, --data-dir');
  if (values['data-dir'] !== undefined)
    throw new UsageError(
      '--data-dir is not supported yet (the local verdict store is not persistent): export the verdicts as JSONL and pass --decisions',
    );
  if (values.decisions !== undefined)
    return { verdicts: readDecisionsJsonl(values.decisions), source: values.decisions };
  const table = values.table as string;
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  return { verdicts: await scanDecisions(doc, table), source: `table ${table}` };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '  -  ');
const withCi = (e: Estimate): string =>
  e.trials === 0 ? '-' : `${f3(e.value)} [${f3(e.lo)}, ${f3(e.hi)}] (${e.successes}/${e.trials})`;
const point = (p: OperatingPoint): string =>
  p.threshold > 1 ? 'never' : `${p.threshold.toFixed(3)}  P ${withCi(p.precision)}  R ${withCi(p.recall)}`;

function report(fits: readonly CategoryFit[]): string {
  const lines = ['category    decisions (pos)  review: threshold, precision, recall [95% Wilson]  | block'];
  for (const f of fits) {
    const head = `${f.category.padEnd(11)} ${String(f.decisions).padStart(5)} (${String(f.positives).padStart(4)})`;
    if (f.status === 'refused') lines.push(`${head}  refused: ${f.reason}; kept the base thresholds`);
    else {
      const note = (reached: boolean) => (reached ? '' : ' (target not reached)');
      const block = f.blockKeptNever
        ? 'never (as in the base policy)'
        : point(f.block.point) + note(f.block.reached);
      const review = point(f.review.point) + (f.reviewKept ? ' (target not reached: base kept)' : '');
      lines.push(`${head}  review ${review}  | block ${block}`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'target-precision': { type: 'string' },
      'review-precision': { type: 'string' },
      decisions: { type: 'string' },
      table: { type: 'string' },
      'data-dir': { type: 'string' },
      base: { type: 'string', default: 'balanced' },
      'min-decisions': { type: 'string', default: '50' },
      categories: { type: 'string' },
      'refit-never-block': { type: 'boolean', default: false },
      name: { type: 'string' },
      out: { type: 'string', default: 'reports/calibrated-policy.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const block = probability('--target-precision', values['target-precision']);
  if (block === undefined) throw new UsageError('--target-precision is required');
  const base = loadBase(values.base);
  const review =
    probability('--review-precision', values['review-precision']) ?? base.expected?.targets.review ?? 0.5;
  const minDecisions = Number(values['min-decisions']);
  if (!Number.isInteger(minDecisions) || minDecisions < 1)
    throw new UsageError(`--min-decisions must be a whole number ≥ 1, got ${values['min-decisions']}`);

  const { verdicts, source } = await readDecisions(values);
  const decided = verdicts.filter(isDecided) as DecisionVerdict[];
  process.stderr.write(
    `[calibrate] ${decided.length} decided verdicts of ${verdicts.length} read from ${source}\n`,
  );
  const scores = labelledScores(decided);
  const requested = values.categories
    ? values.categories.split(',').map((c) => {
        if (!(CATEGORIES as readonly string[]).includes(c))
          throw new UsageError(`unknown category ${JSON.stringify(c)}; known: ${CATEGORIES.join(', ')}`);
        return c as Category;
      })
    : CATEGORIES.filter((c) => scores[c].length > 0);
  if (requested.length === 0) {
    process.stderr.write('[calibrate] refused: no decision labels any category; nothing written\n');
    return 2;
  }
  const targets = { review, block };
  const fits = requested.map((c) =>
    fitCategory(c, scores[c], base, { targets, minDecisions, refitNeverBlock: values['refit-never-block'] }),
  );
  process.stdout.write(`${report(fits)}\n`);
  const refused = fits.filter((f) => f.status === 'refused');
  if (refused.length === fits.length) {
    process.stderr.write(
      `[calibrate] refused every category (minimum ${minDecisions} decisions); nothing written\n`,
    );
    return 2;
  }
  const policy = calibratedPolicy({
    base,
    fits,
    targets,
    source,
    ...(values.name ? { name: values.name } : {}),
  });
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(policy, null, 2)}\n`);
  process.stderr.write(`[calibrate] wrote ${out} (${policy.version})\n`);
  if (refused.length > 0) {
    process.stderr.write(
      `[calibrate] refused ${refused.map((f) => `${f.category} (${f.status === 'refused' ? f.reason : ''})`).join(', ')}: base thresholds kept\n`,
    );
    return 2;
  }
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(
      `calibrate: ${err instanceof Error ? err.message : String(err)}\n${usage ? `\n${USAGE}\n` : ''}`,
    );
    process.exit(1);
  });
