import { describe, expect, it } from 'vitest';
import { applyPolicy, loadPolicy, parsePolicy, UnknownPolicyError } from '#shared/policy/policy.ts';

describe('policy', () => {
  const balanced = loadPolicy('balanced');

  it('is versioned', () => {
    expect(balanced.version).toMatch(/^balanced-/);
    expect(loadPolicy('strict').version).not.toBe(balanced.version);
  });

  it('lets the most severe category decide and says why', () => {
    expect(applyPolicy(balanced, { hate: 0.1, sexual: 0.2 })).toEqual({ decision: 'allow', reasons: [] });
    const review = applyPolicy(balanced, { hate: 0.6, sexual: 0.1 });
    expect(review.decision).toBe('review');
    expect(review.reasons[0]).toMatch(/^hate 0\.60 ≥ review/);
    expect(applyPolicy(balanced, { hate: 0.6, sexual: 0.95 }).decision).toBe('block');
  });

  it('treats thresholds as inclusive', () => {
    const t = balanced.thresholds.hate!;
    expect(applyPolicy(balanced, { hate: t.block }).decision).toBe('block');
    expect(applyPolicy(balanced, { hate: t.review }).decision).toBe('review');
  });

  it('asks for review when part of the upload went unscored', () => {
    expect(applyPolicy(balanced, { hate: 0.01 }, true).decision).toBe('review');
  });

  it('strict blocks what lenient only reviews, and reviews what lenient allows', () => {
    const strict = loadPolicy('strict').thresholds.harassment!;
    const lenient = loadPolicy('lenient').thresholds.harassment!;
    const between = (strict.block + lenient.block) / 2;
    expect(applyPolicy(loadPolicy('strict'), { harassment: between }).decision).toBe('block');
    expect(applyPolicy(loadPolicy('lenient'), { harassment: between }).decision).not.toBe('block');
    const low = (strict.review + lenient.review) / 2;
    expect(applyPolicy(loadPolicy('strict'), { harassment: low }).decision).toBe('review');
    expect(applyPolicy(loadPolicy('lenient'), { harassment: low }).decision).toBe('allow');
  });

  it('lets hate and violence block under every preset', () => {
    for (const name of ['strict', 'balanced', 'lenient']) {
      for (const c of ['hate', 'violence']) expect(loadPolicy(name).thresholds[c]?.block).toBeLessThan(1);
    }
  });

  it('rejects unknown presets with the known names, and inconsistent thresholds', () => {
    expect(() => loadPolicy('nope')).toThrow(UnknownPolicyError);
    expect(() => loadPolicy('nope')).toThrow(/balanced, strict, lenient/);
    expect(() =>
      parsePolicy({ name: 'x', version: '1', thresholds: { hate: { review: 0.9, block: 0.5 } } }),
    ).toThrow();
  });
});
