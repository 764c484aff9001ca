/** Binary classification metrics used by the text and fusion model cards. */

export interface BinaryMetrics {
  n: number;
  positives: number;
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Area under the ROC curve (Mann-Whitney U, ties counted half). NaN with one class only. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] ?? 0) - (scores[b] ?? 0),
  );
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] ?? 0] === scores[idx[i] ?? 0]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if ((labels[idx[k] ?? 0] ?? 0) > 0.5) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Precision, recall and F1 of `score >= threshold`. */
export function atThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    const y = (labels[i] ?? 0) > 0.5;
    const p = (scores[i] ?? 0) >= threshold;
    if (y) positives++;
    if (p && y) tp++;
    else if (p) fp++;
    else if (y) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { n: scores.length, positives, threshold, precision, recall, f1 };
}

/** The threshold (one of the scores) that maximises F1 on these scores. */
export function bestF1Threshold(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] ?? 0) - (scores[a] ?? 0),
  );
  let totalPos = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) totalPos++;
  let tp = 0;
  let best = { f1: -1, threshold: 0.5 };
  for (let i = 0; i < idx.length; i++) {
    if ((labels[idx[i] ?? 0] ?? 0) > 0.5) tp++;
    const s = scores[idx[i] ?? 0] ?? 0;
    // Only cut between distinct scores: everything with score >= s is predicted positive.
    if (i + 1 < idx.length && scores[idx[i + 1] ?? 0] === s) continue;
    const precision = tp / (i + 1);
    const recall = totalPos === 0 ? 0 : tp / totalPos;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1) best = { f1, threshold: s };
  }
  return best.threshold;
}

/** Expected calibration error with equal-width bins. */
export function ece(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): number {
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] ?? 0;
    const b = Math.min(bins - 1, Math.floor(s * bins));
    count[b] = (count[b] ?? 0) + 1;
    conf[b] = (conf[b] ?? 0) + s;
    acc[b] = (acc[b] ?? 0) + ((labels[i] ?? 0) > 0.5 ? 1 : 0);
  }
  let e = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b] ?? 0;
    if (c > 0) e += (c / scores.length) * Math.abs((acc[b] ?? 0) / c - (conf[b] ?? 0) / c);
  }
  return e;
}

/** Mean binary cross-entropy of probabilities (clipped away from 0 and 1). */
export function logLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, scores[i] ?? 0));
    s -= (labels[i] ?? 0) > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return scores.length === 0 ? Number.NaN : s / scores.length;
}

/** The usual summary of one category: AUROC, P/R/F1 at 0.5 and at a given tuned threshold. */
export interface CategoryReport {
  n: number;
  positives: number;
  auroc: number;
  at05: BinaryMetrics;
  atTuned: BinaryMetrics;
  ece: number;
}

export function categoryReport(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  tunedThreshold: number,
): CategoryReport {
  const at05 = atThreshold(scores, labels, 0.5);
  return {
    n: at05.n,
    positives: at05.positives,
    auroc: auroc(scores, labels),
    at05,
    atTuned: atThreshold(scores, labels, tunedThreshold),
    ece: ece(scores, labels),
  };
}

/**
 * The threshold that maximises F1 when positives make up `prevalence` of traffic: false positives
 * are counted at the weight the negatives would have at that base rate.
 */
export function bestF1ThresholdAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  prevalence: number,
): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] ?? 0) - (scores[a] ?? 0),
  );
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) pos++;
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return 0.5;
  const wNeg = ((1 - prevalence) / prevalence) * (pos / neg);
  let tp = 0;
  let fp = 0;
  let best = { f1: -1, threshold: 0.5 };
  for (let i = 0; i < idx.length; i++) {
    if ((labels[idx[i] ?? 0] ?? 0) > 0.5) tp++;
    else fp += wNeg;
    const s = scores[idx[i] ?? 0] ?? 0;
    if (i + 1 < idx.length && scores[idx[i + 1] ?? 0] === s) continue;
    const precision = tp / (tp + fp);
    const recall = tp / pos;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1) best = { f1, threshold: s };
  }
  return best.threshold;
}
