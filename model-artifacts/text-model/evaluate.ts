/**
 * Figures the text-model trainer reports per source: AUROC and F1 per label where the source
 * defines it, "any category" AUROC where it only says harmful or not, and for benign sources the
 * share of texts the model flags. Used for the in-source test split, for leave-one-source-out
 * runs and for the previous model, so the three are measured the same way.
 */
import type { Features } from '#shared/text/featurize.ts';
import { BENIGN_SOURCES, type LabelledText, type Source, TEXT_LABELS, type TextLabel } from './data.ts';
import { atThreshold, auroc } from './metrics.ts';
import { forward, type TextModelParams } from './model.ts';
import type { TrainExample } from './trainer.ts';

/** A featurized labelled text. */
export interface Row extends TrainExample {
  e: LabelledText;
}

/** A model with its decision thresholds, scoring featurized rows. */
export interface Scorer {
  /** Labels of its outputs, in order (a prefix of TEXT_LABELS for the 1.x model). */
  labels: readonly TextLabel[];
  thresholds: readonly number[];
  probs(rows: readonly Row[]): ArrayLike<number>[];
}

export function paramsScorer(
  params: TextModelParams,
  thresholds: readonly number[],
  labels: readonly TextLabel[] = TEXT_LABELS,
  featuresOf: (r: Row) => Features = (r) => r.f,
): Scorer {
  return { labels, thresholds, probs: (rows) => rows.map((r) => forward(params, featuresOf(r)).probs) };
}

export interface LabelFigure {
  n: number;
  positives: number;
  auroc: number;
  /** F1 at the model's threshold, at the source's own mix. */
  f1: number;
  /** Share of the negatives at or above the threshold. */
  fpr: number;
}

export interface SourceFigures {
  n: number;
  labels: Partial<Record<TextLabel | 'any', LabelFigure>>;
  /** Share of the texts with any output at or above its threshold (reported for benign sources). */
  flagged: number;
}

/** The label column of a row for output k: its training label, or the source's evaluation-only label. */
export function labelOf(e: LabelledText, k: number): number | undefined {
  if ((e.mask[k] ?? 0) > 0) return e.y[k] ?? 0;
  if (k === 0 && e.evalHate !== undefined) return e.evalHate;
  if (k === 3 && e.evalViolence !== undefined) return e.evalViolence;
  return undefined;
}

function figure(scores: number[], labels: number[], threshold: number): LabelFigure | undefined {
  const positives = labels.filter((y) => y > 0.5).length;
  if (positives === 0 || positives === labels.length) return undefined;
  const at = atThreshold(scores, labels, threshold);
  let fp = 0;
  scores.forEach((s, i) => {
    if (s >= threshold && (labels[i] ?? 0) < 0.5) fp++;
  });
  return {
    n: labels.length,
    positives,
    auroc: auroc(scores, labels),
    f1: at.f1,
    fpr: fp / (labels.length - positives),
  };
}

/** Per-source figures of a scorer on `rows` (one source's rows). */
export function sourceFigures(scorer: Scorer, rows: readonly Row[]): SourceFigures {
  const probs = scorer.probs(rows);
  const labels: SourceFigures['labels'] = {};
  scorer.labels.forEach((label, k) => {
    const s: number[] = [];
    const y: number[] = [];
    rows.forEach((r, i) => {
      const v = labelOf(r.e, k);
      if (v === undefined) return;
      s.push(probs[i]?.[k] ?? 0);
      y.push(v);
    });
    const f = figure(s, y, scorer.thresholds[k] ?? 0.5);
    if (f !== undefined) labels[label] = f;
  });
  // "Any category": the highest output relative to its threshold, so one cut-off (1) applies to all.
  const relative = probs.map((p) =>
    Math.max(...scorer.labels.map((_, k) => (p[k] ?? 0) / (scorer.thresholds[k] ?? 0.5))),
  );
  const anyS: number[] = [];
  const anyY: number[] = [];
  rows.forEach((r, i) => {
    if (r.e.anyHarm === undefined) return;
    anyS.push(relative[i] ?? 0);
    anyY.push(r.e.anyHarm);
  });
  const any = figure(anyS, anyY, 1);
  if (any !== undefined) labels.any = any;
  const flagged = rows.length === 0 ? 0 : relative.filter((v) => v >= 1).length / rows.length;
  return { n: rows.length, labels, flagged };
}

/** Mean AUROC over a report's (source, label) cells, the figure architectures are chosen by. */
export function meanAuroc(report: Partial<Record<Source, SourceFigures>>): number {
  const cells = Object.values(report).flatMap((f) =>
    Object.entries(f?.labels ?? {})
      .filter(([l]) => l !== 'any')
      .map(([, v]) => v.auroc),
  );
  return cells.reduce((a, b) => a + b, 0) / Math.max(1, cells.length);
}

/** Mean share of benign-source texts flagged. */
export function meanBenignFlagged(report: Partial<Record<Source, SourceFigures>>): number {
  const v = BENIGN_SOURCES.map((s) => report[s]?.flagged).filter((x): x is number => x !== undefined);
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}

/** The identity-mention figures: hate output on benign statements about groups, and on implicit hate. */
export interface IdentityFigures {
  /** ToxiGen neutral statements: share flagged as hate, mean hate probability. */
  toxigenNeutral: { n: number; hateFlagged: number; meanHate: number };
  /** ToxiGen hate statements: share flagged as hate. */
  toxigenHate: { n: number; hateFlagged: number; meanHate: number };
  /** Non-toxic Wikipedia comments that mention identities: share flagged as hate / as anything. */
  wikipediaNonToxic: { n: number; hateFlagged: number; anyFlagged: number };
  /** Generated counter-speech and negations ("X are not Y"): share flagged as hate. */
  counterSpeech: { n: number; hateFlagged: number };
}

export function identityFigures(scorer: Scorer, rows: readonly Row[]): IdentityFigures {
  const hateT = scorer.thresholds[0] ?? 0.5;
  const stats = (rs: readonly Row[]) => {
    const p = scorer.probs(rs);
    const hate = p.map((x) => x[0] ?? 0);
    const any = p.map((x) => scorer.labels.some((_, k) => (x[k] ?? 0) >= (scorer.thresholds[k] ?? 0.5)));
    const n = rs.length;
    return {
      n,
      hateFlagged: n === 0 ? Number.NaN : hate.filter((h) => h >= hateT).length / n,
      meanHate: n === 0 ? Number.NaN : hate.reduce((a, b) => a + b, 0) / n,
      anyFlagged: n === 0 ? Number.NaN : any.filter(Boolean).length / n,
    };
  };
  const neutral = stats(rows.filter((r) => r.e.source === 'toxigen' && r.e.raw === 'toxigen:neutral'));
  const hate = stats(rows.filter((r) => r.e.source === 'toxigen' && r.e.raw === 'toxigen:hate'));
  const wiki = stats(rows.filter((r) => r.e.source === 'wikipedia-identity' && r.e.anyHarm === 0));
  const counter = stats(
    rows.filter((r) => r.e.source === 'generated' && r.e.raw.startsWith('generated:deny')),
  );
  return {
    toxigenNeutral: { n: neutral.n, hateFlagged: neutral.hateFlagged, meanHate: neutral.meanHate },
    toxigenHate: { n: hate.n, hateFlagged: hate.hateFlagged, meanHate: hate.meanHate },
    wikipediaNonToxic: { n: wiki.n, hateFlagged: wiki.hateFlagged, anyFlagged: wiki.anyFlagged },
    counterSpeech: { n: counter.n, hateFlagged: counter.hateFlagged },
  };
}
