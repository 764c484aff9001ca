/**
 * The text model on text unlike its training tweets: the project's hand-written non-tweets
 * (handwritten-non-tweets.json), scored at the thresholds chosen on validation tweets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atThreshold, auroc, type BinaryMetrics } from '#model-artifacts/text-model/metrics.ts';
import { categoryIndex, TEXT_CATS, type TextCat } from './common.ts';
import { REPO } from './dataset.ts';
import { averagePrecision } from './methods.ts';
import { type Models, type ScoredText, scoreTexts } from './posts.ts';

export type HandItem = { kind: string; text: string } & Record<TextCat, number>;

export interface HandRow {
  label: TextCat;
  s: number[];
  y: number[];
  auroc: number;
  ap: number;
  at: BinaryMetrics;
}

export interface HandWrittenEval {
  rows: HandRow[];
  /** The texts with the largest |label − probability| over the categories, largest first. */
  worst: { item: HandItem; probs: Float32Array | undefined; err: number }[];
  n: number;
  /** Harassment probabilities of offensive texts that are neither hate nor harassment. */
  untargetedProfanity: number[];
  kinds: Record<string, number>;
}

function readHandWritten(): HandItem[] {
  const path = join(REPO, 'model-artifacts/eval/handwritten-non-tweets.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { items: HandItem[] }).items;
}

function countKinds(items: { kind: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.kind] = (out[i.kind] ?? 0) + 1;
  return out;
}

function handRows(
  items: readonly HandItem[],
  scores: readonly ScoredText[],
  thresholds: Record<TextCat, number>,
) {
  return TEXT_CATS.map((l): HandRow => {
    const s = scores.map((h) => h.probs[categoryIndex(l)] ?? 0);
    const y = items.map((i) => i[l]);
    return {
      label: l,
      s,
      y,
      auroc: auroc(s, y),
      ap: averagePrecision(s, y),
      at: atThreshold(s, y, thresholds[l]),
    };
  });
}

function largestErrors(items: readonly HandItem[], scores: readonly ScoredText[]): HandWrittenEval['worst'] {
  return items
    .map((item, i) => {
      const err = Math.max(
        ...TEXT_CATS.map((l) => Math.abs((scores[i]?.probs[categoryIndex(l)] ?? 0) - item[l])),
      );
      return { item, probs: scores[i]?.probs, err };
    })
    .sort((a, b) => b.err - a.err)
    .slice(0, 8);
}

/** Scores the hand-written set with the text model and measures it at `thresholds`. */
export async function evaluateHandWritten(
  models: Models,
  thresholds: Record<TextCat, number>,
): Promise<HandWrittenEval> {
  const items = readHandWritten();
  const scores = await scoreTexts(
    models.text,
    models.featurizer,
    items.map((i) => i.text),
  );
  const untargetedProfanity = items.flatMap((item, i) =>
    item.offensive === 1 && item.harassment === 0 && item.hate === 0
      ? [scores[i]?.probs[categoryIndex('harassment')] ?? 0]
      : [],
  );
  return {
    rows: handRows(items, scores, thresholds),
    worst: largestErrors(items, scores),
    n: items.length,
    untargetedProfanity,
    kinds: countKinds(items),
  };
}
