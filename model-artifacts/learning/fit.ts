/**
 * Thresholds from reviewer decisions: per category, the lowest threshold whose precision — the
 * lower end of its Wilson 95% interval, not the point estimate — reaches the target, so a
 * threshold is only lowered as far as the decisions can vouch for. Refuses a category with fewer
 * than `minDecisions` labelled decisions (it keeps the base policy's threshold).
 */
import { createHash } from 'node:crypto';
import type { Category } from '#shared/domain/taxonomy.ts';
import { type Policy, parsePolicy } from '#shared/policy/policy.ts';
import type { LabelledScore } from './decisions.ts';
import { type Estimate, estimate } from './stats.ts';

/** "Never" (above every probability; the policy schema allows up to 1.01). */
export const NEVER = 1.01;
/** Thresholds live on a 0.001 grid: a threshold t flags every score ≥ t. */
const GRID = 1000;

export interface OperatingPoint {
  threshold: number;
  precision: Estimate;
  recall: Estimate;
  /** Items at or above the threshold. */
  flagged: number;
}

export interface ThresholdFit {
  /** The chosen threshold and what it gives on the decisions; "never" (1.01) when `reached` is false. */
  point: OperatingPoint;
  reached: boolean;
}

/** Precision and recall (with Wilson intervals) of `score ≥ threshold` on labelled scores. */
export function operatingPoint(items: readonly LabelledScore[], threshold: number): OperatingPoint {
  let tp = 0;
  let flagged = 0;
  let pos = 0;
  for (const { score, label } of items) {
    if (label === 1) pos++;
    if (score >= threshold) {
      flagged++;
      if (label === 1) tp++;
    }
  }
  return { threshold, precision: estimate(tp, flagged), recall: estimate(tp, pos), flagged };
}

/**
 * The lowest grid threshold whose precision's Wilson lower bound is ≥ `target` (the most recall
 * the target allows, as far as the decisions show); "never" (1.01) when none reaches it.
 */
export function fitThreshold(items: readonly LabelledScore[], target: number): ThresholdFit {
  if (!(target > 0 && target <= 1)) throw new RangeError(`target precision must be in (0, 1], got ${target}`);
  // Candidate cut points: each score rounded down to the grid, highest first.
  const cuts = [...new Set(items.map((i) => Math.floor(i.score * GRID) / GRID))].sort((a, b) => b - a);
  let best: number | undefined;
  for (const t of cuts) if (operatingPoint(items, t).precision.lo >= target) best = t;
  if (best === undefined) return { point: operatingPoint(items, NEVER), reached: false };
  return { point: operatingPoint(items, best), reached: true };
}

export interface Targets {
  review: number;
  block: number;
}

export type CategoryFit =
  | {
      category: Category;
      status: 'fitted';
      decisions: number;
      positives: number;
      review: ThresholdFit;
      block: ThresholdFit;
      /** The base policy's block was "never" and is kept so (a policy choice, not a fit). */
      blockKeptNever: boolean;
      /** The review target was not reached: the base policy's review threshold is kept. */
      reviewKept: boolean;
    }
  | { category: Category; status: 'refused'; decisions: number; positives: number; reason: string };

export interface FitOptions {
  targets: Targets;
  /** Fewest labelled decisions (positives + negatives) a category needs. */
  minDecisions: number;
  /** Also fit block where the base policy never blocks (e.g. `offensive` alone). */
  refitNeverBlock?: boolean;
}

/** Fits one category's review and block thresholds, or refuses it. */
export function fitCategory(
  category: Category,
  items: readonly LabelledScore[],
  base: Policy,
  options: FitOptions,
): CategoryFit {
  const positives = items.filter((i) => i.label === 1).length;
  const decisions = items.length;
  const negatives = decisions - positives;
  const short =
    decisions < options.minDecisions
      ? `${decisions} labelled decisions < minimum ${options.minDecisions}`
      : positives === 0 || negatives === 0
        ? `${positives} positives and ${negatives} negatives: need both`
        : undefined;
  if (short) return { category, status: 'refused', decisions, positives, reason: short };
  const blockKeptNever = (base.thresholds[category]?.block ?? NEVER) > 1 && !options.refitNeverBlock;
  const block = blockKeptNever
    ? { point: operatingPoint(items, NEVER), reached: false }
    : fitThreshold(items, options.targets.block);
  let review = fitThreshold(items, options.targets.review);
  // Unreachable review target: keep the base review threshold rather than stop asking people
  // (an unreachable block target means "never block", the safe direction; this would not be).
  const reviewKept = !review.reached;
  if (reviewKept)
    review = { point: operatingPoint(items, base.thresholds[category]?.review ?? NEVER), reached: false };
  // Review never above block: whatever would be blocked is at least worth a look.
  if (review.point.threshold > block.point.threshold)
    review = { point: operatingPoint(items, block.point.threshold), reached: block.reached };
  return { category, status: 'fitted', decisions, positives, review, block, blockKeptNever, reviewKept };
}

const round3 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

export interface CalibratedPolicyInput {
  base: Policy;
  fits: readonly CategoryFit[];
  targets: Targets;
  /** Where the decisions came from (a file, a table), for `expected.measuredOn`. */
  source: string;
  name?: string;
}

/**
 * The base policy with the fitted categories' thresholds replaced; version `<name>-<hash>` of the
 * thresholds, so it changes exactly when they do. `expected` holds the in-sample precision and
 * recall of the fit (point estimates; the intervals are in the command's output).
 */
export function calibratedPolicy(input: CalibratedPolicyInput): Policy {
  const name = input.name ?? `${input.base.name}-calibrated`;
  const thresholds: Policy['thresholds'] = structuredClone(input.base.thresholds);
  const categories: NonNullable<Policy['expected']>['categories'] = {};
  const fitted = input.fits.filter((f) => f.status === 'fitted');
  for (const f of fitted) {
    thresholds[f.category] = { review: f.review.point.threshold, block: f.block.point.threshold };
    const op = (p: OperatingPoint) =>
      p.threshold > 1
        ? { precision: null, recall: null }
        : { precision: round3(p.precision.value), recall: round3(p.recall.value) };
    categories[f.category] = { review: op(f.review.point), block: op(f.block.point) };
  }
  const ordered = Object.fromEntries(Object.keys(thresholds).map((k) => [k, thresholds[k]]));
  const hash = createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 8);
  const counts = fitted.map((f) => `${f.category} ${f.decisions}`).join(', ');
  return parsePolicy({
    name,
    version: `${name}-${hash}`,
    description:
      `${input.base.name} (${input.base.version}) with thresholds refitted from reviewer decisions by ` +
      `\`npm run calibrate\`: the lowest threshold whose precision's Wilson 95% lower bound reaches ` +
      `${input.targets.review} (review) / ${input.targets.block} (block). Fitted: ${counts || 'none'}; ` +
      'other categories as in the base policy.',
    thresholds,
    reviewWhenPartial: input.base.reviewWhenPartial,
    expected: {
      measuredOn: `in-sample, reviewer decisions from ${input.source} (model-artifacts/learning/fit.ts); base ${input.base.version}`,
      targets: { review: input.targets.review, block: input.targets.block },
      categories,
    },
  });
}
