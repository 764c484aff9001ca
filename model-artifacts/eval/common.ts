/**
 * Constants and small helpers shared by the sections of `npm run eval` (run.ts and the modules it
 * calls): which categories are evaluated, where reports go, and how numbers are printed.
 */
import { join } from 'node:path';
import { FUSION_LABELS } from '#model-artifacts/fusion/model.ts';
import { REPO } from './dataset.ts';
import { fmt } from './methods.ts';

/** Seed of the post compositions (validation posts use it, test posts use it + 1). */
export const EVAL_SEED = 20_240_620;
/** How many posts are composed per split. */
export const POSTS = { validation: 4_000, test: 4_000 };

/** The categories with labelled data: the only ones evaluated and given data-derived thresholds. */
export const TEXT_CATS = ['hate', 'harassment', 'offensive', 'violence'] as const;
export type TextCat = (typeof TEXT_CATS)[number];

/** Index of a category in the fusion model's label order (the order of every score vector here). */
export const categoryIndex = (label: string): number =>
  FUSION_LABELS.indexOf(label as (typeof FUSION_LABELS)[number]);

export const MODELS_DIR = join(REPO, 'model-artifacts/models');
export const REPORT_DIR = join(REPO, 'reports');
export const FIG_DIR = join(REPORT_DIR, 'figures');

export const log = (msg: string): void => {
  process.stderr.write(`[eval] ${msg}\n`);
};

export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
export const prf = (m: { precision: number; recall: number; f1: number }): string =>
  `${fmt(m.precision)} / ${fmt(m.recall)} / ${fmt(m.f1)}`;

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
