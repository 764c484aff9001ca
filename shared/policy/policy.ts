import { z } from 'zod';
import type { Decision } from '#shared/domain/verdict.ts';
import balanced from './presets/balanced.json' with { type: 'json' };
import lenient from './presets/lenient.json' with { type: 'json' };
import strict from './presets/strict.json' with { type: 'json' };

const threshold = z
  .object({ review: z.number().min(0).max(1.01), block: z.number().min(0).max(1.01) })
  .refine((t) => t.review <= t.block, 'review threshold must not exceed block threshold');

const operatingPoint = z.object({
  /** null where the threshold is "never" (1.01). */
  precision: z.number().min(0).max(1).nullable(),
  recall: z.number().min(0).max(1).nullable(),
  /** Precision re-weighted to `targets.atPrevalence` positives. */
  precisionAtReference: z.number().min(0).max(1).nullable().optional(),
});

const expectedSchema = z.object({
  measuredOn: z.string(),
  targets: z.object({ review: z.number(), block: z.number(), atPrevalence: z.number().optional() }),
  categories: z.record(z.string(), z.object({ review: operatingPoint, block: operatingPoint })),
});

const policySchema = z.object({
  name: z.string(),
  /** Stamped on every verdict, so a stored verdict can be replayed against a newer policy. */
  version: z.string().min(1),
  description: z.string().optional(),
  thresholds: z.record(z.string(), threshold),
  /** Ask a person when part of the upload went unscored (e.g. text past the window limit). */
  reviewWhenPartial: z.boolean().default(true),
  /** What the thresholds were measured to give on held-out data (written by `npm run eval`). */
  expected: expectedSchema.optional(),
});

export type Policy = z.infer<typeof policySchema>;

const PRESETS: Record<string, unknown> = { balanced, strict, lenient };

export class UnknownPolicyError extends Error {
  override name = 'UnknownPolicyError';
}

/** A preset by name; an unknown name fails loudly with the list of known ones. */
export function loadPolicy(name: string): Policy {
  const preset = PRESETS[name];
  if (!preset)
    throw new UnknownPolicyError(
      `unknown policy ${JSON.stringify(name)}; known: ${Object.keys(PRESETS).join(', ')}`,
    );
  return policySchema.parse(preset);
}

export function parsePolicy(json: unknown): Policy {
  return policySchema.parse(json);
}

export interface PolicyOutcome {
  decision: Exclude<Decision, 'error'>;
  reasons: string[];
}

const RANK = { allow: 0, review: 1, block: 2 } as const;

/** Applies per-category thresholds; the most severe category decides. */
export function applyPolicy(
  policy: Policy,
  categories: Record<string, number>,
  partial = false,
): PolicyOutcome {
  let decision: PolicyOutcome['decision'] = 'allow';
  const reasons: string[] = [];
  for (const [category, p] of Object.entries(categories)) {
    const t = policy.thresholds[category];
    if (!t) continue;
    const hit = p >= t.block ? 'block' : p >= t.review ? 'review' : undefined;
    if (!hit) continue;
    reasons.push(`${category} ${p.toFixed(2)} ≥ ${hit} ${hit === 'block' ? t.block : t.review}`);
    if (RANK[hit] > RANK[decision]) decision = hit;
  }
  if (partial && policy.reviewWhenPartial && decision === 'allow') {
    decision = 'review';
    reasons.push('part of the upload was not scored');
  }
  return { decision, reasons };
}
