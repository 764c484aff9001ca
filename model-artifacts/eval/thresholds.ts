/**
 * Decision thresholds for a target precision: on validation scores, the lowest threshold whose
 * precision (over everything at or above it) reaches the target — the most recall that target
 * allows. Used to regenerate the policy presets from precision targets.
 */
import { atThreshold, type BinaryMetrics } from '#model-artifacts/text-model/metrics.ts';

/** "Never": above every probability (the policy schema allows up to 1.01). */
export const NEVER = 1.01;

export interface ThresholdChoice {
  threshold: number;
  /** Precision and recall at that threshold on the data it was chosen on. */
  chosenOn: BinaryMetrics;
  /** False when no threshold with at least `minPredicted` items reaches the target. */
  reached: boolean;
}

/**
 * The smallest threshold t (one of the scores) such that precision of `score ≥ t` is at least
 * `target` — measured at `prevalence` when given (recall and false-positive rate re-weighted to that
 * share of positives, see {@link precisionAtPrevalence}), else at the data's own mix — considering only
 * cut points with at least `minPredicted` items predicted positive (so a handful of top scores cannot
 * decide alone). Thresholds are rounded down to 3 decimals (inclusive).
 */
export function thresholdForPrecision(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  target: number,
  options: { prevalence?: number; minPredicted?: number } = {},
): ThresholdChoice {
  let best: number | undefined;
  for (const cut of cutPoints(scores, labels, options)) if (cut.precision >= target) best = cut.score;
  if (best === undefined)
    return { threshold: NEVER, chosenOn: atThreshold(scores, labels, NEVER), reached: false };
  const threshold = Math.floor(best * 1000) / 1000;
  return { threshold, chosenOn: atThreshold(scores, labels, threshold), reached: true };
}

/**
 * The threshold (rounded down to 3 decimals) with the highest precision, at `prevalence` when given,
 * among cut points with at least `minPredicted` items predicted positive: the strictest operating
 * point the data can support, for a category that must be able to block when no threshold reaches
 * the block target.
 */
export function bestPrecisionThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { prevalence?: number; minPredicted?: number } = {},
): number {
  let best = { precision: -1, threshold: NEVER };
  for (const cut of cutPoints(scores, labels, options)) {
    // Ties keep the lower threshold (more recall at the same precision).
    if (cut.precision >= best.precision) best = { precision: cut.precision, threshold: cut.score };
  }
  return best.threshold >= NEVER ? NEVER : Math.floor(best.threshold * 1000) / 1000;
}

/**
 * Every cut point `score ≥ s` (one per distinct score, highest first) with at least `minPredicted`
 * items predicted positive, and its precision: at `prevalence` when given (recall and false-positive
 * rate re-weighted to that share of positives), else at the data's own mix. Both threshold choices
 * above walk this one sequence.
 */
function* cutPoints(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { prevalence?: number; minPredicted?: number },
): Generator<{ score: number; precision: number }> {
  const minPredicted = options.minPredicted ?? 10;
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] ?? 0) - (scores[a] ?? 0),
  );
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) pos++;
  const neg = labels.length - pos;
  let tp = 0;
  for (let i = 0; i < idx.length; i++) {
    if ((labels[idx[i] ?? 0] ?? 0) > 0.5) tp++;
    const s = scores[idx[i] ?? 0] ?? 0;
    if (i + 1 < idx.length && scores[idx[i + 1] ?? 0] === s) continue;
    if (i + 1 < minPredicted) continue;
    const fp = i + 1 - tp;
    let precision = tp / (i + 1);
    if (options.prevalence !== undefined && pos > 0 && neg > 0) {
      const tpr = tp / pos;
      const fpr = fp / neg;
      precision = (options.prevalence * tpr) / (options.prevalence * tpr + (1 - options.prevalence) * fpr);
    }
    yield { score: s, precision };
  }
}

/**
 * Precision at another prevalence π, from the recall (TPR) and false-positive rate measured here:
 * π·TPR / (π·TPR + (1−π)·FPR). Shows what a precision measured on a harm-rich evaluation mix means
 * for traffic where harm is rare.
 */
export function precisionAtPrevalence(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
  prevalence: number,
): number {
  let tp = 0;
  let fp = 0;
  let pos = 0;
  for (let i = 0; i < scores.length; i++) {
    const y = (labels[i] ?? 0) > 0.5;
    if (y) pos++;
    if ((scores[i] ?? 0) >= threshold) {
      if (y) tp++;
      else fp++;
    }
  }
  const neg = scores.length - pos;
  const tpr = pos === 0 ? 0 : tp / pos;
  const fpr = neg === 0 ? 0 : fp / neg;
  const den = prevalence * tpr + (1 - prevalence) * fpr;
  return den === 0 ? Number.NaN : (prevalence * tpr) / den;
}
