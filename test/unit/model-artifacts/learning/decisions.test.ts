import { describe, expect, it } from 'vitest';
import { FUSION_LABELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import {
  DecisionFileError,
  decisionLabel,
  decisionRow,
  decisionRows,
  labelledScores,
  parseDecisionsJsonl,
  withDecisionRows,
} from '#model-artifacts/learning/decisions.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';

const verdict = (over: Record<string, unknown> = {}) => ({
  id: 'v1',
  object: 's3://b/k',
  decision: 'review',
  score: 0.7,
  categories: { hate: 0.2, harassment: 0.7, offensive: 0.9 },
  unscoredCategories: ['sexual', 'violence'],
  reasons: ['harassment 0.70 ≥ review 0.554', 'offensive 0.90 ≥ review 0.708'],
  modalities: {
    text: { scores: { hate: 0.3, harassment: 0.6, offensive: 0.8 }, evidence: [] },
    ocr: { scores: { hate: 0.1, harassment: 0.2, offensive: 0.4 }, evidence: [] },
  },
  review: { decision: 'block', reviewer: 'r', at: '2026-01-01T00:00:00Z', reason: 'x', kind: 'review' },
  finalDecision: 'block',
  ...over,
});

const parse = (...vs: unknown[]) => parseDecisionsJsonl(vs.map((v) => JSON.stringify(v)).join('\n'));

describe('decisionLabel', () => {
  it('uses the reviewer label first, then the final decision for flagged categories only', () => {
    const [labelled, unlabelled] = parse(
      verdict({ review: { decision: 'block', labels: { offensive: false } } }),
      verdict(),
    );

    expect(labelled && decisionLabel(labelled, 'offensive')).toBe(0);
    expect(labelled && decisionLabel(labelled, 'harassment')).toBeUndefined();
    expect(unlabelled && decisionLabel(unlabelled, 'harassment')).toBe(1);
    expect(unlabelled && decisionLabel(unlabelled, 'hate')).toBeUndefined();
  });

  it('reads an allow on a flagged category as a negative and an undecided verdict as nothing', () => {
    const [allowed, undecided] = parse(
      verdict({ review: { decision: 'allow' }, finalDecision: 'allow' }),
      verdict({ review: undefined, finalDecision: undefined }),
    );

    expect(allowed && decisionLabel(allowed, 'harassment')).toBe(0);
    expect(undecided && decisionLabel(undecided, 'harassment')).toBeUndefined();
    expect(labelledScores(parse(verdict())).harassment).toEqual([{ score: 0.7, label: 1 }]);
  });
});

describe('decisionRow', () => {
  it('puts per-channel scores in [channel, category] order with presence, and masks unknown labels', () => {
    const [v] = parse(verdict({ review: { decision: 'block', labels: { hate: false } } }));

    const row = v && decisionRow(v);

    const at = (ch: string, label: string) =>
      row?.x[CHANNELS.indexOf(ch) * NUM_LABELS + FUSION_LABELS.indexOf(label as 'hate')];
    expect(at('text', 'harassment')).toBeCloseTo(0.6);
    expect(at('ocr', 'offensive')).toBeCloseTo(0.4);
    expect(Array.from(row?.present ?? [])).toEqual(
      CHANNELS.map((c) => (c === 'text' || c === 'ocr' ? 1 : 0)),
    );
    // Only hate was labelled: the other categories are masked, not read from the block.
    expect(Array.from(row?.mask ?? [])).toEqual(FUSION_LABELS.map((l) => (l === 'hate' ? 1 : 0)));
    expect(Array.from(row?.y ?? [])).toEqual(FUSION_LABELS.map(() => 0));
  });

  it('skips verdicts with no scored channel or no label, and repeats rows by weight', () => {
    const vs = parse(
      verdict(),
      verdict({ modalities: {} }),
      verdict({ reasons: [], review: { decision: 'allow' } }),
    );

    expect(decisionRows(vs)).toHaveLength(1);
    expect(decisionRows(vs, 3)).toHaveLength(3);
    expect(() => decisionRows(vs, 0)).toThrow(RangeError);
  });

  it('shuffles decision rows into the examples, leaving them untouched when there are none', () => {
    const examples = [1, 2, 3];
    let s = 0.1;
    const rnd = () => {
      s = (s * 7.3) % 1;
      return s;
    };

    expect(withDecisionRows(examples, [], rnd)).toBe(examples);
    expect([...withDecisionRows(examples, [4, 5], rnd)].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('parseDecisionsJsonl', () => {
  it('names the line and field of a malformed verdict', () => {
    expect(() => parseDecisionsJsonl('{"decision":"allow"}\n', 'f.jsonl')).toThrow(DecisionFileError);
    expect(() => parseDecisionsJsonl('\n{"decision":"allow"}', 'f.jsonl')).toThrow(/f\.jsonl:2: categories/);
    expect(() => parseDecisionsJsonl('nope', 'f.jsonl')).toThrow(/f\.jsonl:1: not JSON/);
  });
});
