import { describe, expect, it } from 'vitest';
import {
  civilLabels,
  convabuseLabels,
  convCell,
  davidsonLabels,
  dedupeKey,
  edosLabels,
  gabLabels,
  olidLabels,
  splitOf,
  TEXT_LABELS,
  UNVERIFIED_BENIGN,
} from '#model-artifacts/text-model/data.ts';
import { generatedRows } from '#model-artifacts/text-model/generated.ts';

const at = (l: (typeof TEXT_LABELS)[number]) => TEXT_LABELS.indexOf(l);

describe('label mapping into the taxonomy', () => {
  it('keeps the first three columns of text-toxicity 1.x and adds violence and sexual', () => {
    expect(TEXT_LABELS).toEqual(['hate', 'harassment', 'offensive', 'violence', 'sexual']);
  });

  it('masks what Davidson and OLID do not annotate', () => {
    expect(davidsonLabels(0)).toEqual({ y: [1, 0, 1, 0, 0], mask: [1, 0, 1, 0, 0] });
    expect(davidsonLabels(2)).toEqual({ y: [0, 0, 0, 0, 0], mask: [1, 1, 1, 1, 1] });
    expect(olidLabels('OFF', 'TIN', 'IND')).toEqual({ y: [0, 1, 1, 0, 0], mask: [1, 1, 1, 0, 0] });
  });

  it('reads Civil Comments spans by majority and types negatives only where raters typed spans', () => {
    const typed = civilLabels({
      n_raters: 3,
      raters_any_span: 3,
      raters_insult: 2,
      raters_threat: 0,
      raters_identity_attack: 1,
      raters_profane_obscene: 0,
    });
    expect(typed.y[at('harassment')]).toBe(1);
    expect(typed.mask[at('offensive')]).toBe(1);
    expect(typed.y[at('offensive')]).toBe(0);
    // Threat negatives are masked: they are nearly all insults (see civilLabels).
    expect(typed.mask[at('violence')]).toBe(0);
    // One rater of three chose identity attack: neither a majority nor zero, so unknown.
    expect(typed.mask[at('hate')]).toBe(0);
    const untyped = civilLabels({ n_raters: 3, raters_any_span: 1, raters_threat: 0 });
    expect(untyped.mask).toEqual([0, 0, 0, 0, 0]);
  });

  it('maps Gab calls for violence to both hate and violence', () => {
    expect(gabLabels({ hd: 0, cv: 1, vo: 0 })).toEqual({ y: [1, 0, 0, 1, 0], mask: [1, 0, 1, 1, 0] });
  });

  it('learns nothing from EDOS "not sexist" and violence from its threats category', () => {
    expect(edosLabels('not sexist', 'none')).toBeUndefined();
    expect(edosLabels('sexist', '1. threats, plans to harm and incitement')?.y).toEqual([1, 0, 0, 1, 0]);
  });

  it('parses ConvAbuse cells with repeated annotations and takes the annotator majority', () => {
    expect(convCell('1, 1')).toBe(1);
    expect(convCell('0, 1')).toBe(0.5);
    expect(convCell('')).toBeUndefined();
    const row = (a: number, abuse: string, extra: Record<string, string> = {}) =>
      Object.fromEntries([
        [`Annotator${a}_is_abuse.${abuse}`, '1'],
        ...Object.entries(extra).map(([k, v]) => [`Annotator${a}_${k}`, v]),
      ]);
    const abusive = {
      ...row(1, '-2', { sex_harassment: '1' }),
      ...row(2, '-1', { sex_harassment: '1' }),
      ...row(3, '1'),
    };
    expect(convabuseLabels(abusive)).toEqual({ y: [0, 0, 0, 0, 1], mask: [1, 1, 0, 0, 1] });
    expect(convabuseLabels({ ...row(1, '1'), ...row(2, '1') })?.mask).toEqual([1, 1, 1, 1, 1]);
    expect(convabuseLabels({ ...row(1, '0'), ...row(2, '0') })).toBeUndefined();
  });
});

describe('splits and duplicates', () => {
  it('splits deterministically, about 80/10/10', () => {
    const splits = Array.from({ length: 5000 }, (_, i) => splitOf(`text ${i}`));
    expect(splitOf('text 1')).toBe(splits[1]);
    const share = (s: string) => splits.filter((x) => x === s).length / splits.length;
    expect(share('train')).toBeGreaterThan(0.77);
    expect(share('test')).toBeGreaterThan(0.08);
  });

  it('finds duplicates regardless of case, punctuation and spacing', () => {
    expect(dedupeKey('You are an IDIOT!!')).toBe(dedupeKey('you are an idiot'));
  });

  it('keeps profanity out of the benign base-rate sources', () => {
    expect(UNVERIFIED_BENIGN.test('what the fuck is this fee')).toBe(true);
    expect(UNVERIFIED_BENIGN.test('can you send me the slides from the meeting?')).toBe(false);
  });
});

describe('generated text', () => {
  it('never writes the pairs the hand-written evaluation and issue 12 use', () => {
    const texts = generatedRows().map((r) => r.text.toLowerCase());
    expect(texts.some((t) => t.includes('mexicans are lazy'))).toBe(false);
    expect(texts.some((t) => t.includes('the deadline is killing me'))).toBe(false);
  });

  it('labels a denied stereotype harmless and an asserted one hate', () => {
    const rows = generatedRows();
    const deny = rows.find((r) => r.template.startsWith('deny-0|'));
    const assert = rows.find((r) => r.template.startsWith('assert-0|'));
    expect(deny?.y).toEqual([0, 0, 0, 0, 0]);
    expect(deny?.mask).toEqual([1, 1, 1, 1, 1]);
    expect(assert?.y[0]).toBe(1);
  });
});
