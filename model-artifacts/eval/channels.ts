/**
 * "Each channel on its own data": the text model on typed test texts, on what OCR read from
 * pictures of them and on what speech recognition heard from recordings of them, each next to the
 * same texts typed (what a perfect reader would give); and how well OCR and recognition read.
 */
import type { LabelledText, Source } from '#model-artifacts/text-model/data.ts';
import { auroc, bestF1Threshold } from '#model-artifacts/text-model/metrics.ts';
import { categoryIndex, TEXT_CATS, type TextCat } from './common.ts';
import type { EvalDataset } from './dataset.ts';
import { charErrors, errorRate, wordErrors } from './error-rate.ts';
import { column, singleChannel } from './methods.ts';
import type { FusionExample, Pools } from './posts.ts';

/** One row of the channel table: the text model's scores on some data, with their labels. */
export interface ChannelRow {
  name: string;
  scores: number[];
  labels: number[];
}

/** The text model's best-F1 thresholds on validation texts alone, per category. */
export function textThresholds(validationTexts: readonly FusionExample[]): Record<TextCat, number> {
  return Object.fromEntries(
    TEXT_CATS.map((l) => {
      const [s, y] = column(validationTexts, singleChannel(0), categoryIndex(l));
      return [l, bestF1Threshold(s, y)];
    }),
  ) as Record<TextCat, number>;
}

type Scored = { p: number; y: number; m: number };

/**
 * The channel table's rows for one category, on the test pools. Row names are matched by prefix
 * elsewhere (figures, model cards), and indented names ("  … ") mark comparison rows.
 */
export function channelRows(test: Pools, corpusExamples: readonly LabelledText[], l: TextCat): ChannelRow[] {
  const c = categoryIndex(l);
  const rows: ChannelRow[] = [];
  const add = (name: string, items: Scored[]): void => {
    // Masked labels (the source says nothing about the category) are left out.
    const kept = items.filter((i) => i.m > 0);
    rows.push({ name, scores: kept.map((i) => i.p), labels: kept.map((i) => i.y) });
  };
  add(
    'text channel: typed test texts',
    test.captions.map((t) => ({ p: t.scored.probs[c] ?? 0, y: t.y[c] ?? 0, m: t.mask[c] ?? 0 })),
  );
  // The test captions are the corpus's test texts in corpus order, so indices line up.
  const testTexts = corpusExamples.filter((e) => e.split === 'test');
  for (const source of ['davidson', 'olid'] as Source[]) {
    add(
      `  … ${source} only`,
      test.captions.flatMap((t, i) =>
        testTexts[i]?.source === source
          ? [{ p: t.scored.probs[c] ?? 0, y: t.y[c] ?? 0, m: t.mask[c] ?? 0 }]
          : [],
      ),
    );
  }
  add(
    'ocr channel: pictures of test texts (0 where OCR read nothing)',
    test.images.map((i) => ({ p: i.ocr?.probs[c] ?? 0, y: i.y[c] ?? 0, m: i.mask[c] ?? 0 })),
  );
  add(
    '  … same texts typed (perfect OCR)',
    test.images.map((i) => ({ p: i.oracle.probs[c] ?? 0, y: i.y[c] ?? 0, m: i.mask[c] ?? 0 })),
  );
  add(
    'speech channel: spoken test texts (0 where nothing recognised)',
    test.audio.map((a) => ({ p: a.speech?.probs[c] ?? 0, y: a.y[c] ?? 0, m: a.mask[c] ?? 0 })),
  );
  add(
    '  … same texts typed (perfect recognition)',
    test.audio.map((a) => ({ p: a.oracle.probs[c] ?? 0, y: a.y[c] ?? 0, m: a.mask[c] ?? 0 })),
  );
  return rows;
}

/** Per category, the AUROC of the OCR and speech rows (for the text model card). */
export function ownDataAuroc(
  rowsByCat: Record<TextCat, ChannelRow[]>,
): Record<TextCat, { ocr: number; speech: number }> {
  return Object.fromEntries(
    TEXT_CATS.map((l) => {
      const rows = rowsByCat[l];
      const a = (prefix: string) => {
        const r = rows.find((x) => x.name.startsWith(prefix));
        return r ? auroc(r.scores, r.labels) : Number.NaN;
      };
      return [l, { ocr: a('ocr channel'), speech: a('speech channel') }];
    }),
  ) as Record<TextCat, { ocr: number; speech: number }>;
}

export interface OcrQuality {
  cer: number;
  wer: number;
  empty: number;
  meanMs: number;
}

export interface SpeechQuality {
  wer: number;
  empty: number;
  meanMs: number;
  engine: string;
}

/** Error rates of OCR on the test pictures against the text drawn. */
export function ocrQuality(dataset: EvalDataset): OcrQuality {
  const testImages = dataset.images.filter((r) => r.split === 'test');
  return {
    cer: errorRate(testImages.map((r) => charErrors(r.shown, r.ocr.text))),
    wer: errorRate(testImages.map((r) => wordErrors(r.shown, r.ocr.text))),
    empty: testImages.filter((r) => r.ocr.text.trim() === '').length,
    meanMs: testImages.reduce((s, r) => s + r.ocr.ms, 0) / Math.max(1, testImages.length),
  };
}

/** Word error rate of speech recognition on the test clips against the text spoken. */
export function speechQuality(dataset: EvalDataset): SpeechQuality {
  const testClips = dataset.speech.filter((r) => r.split === 'test');
  return {
    wer: errorRate(testClips.map((r) => wordErrors(r.shown, r.transcript))),
    empty: testClips.filter((r) => r.transcript.trim() === '').length,
    meanMs: testClips.reduce((s, r) => s + r.ms, 0) / Math.max(1, testClips.length),
    engine: testClips[0]?.engine ?? 'none',
  };
}
