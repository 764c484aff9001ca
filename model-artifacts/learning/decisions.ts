/**
 * Reviewer decisions as training and calibration data. A decision is a stored verdict with a
 * `review` (shared/domain/verdict.ts): the person's allow/block, optional per-category labels, and
 * the verdict's own scores — fused (`categories`, what the policy thresholds) and per channel
 * (`modalities.<channel>.scores`, what the fusion head takes as input).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FUSION_LABELS, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { CATEGORIES, type Category } from '#shared/domain/taxonomy.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';

/** The fields of a verdict that learning reads; everything else is kept but not checked. */
const decisionVerdictSchema = z.looseObject({
  decision: z.enum(['allow', 'review', 'block', 'error']),
  categories: z.record(z.string(), z.number()),
  reasons: z.array(z.string()).default([]),
  modalities: z.record(z.string(), z.looseObject({ scores: z.record(z.string(), z.number()) })).default({}),
  finalDecision: z.enum(['allow', 'review', 'block', 'error']).optional(),
  review: z
    .looseObject({
      decision: z.enum(['allow', 'block']),
      labels: z.record(z.string(), z.boolean()).optional(),
    })
    .optional(),
});

/** The part of a verdict that learning needs (a full `Verdict` is one). */
export type DecisionVerdict = z.infer<typeof decisionVerdictSchema>;

export class DecisionFileError extends Error {
  override name = 'DecisionFileError';
}

/** Validates one parsed verdict; the message names the offending field. */
export function parseDecisionVerdict(json: unknown, where = 'verdict'): DecisionVerdict {
  const r = decisionVerdictSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DecisionFileError(`${where}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return r.data;
}

/** One verdict JSON per line (as `GET /v1/verdicts/{id}` returns them); blank lines are skipped. */
export function parseDecisionsJsonl(text: string, name = 'decisions'): DecisionVerdict[] {
  const out: DecisionVerdict[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new DecisionFileError(`${name}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    out.push(parseDecisionVerdict(json, `${name}:${i + 1}`));
  });
  return out;
}

export function readDecisionsJsonl(path: string): DecisionVerdict[] {
  return parseDecisionsJsonl(readFileSync(path, 'utf8'), path);
}

/** Only verdicts a person decided count as decisions. */
export const isDecided = (v: DecisionVerdict): boolean => v.review !== undefined;

const REASON = /^([a-z-]+) [0-9.]+ ≥ (review|block)\b/;

/** Categories the policy flagged on this verdict (its reasons: "hate 0.91 ≥ block 0.85"). */
export function flaggedCategories(v: Pick<DecisionVerdict, 'reasons'>): Set<string> {
  return new Set(v.reasons.flatMap((r) => REASON.exec(r)?.[1] ?? []));
}

/**
 * What a decision says about one category: 1 (it is that), 0 (it is not) or undefined (unknown).
 * The reviewer's label when given; when the reviewer gave no labels at all, for a category the
 * policy flagged, the decision that stands (`finalDecision`, else the review's): block → 1,
 * allow → 0. Anything else is unknown: a reviewer who blocks for harassment says nothing about hate.
 */
export function decisionLabel(v: DecisionVerdict, category: string): 0 | 1 | undefined {
  if (!v.review) return undefined;
  const label = v.review.labels?.[category];
  if (label !== undefined) return label ? 1 : 0;
  // A reviewer who labelled some categories and not this one said nothing about it.
  if (Object.keys(v.review.labels ?? {}).length > 0) return undefined;
  if (!flaggedCategories(v).has(category)) return undefined;
  const final = v.finalDecision ?? v.review.decision;
  return final === 'block' ? 1 : final === 'allow' ? 0 : undefined;
}

/** A (fused score, reviewer label) pair for threshold fitting. */
export interface LabelledScore {
  score: number;
  label: 0 | 1;
}

/** Per category, the decisions that carry both a fused score and a label for it. */
export function labelledScores(verdicts: readonly DecisionVerdict[]): Record<Category, LabelledScore[]> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, [] as LabelledScore[]])) as Record<
    Category,
    LabelledScore[]
  >;
  for (const v of verdicts) {
    for (const c of CATEGORIES) {
      const score = v.categories[c];
      const label = decisionLabel(v, c);
      if (score === undefined || !Number.isFinite(score) || label === undefined) continue;
      out[c].push({ score, label });
    }
  }
  return out;
}

/**
 * A fusion training row (the shape of model-artifacts/eval/posts.ts's FusionExample): per-channel
 * scores in [channel, category] order, 0 and `present` 0 where the verdict has no such channel;
 * targets from {@link decisionLabel}, masked where the decision says nothing.
 */
export interface DecisionRow {
  x: Float32Array;
  present: Float32Array;
  y: Float32Array;
  mask: Float32Array;
  embeddings: (Float32Array | undefined)[];
}

/** The decision as a fusion row; undefined when no fusion channel was scored or nothing is labelled. */
export function decisionRow(v: DecisionVerdict): DecisionRow | undefined {
  if (!v.review) return undefined;
  const x = new Float32Array(NUM_CHANNELS * NUM_LABELS);
  const present = new Float32Array(NUM_CHANNELS);
  CHANNELS.forEach((ch, k) => {
    const scores = v.modalities[ch]?.scores;
    if (!scores) return;
    present[k] = 1;
    FUSION_LABELS.forEach((label, c) => {
      const p = scores[label];
      x[k * NUM_LABELS + c] = p !== undefined && Number.isFinite(p) ? p : 0;
    });
  });
  if (!present.some((p) => p > 0)) return undefined;
  const y = new Float32Array(NUM_LABELS);
  const mask = new Float32Array(NUM_LABELS);
  FUSION_LABELS.forEach((label, c) => {
    const l = decisionLabel(v, label);
    if (l === undefined) return;
    y[c] = l;
    mask[c] = 1;
  });
  if (!mask.some((m) => m > 0)) return undefined;
  return { x, present, y, mask, embeddings: CHANNELS.map(() => undefined) };
}

/** Every decided verdict's fusion row, each repeated `weight` times (a whole number ≥ 1). */
export function decisionRows(verdicts: readonly DecisionVerdict[], weight = 1): DecisionRow[] {
  if (!Number.isInteger(weight) || weight < 1)
    throw new RangeError(`decision weight must be a whole number ≥ 1, got ${weight}`);
  const rows = verdicts.flatMap((v) => decisionRow(v) ?? []);
  return Array.from({ length: weight }, () => rows).flat();
}

/**
 * The epoch's examples with the decision rows shuffled in (seeded), so they are spread over the
 * mini-batches instead of always ending the epoch; the examples come back untouched when there are none.
 */
export function withDecisionRows<T>(examples: T[], rows: readonly T[], rnd: () => number): T[] {
  if (rows.length === 0) return examples;
  const all = [...examples, ...rows];
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [all[i], all[j]] = [all[j] as T, all[i] as T];
  }
  return all;
}
