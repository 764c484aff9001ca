/**
 * The evasion property, measured: for held-out abusive texts, how often each perturbation
 * (perturb.ts) keeps the text model's score (its highest output) within `tolerance` of the clean
 * text's. The property test asserts it; `npm run eval` reports it.
 */
import fc from 'fast-check';
import { mulberry32 } from './model.ts';
import { applies, PERTURBATIONS, type Perturbation } from './perturb.ts';

/** Scores texts: the highest output per text (the verdict's `score` for a text-only upload). */
export type ScoreTexts = (texts: readonly string[]) => Promise<number[]>;

export interface EvasionFigure {
  perturbation: Perturbation;
  /** Texts the perturbation could change. */
  n: number;
  /** Share whose perturbed score is within the tolerance of the clean score. */
  withinTolerance: number;
  /** Mean of clean − perturbed score (positive: the perturbation lowered it). */
  meanDrop: number;
  /** Largest |clean − perturbed|. */
  maxAbs: number;
}

/**
 * One perturbation draw per text and perturbation: the generator seeds come from fast-check with a
 * fixed seed, so every run perturbs the same way and a failure names a reproducible case.
 */
export async function evasionFigures(
  texts: readonly string[],
  score: ScoreTexts,
  options: { seed?: number; tolerance?: number } = {},
): Promise<{ figures: EvasionFigure[]; examples: Record<Perturbation, string> }> {
  const tolerance = options.tolerance ?? 0.1;
  const seeds = fc.sample(fc.integer({ min: 1, max: 2 ** 31 - 1 }), {
    seed: options.seed ?? 20_261_201,
    numRuns: texts.length,
  });
  const clean = await score(texts);
  const figures: EvasionFigure[] = [];
  const examples = {} as Record<Perturbation, string>;
  for (const name of Object.keys(PERTURBATIONS) as Perturbation[]) {
    const idx = texts.map((t, i) => (applies(name, t) ? i : -1)).filter((i) => i >= 0);
    const perturbed = idx.map((i) => PERTURBATIONS[name](texts[i] ?? '', mulberry32(seeds[i] ?? i)));
    examples[name] = perturbed[0] ?? '';
    const scores = await score(perturbed);
    const diffs = idx.map((i, j) => (clean[i] ?? 0) - (scores[j] ?? 0));
    figures.push({
      perturbation: name,
      n: idx.length,
      withinTolerance: diffs.filter((d) => Math.abs(d) <= tolerance).length / Math.max(1, diffs.length),
      meanDrop: diffs.reduce((a, b) => a + b, 0) / Math.max(1, diffs.length),
      maxAbs: Math.max(0, ...diffs.map(Math.abs)),
    });
  }
  return { figures, examples };
}
