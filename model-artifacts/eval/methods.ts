/**
 * Ways to turn per-channel probabilities into one probability per category — the trained fusion
 * model and the rules it must beat (max, mean, best single channel) — and the metrics that compare
 * them. Thresholds are always chosen on validation examples and applied to test examples.
 */
import { type FusionParams, fuse, NUM_LABELS, SCORED } from '#model-artifacts/fusion/model.ts';
import {
  atThreshold,
  auroc,
  type BinaryMetrics,
  bestF1Threshold,
  ece,
} from '#model-artifacts/text-model/metrics.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';

type Channel = string;

import type { FusionExample } from './posts.ts';

export type Scorer = (ex: FusionExample) => ArrayLike<number>;

/** Channels whose model scores category c. */
export const channelsScoring = (c: number): number[] =>
  CHANNELS.flatMap((_, k) => ((SCORED[k * NUM_LABELS + c] ?? 0) > 0 ? [k] : []));

const presentValue = (ex: FusionExample, k: number, c: number): number | undefined =>
  (ex.present[k] ?? 0) > 0.5 ? (ex.x[k * NUM_LABELS + c] ?? 0) : undefined;

/** The highest probability among present channels that score the category (0 if none). */
export const maxRule: Scorer = (ex) =>
  Array.from({ length: NUM_LABELS }, (_, c) =>
    Math.max(0, ...channelsScoring(c).flatMap((k) => presentValue(ex, k, c) ?? [])),
  );

/** The mean over present channels that score the category (0 if none). */
export const meanRule: Scorer = (ex) =>
  Array.from({ length: NUM_LABELS }, (_, c) => {
    const v = channelsScoring(c).flatMap((k) => presentValue(ex, k, c) ?? []);
    return v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length;
  });

/** One channel alone: its probability where present, 0 (nothing flagged) where absent. */
export const singleChannel =
  (k: number): Scorer =>
  (ex) =>
    Array.from({ length: NUM_LABELS }, (_, c) => presentValue(ex, k, c) ?? 0);

export const fusedScorer =
  (params: FusionParams): Scorer =>
  (ex) =>
    fuse(params, ex.x, ex.present);

/** Masked (score, label) columns of category c, optionally only where a channel covers it. */
export function column(
  examples: readonly FusionExample[],
  scorer: Scorer,
  c: number,
  coveredOnly = false,
): [number[], number[]] {
  const s: number[] = [];
  const y: number[] = [];
  for (const ex of examples) {
    if ((ex.mask[c] ?? 0) === 0) continue;
    if (coveredOnly && !channelsScoring(c).some((k) => (ex.present[k] ?? 0) > 0.5)) continue;
    s.push(scorer(ex)[c] ?? 0);
    y.push(ex.y[c] ?? 0);
  }
  return [s, y];
}

/** Average precision (area under the step PR curve). NaN without positives. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] ?? 0) - (scores[a] ?? 0),
  );
  let total = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) total++;
  if (total === 0) return Number.NaN;
  let tp = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < idx.length; i++) {
    if ((labels[idx[i] ?? 0] ?? 0) > 0.5) tp++;
    const s = scores[idx[i] ?? 0] ?? 0;
    if (i + 1 < idx.length && scores[idx[i + 1] ?? 0] === s) continue;
    const recall = tp / total;
    ap += (recall - prevRecall) * (tp / (i + 1));
    prevRecall = recall;
  }
  return ap;
}

export interface MethodReport {
  n: number;
  positives: number;
  auroc: number;
  ap: number;
  /** At the best-F1 threshold of the validation examples. */
  tuned: BinaryMetrics;
  ece: number;
}

/** AUROC, AP and P/R/F1 at a validation-chosen threshold, for one scorer and category. */
export function methodReport(
  scorer: Scorer,
  c: number,
  validation: readonly FusionExample[],
  test: readonly FusionExample[],
): MethodReport {
  const [vs, vy] = column(validation, scorer, c);
  const [s, y] = column(test, scorer, c);
  const threshold = vy.some((v) => v > 0.5) ? bestF1Threshold(vs, vy) : 0.5;
  const tuned = atThreshold(s, y, threshold);
  return {
    n: s.length,
    positives: tuned.positives,
    auroc: auroc(s, y),
    ap: averagePrecision(s, y),
    tuned,
    ece: ece(s, y),
  };
}

/** The single channel with the best validation AUROC for category c. */
export function bestSingleChannel(c: number, validation: readonly FusionExample[]): Channel {
  let best: Channel = 'text';
  let bestAuc = -1;
  for (const k of channelsScoring(c)) {
    const a = auroc(...column(validation, singleChannel(k), c));
    if (a > bestAuc) {
      bestAuc = a;
      best = CHANNELS[k] ?? 'text';
    }
  }
  return best;
}

export const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
