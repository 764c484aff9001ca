import { describe, expect, it } from 'vitest';
import type { LabelledScore } from '#model-artifacts/learning/decisions.ts';
import { calibratedPolicy, fitCategory, fitThreshold, NEVER } from '#model-artifacts/learning/fit.ts';
import { wilson } from '#model-artifacts/learning/stats.ts';
import { loadPolicy, parsePolicy } from '#shared/policy/policy.ts';

/** 100 negatives scored 0.00–0.49 and 100 positives scored 0.51–1.00: separable at 0.5. */
function separable(): LabelledScore[] {
  return Array.from({ length: 200 }, (_, i) =>
    i < 100 ? { score: i / 200, label: 0 as const } : { score: 0.51 + (i - 100) / 202, label: 1 as const },
  );
}

const targets = { review: 0.5, block: 0.8 };

describe('fitThreshold', () => {
  it('finds a threshold whose precision, and its lower bound, meet the target on a separable set', () => {
    const fit = fitThreshold(separable(), 0.9);

    expect(fit.reached).toBe(true);
    expect(fit.point.precision.lo).toBeGreaterThanOrEqual(0.9);
    expect(fit.point.precision.value).toBeGreaterThanOrEqual(0.9);
    expect(fit.point.threshold).toBeLessThanOrEqual(0.51);
    expect(fit.point.recall.value).toBe(1);
  });

  it('gives intervals that contain their point estimates', () => {
    const { precision, recall } = fitThreshold(separable(), 0.9).point;

    for (const e of [precision, recall]) {
      expect(e.lo).toBeLessThanOrEqual(e.value);
      expect(e.hi).toBeGreaterThanOrEqual(e.value);
    }
    for (const [k, n] of [
      [0, 10],
      [10, 10],
      [3, 7],
    ] as const) {
      const ci = wilson(k, n);
      expect(ci.lo).toBeLessThanOrEqual(k / n);
      expect(ci.hi).toBeGreaterThanOrEqual(k / n);
    }
  });

  it('returns "never" when no threshold can vouch for the target', () => {
    const noisy = Array.from({ length: 100 }, (_, i) => ({ score: i / 100, label: (i % 2) as 0 | 1 }));

    const fit = fitThreshold(noisy, 0.9);

    expect(fit.reached).toBe(false);
    expect(fit.point.threshold).toBe(NEVER);
  });
});

describe('fitCategory', () => {
  const base = loadPolicy('balanced');

  it('refuses a category with fewer decisions than the minimum', () => {
    const fit = fitCategory('harassment', separable().slice(90, 120), base, { targets, minDecisions: 50 });

    expect(fit.status).toBe('refused');
    expect(fit.status === 'refused' && fit.reason).toMatch(/30 labelled decisions < minimum 50/);
  });

  it('keeps a base "never" block unless asked to refit it', () => {
    const kept = fitCategory('offensive', separable(), base, { targets, minDecisions: 50 });
    const refit = fitCategory('offensive', separable(), base, {
      targets,
      minDecisions: 50,
      refitNeverBlock: true,
    });

    expect(kept.status === 'fitted' && kept.block.point.threshold).toBe(NEVER);
    expect(refit.status === 'fitted' && refit.block.point.threshold).toBeLessThan(1);
  });
});

describe('calibratedPolicy', () => {
  it('writes a preset parsePolicy accepts, versioned by its thresholds, refused categories as in the base', () => {
    const base = loadPolicy('balanced');
    const fits = [
      fitCategory('harassment', separable(), base, { targets, minDecisions: 50 }),
      fitCategory('hate', separable().slice(0, 10), base, { targets, minDecisions: 50 }),
    ];

    const policy = calibratedPolicy({ base, fits, targets, source: 'test' });
    const again = calibratedPolicy({ base, fits, targets, source: 'elsewhere' });

    expect(parsePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
    expect(policy.name).toBe('balanced-calibrated');
    expect(policy.version).toMatch(/^balanced-calibrated-[0-9a-f]{8}$/);
    expect(again.version).toBe(policy.version);
    expect(policy.thresholds.hate).toEqual(base.thresholds.hate);
    expect(policy.thresholds.harassment?.block).toBeLessThan(base.thresholds.harassment?.block ?? 0);
    expect(policy.expected?.categories.harassment?.block.precision).toBeGreaterThanOrEqual(0.8);
    expect(policy.expected?.categories.hate).toBeUndefined();
  });
});
