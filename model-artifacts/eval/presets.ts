/**
 * The policy presets (shared/policy/presets/*.json), regenerated from precision targets: for hate,
 * harassment, offensive and violence, the lowest fused threshold whose validation precision,
 * re-weighted to a reference prevalence, reaches each target; then what that threshold gives on the
 * test mix. Hate and violence always get a block threshold: where the block target is out of reach,
 * the threshold with the highest precision the data allows (recorded as not reached).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atThreshold } from '#model-artifacts/text-model/metrics.ts';
import { categoryIndex, TEXT_CATS, type TextCat } from './common.ts';
import { REPO } from './dataset.ts';
import { column, type Scorer } from './methods.ts';
import type { FusionExample } from './posts.ts';
import { bestPrecisionThreshold, NEVER, precisionAtPrevalence, thresholdForPrecision } from './thresholds.ts';

/** Precision targets of the policy presets: review and block, per preset. */
export const PRESET_TARGETS = {
  strict: { review: 0.4, block: 0.65 },
  balanced: { review: 0.5, block: 0.8 },
  lenient: { review: 0.65, block: 0.9 },
} as const;
export type PresetName = keyof typeof PRESET_TARGETS;

/** Sexual keeps hand-set thresholds: the image model's labels in the evaluation are a teacher's, not people's. */
const HAND_SET: Record<PresetName, Record<'sexual', { review: number; block: number }>> = {
  strict: { sexual: { review: 0.3, block: 0.7 } },
  balanced: { sexual: { review: 0.5, block: 0.85 } },
  lenient: { sexual: { review: 0.7, block: 0.95 } },
};

/** Categories that must be able to block under every preset (issue 12): a threat or an attack on a group. */
const MUST_BLOCK: readonly TextCat[] = ['hate', 'violence'];

/**
 * Default share of positives the presets' precision targets assume (`--reference-prevalence`). The
 * corpora are harm-rich (about two thirds of texts are offensive), so a precision measured on their
 * own mix says little about traffic; targets are met at this reference prevalence instead (recall
 * and false-positive rate re-weighted), and the report gives both.
 */
export const DEFAULT_REFERENCE_PREVALENCE = 0.05;

/** One operating point of a preset: its threshold and what it gives on the test mix. */
export interface Operating {
  target: number | null;
  reached: boolean;
  threshold: number;
  precision: number | null;
  recall: number | null;
  precisionAtReference: number | null;
}

export interface CategoryOperating {
  review: Operating;
  block: Operating;
  testItems: number;
  testPositives: number;
}

export type PresetEval = Record<PresetName, Record<TextCat, CategoryOperating>>;

/** What threshold `t` gives on the test scores; null figures for "never". */
function measureOnTest(ts: number[], ty: number[], t: number, referencePrevalence: number) {
  const m = atThreshold(ts, ty, t);
  return {
    threshold: t,
    precision: t >= NEVER ? null : m.precision,
    recall: t >= NEVER ? null : m.recall,
    precisionAtReference: t >= NEVER ? null : precisionAtPrevalence(ts, ty, t, referencePrevalence),
  };
}

/** The review and block operating points of one preset for one category. */
function categoryOperating(
  l: TextCat,
  targets: (typeof PRESET_TARGETS)[PresetName],
  validation: [number[], number[]],
  test: [number[], number[]],
  referencePrevalence: number,
): CategoryOperating {
  const [vs, vy] = validation;
  const [ts, ty] = test;
  const review = thresholdForPrecision(vs, vy, targets.review, { prevalence: referencePrevalence });
  // Offensive language alone is never blocked (a person decides); only hate/harassment block.
  let block =
    l === 'offensive'
      ? { threshold: NEVER, reached: true }
      : thresholdForPrecision(vs, vy, targets.block, { prevalence: referencePrevalence });
  if (!block.reached && MUST_BLOCK.includes(l)) {
    block = {
      threshold: bestPrecisionThreshold(vs, vy, { prevalence: referencePrevalence }),
      reached: false,
    };
  }
  // Block is never below review, so the preset's two thresholds stay ordered.
  const blockT = Math.max(block.threshold, review.threshold);
  return {
    review: {
      target: targets.review,
      reached: review.reached,
      ...measureOnTest(ts, ty, review.threshold, referencePrevalence),
    },
    block: {
      target: l === 'offensive' ? null : targets.block,
      reached: block.reached,
      ...measureOnTest(ts, ty, blockT, referencePrevalence),
    },
    testItems: ts.length,
    testPositives: ty.filter((v) => v > 0.5).length,
  };
}

/**
 * Chooses every preset's thresholds on the validation mix and measures them on the test mix, both
 * restricted to uploads where some present channel scores the category.
 */
export function choosePresets(
  validationMix: readonly FusionExample[],
  testMix: readonly FusionExample[],
  fused: Scorer,
  referencePrevalence: number,
): PresetEval {
  return Object.fromEntries(
    (Object.keys(PRESET_TARGETS) as PresetName[]).map((name) => {
      const categories = Object.fromEntries(
        TEXT_CATS.map((l) => [
          l,
          categoryOperating(
            l,
            PRESET_TARGETS[name],
            column(validationMix, fused, categoryIndex(l), true),
            column(testMix, fused, categoryIndex(l), true),
            referencePrevalence,
          ),
        ]),
      );
      return [name, categories];
    }),
  ) as PresetEval;
}

/** Rounds to 3 decimals for the preset file; non-finite figures become null (JSON has no NaN). */
const round3 = (x: number | null): number | null =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000;

/** The preset file for one preset: chosen text-model thresholds, hand-set sexual and violence. */
export function presetFile(
  name: PresetName,
  cats: Record<TextCat, CategoryOperating>,
  fusionVersion: string,
  textVersion: string,
  referencePrevalence: number,
) {
  const hand = HAND_SET[name];
  const thresholds: Record<string, { review: number; block: number }> = {
    sexual: hand.sexual,
    ...Object.fromEntries(
      Object.entries(cats).map(([l, v]) => [l, { review: v.review.threshold, block: v.block.threshold }]),
    ),
  };
  const ordered = Object.fromEntries(
    ['sexual', 'hate', 'harassment', 'violence', 'offensive'].map((k) => [k, thresholds[k]]),
  );
  // The version changes exactly when the thresholds do.
  const hash = createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 8);
  const targets = PRESET_TARGETS[name];
  const expectedAt = (x: Operating) => ({
    precision: round3(x.precision),
    recall: round3(x.recall),
    precisionAtReference: round3(x.precisionAtReference),
  });
  return {
    name,
    version: `${name}-2.${hash}`,
    description:
      `Per-category thresholds on calibrated fused probabilities: at or above review → review, at or above block → block. ` +
      `hate/harassment/offensive/violence chosen by \`npm run eval\` on validation data for precision ≥ ${targets.review} (review) and ≥ ${targets.block} (block) at ${referencePrevalence * 100}% prevalence; ` +
      `hate and violence block at the most precise threshold the data allows where the block target is out of reach; ` +
      `offensive alone never blocks; sexual is hand-set (no human-labelled images).`,
    thresholds: ordered,
    reviewWhenPartial: true,
    expected: {
      measuredOn: `test split: text-only uploads, pictures, clips and composed posts (reports/EVALUATION.md); fusion ${fusionVersion}, text-toxicity ${textVersion}`,
      targets: { review: targets.review, block: targets.block, atPrevalence: referencePrevalence },
      categories: Object.fromEntries(
        Object.entries(cats).map(([l, v]) => [
          l,
          { review: expectedAt(v.review), block: expectedAt(v.block) },
        ]),
      ),
    },
  };
}

/** Rewrites the three presets' text-model categories; sexual keeps hand-set values. */
export function writePresets(
  presets: PresetEval,
  fusionVersion: string,
  textVersion: string,
  referencePrevalence: number,
): void {
  for (const [name, cats] of Object.entries(presets) as [PresetName, Record<TextCat, CategoryOperating>][]) {
    const preset = presetFile(name, cats, fusionVersion, textVersion, referencePrevalence);
    writeFileSync(join(REPO, `shared/policy/presets/${name}.json`), `${JSON.stringify(preset, null, 2)}\n`);
  }
}
