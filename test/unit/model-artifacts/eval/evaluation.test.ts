import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { averagePrecision, maxRule, meanRule, singleChannel } from '#model-artifacts/eval/methods.ts';
import { confusion, confusionGrid, lineChart, prCurve, reliability } from '#model-artifacts/eval/plot.ts';
import {
  type AudioPart,
  type CaptionPart,
  type ImagePart,
  postExample,
  textLabels,
} from '#model-artifacts/eval/posts.ts';
import { displayText, drawStyle, renderText, wrapText } from '#model-artifacts/eval/render.ts';
import {
  bestPrecisionThreshold,
  NEVER,
  precisionAtPrevalence,
  thresholdForPrecision,
} from '#model-artifacts/eval/thresholds.ts';
import { mulberry32 } from '#model-artifacts/fusion/compose.ts';
import { FUSION_LABELS, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { loadPolicy } from '#shared/policy/policy.ts';

const C = (l: (typeof FUSION_LABELS)[number]) => FUSION_LABELS.indexOf(l);
const probs = (hate: number, harassment: number, offensive: number) =>
  Float32Array.of(0, hate, harassment, 0, offensive);
const scored = (p: Float32Array) => ({ probs: p, embedding: new Float32Array(4) });

describe('threshold for a target precision', () => {
  // Scores 1..10 (higher = more likely); positives at 10, 9, 8, 6, 3.
  const scores = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((s) => s / 10);
  const labels = [1, 1, 1, 0, 1, 0, 0, 1, 0, 0];

  it('picks the lowest threshold whose precision reaches the target (most recall)', () => {
    const r = thresholdForPrecision(scores, labels, 0.8, { minPredicted: 1 });
    // At 0.6: 4 of 5 predicted are positive (0.8); at 0.3: 5 of 8 (0.625).
    expect(r.threshold).toBe(0.6);
    expect(r.reached).toBe(true);
    expect(r.chosenOn.precision).toBeCloseTo(0.8, 10);
    expect(r.chosenOn.recall).toBeCloseTo(0.8, 10);
  });

  it('needs enough predicted items, and says "never" when the target cannot be met', () => {
    expect(thresholdForPrecision(scores, labels, 0.8, { minPredicted: 6 }).threshold).toBe(NEVER);
    const none = thresholdForPrecision(scores, labels, 1.01, { minPredicted: 1 });
    expect(none).toMatchObject({ threshold: NEVER, reached: false });
  });

  it('finds the most precise threshold the data allows, for categories that must be able to block', () => {
    // With at least 3 predicted: 0.8 gives 3 of 3; with at least 4: 0.6 gives 4 of 5 (0.8) beats 0.7's 3 of 4.
    expect(bestPrecisionThreshold(scores, labels, { minPredicted: 3 })).toBe(0.8);
    expect(bestPrecisionThreshold(scores, labels, { minPredicted: 4 })).toBe(0.6);
    expect(bestPrecisionThreshold(scores, labels, { minPredicted: 11 })).toBe(NEVER);
  });

  it('re-weights precision to another prevalence: rarer positives need a higher threshold', () => {
    // Here prevalence is 0.5; at 0.1 the same false-positive rate costs far more precision.
    const common = thresholdForPrecision(scores, labels, 0.6, { minPredicted: 1 });
    const rare = thresholdForPrecision(scores, labels, 0.6, { minPredicted: 1, prevalence: 0.1 });
    expect(rare.threshold).toBeGreaterThan(common.threshold);
    // TPR 0.8, FPR 0.2 at 0.6: 0.1·0.8 / (0.1·0.8 + 0.9·0.2) = 0.3077.
    expect(precisionAtPrevalence(scores, labels, 0.6, 0.1)).toBeCloseTo(0.08 / 0.26, 6);
  });
});

describe('curves and plots', () => {
  it('computes PR points, average precision and reliability bins', () => {
    const s = [0.9, 0.8, 0.7, 0.6];
    const y = [1, 0, 1, 0];
    expect(prCurve(s, y)).toEqual([
      [0.5, 1],
      [0.5, 0.5],
      [1, 2 / 3],
      [1, 0.5],
    ]);
    // AP = 0.5·1 + 0.5·(2/3).
    expect(averagePrecision(s, y)).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(averagePrecision(s, [0, 0, 0, 0])).toBeNaN();
    const r = reliability([0.05, 0.15, 0.95, 0.91], [0, 1, 1, 1], 10);
    expect(r.counts).toEqual([1, 1, 2]);
    expect(r.points[2]?.[0]).toBeCloseTo(0.93, 10);
    expect(r.points[2]?.[1]).toBe(1);
    expect(confusion(s, y, 0.7)).toEqual({ tp: 2, fp: 1, fn: 0, tn: 1 });
  });

  it('writes SVG that a renderer accepts', async () => {
    const chart = lineChart(
      [
        { name: 'a <b> & c', points: prCurve([0.9, 0.2], [1, 0]) },
        {
          name: 'd',
          points: [
            [0, 0],
            [1, 1],
          ],
          dashed: true,
        },
      ],
      { title: 'PR', xLabel: 'recall', yLabel: 'precision' },
    );
    expect(chart).toContain('a &lt;b&gt; &amp; c');
    const grid = confusionGrid([{ title: 'x', c: { tp: 1, fp: 2, fn: 3, tn: 4 } }], 'grid');
    for (const svg of [chart, grid]) {
      const meta = await sharp(Buffer.from(svg)).metadata();
      expect(meta.format).toBe('svg');
      expect(meta.width).toBeGreaterThan(100);
    }
  });
});

describe('composed posts as the pipeline sees them', () => {
  const caption: CaptionPart = {
    text: 'c',
    scored: scored(probs(0.1, 0.2, 0.3)),
    ...textLabels([0, 0, 0, 0, 0], [1, 1, 1, 1, 1]),
  };
  const hatefulPicture: ImagePart = {
    id: 'i',
    sexual: 0.02,
    embedding: new Float32Array(8),
    ocrText: 'read',
    ocr: scored(probs(0.7, 0.1, 0.9)),
    oracle: scored(probs(0.8, 0.1, 0.9)),
    ...textLabels([1, 0, 1, 0, 0], [1, 1, 1, 1, 1]),
  };
  const unreadPicture: ImagePart = { ...hatefulPicture, ocrText: '' };
  delete unreadPicture.ocr;
  const silentClip: AudioPart = {
    id: 'a',
    transcript: '',
    oracle: scored(probs(0, 0.9, 0.9)),
    ...textLabels([0, 1, 1, 0, 0], [0, 1, 1, 0, 0]),
  };

  it('maps caption → text, picture → image (+ ocr when OCR read something), clip → speech', () => {
    const ex = postExample({ scenario: 'media', caption, image: hatefulPicture });
    expect(Array.from(ex?.present ?? [])).toEqual([1, 1, 1, 0]);
    expect(ex?.x[2 * NUM_LABELS + C('hate')]).toBeCloseTo(0.7, 6);
    expect(ex?.x[1 * NUM_LABELS + C('sexual')]).toBeCloseTo(0.02, 6);
    expect(ex?.x).toHaveLength(NUM_CHANNELS * NUM_LABELS);
  });

  it('labels a post with the OR of its parts, including words OCR or speech recognition lost', () => {
    const ex = postExample({ scenario: 'media', caption, image: unreadPicture, audio: silentClip });
    expect(Array.from(ex?.present ?? [])).toEqual([1, 1, 0, 0]);
    expect(ex?.y[C('hate')]).toBe(1);
    expect(ex?.y[C('harassment')]).toBe(1);
    // Dropping the picture leaves hate unlabelled-positive nowhere: 0; the clip still says harassment.
    const noImage = postExample(
      { scenario: 'media', caption, image: unreadPicture, audio: silentClip },
      { caption: true, image: false, audio: true },
    );
    expect(noImage?.y[C('hate')]).toBe(0);
    expect(noImage?.mask[C('hate')]).toBe(0);
    expect(noImage?.y[C('harassment')]).toBe(1);
    // Nothing the pipeline can see: no example.
    expect(postExample({ scenario: 'media', audio: silentClip })).toBeUndefined();
  });

  it('rules: max and mean over present channels that score the category, single channel 0 when absent', () => {
    const ex = postExample({ scenario: 'both', caption, image: hatefulPicture });
    if (!ex) throw new Error('no example');
    expect(maxRule(ex)[C('offensive')]).toBeCloseTo(0.9, 6);
    expect(meanRule(ex)[C('offensive')]).toBeCloseTo(0.6, 6);
    expect(singleChannel(3)(ex)[C('offensive')]).toBe(0);
    // sexual is scored by the image channel only.
    expect(maxRule(ex)[C('sexual')]).toBeCloseTo(0.02, 6);
  });
});

describe('rendered pictures', () => {
  it('are reproducible from their seed and keep only displayable text', async () => {
    const style = drawStyle(mulberry32(7), ['DejaVu Sans']);
    const a = await renderText('hello there friend', style, mulberry32(8));
    const b = await renderText('hello there friend', style, mulberry32(8));
    expect(Buffer.compare(a, b)).toBe(0);
    expect((await sharp(a).metadata()).width).toBeGreaterThan(50);
    expect(displayText('RT @user: so &amp; so https://t.co/x 😀 fine')).toBe('so & so fine');
    expect(wrapText('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
  });
});

describe('regenerated policy presets', () => {
  it('record their expected precision and recall for every data-derived category', () => {
    for (const name of ['strict', 'balanced', 'lenient']) {
      const p = loadPolicy(name);
      expect(p.version).toMatch(new RegExp(`^${name}-2\\.[0-9a-f]{8}$`));
      for (const category of ['hate', 'harassment', 'offensive']) {
        const e = p.expected?.categories[category];
        expect(e).toBeDefined();
        const t = p.thresholds[category];
        // A threshold below "never" has measured figures; "never" has none.
        expect(e?.review.precision === null).toBe((t?.review ?? 0) >= NEVER);
        expect(e?.block.precision === null).toBe((t?.block ?? 0) >= NEVER);
      }
      expect(p.thresholds.offensive?.block).toBe(NEVER);
    }
    // Stricter presets ask for review and block at lower probabilities.
    const [s, b, l] = ['strict', 'balanced', 'lenient'].map((n) => loadPolicy(n).thresholds.harassment);
    expect(s?.review).toBeLessThanOrEqual(b?.review ?? 0);
    expect(b?.review).toBeLessThanOrEqual(l?.review ?? 0);
    expect(s?.block).toBeLessThanOrEqual(b?.block ?? 0);
  });
});
