/**
 * The evaluation block of the text and fusion model cards (model-artifacts/models/<name>/MODEL_CARD.md):
 * a summary of the report between two markers, so a rerun replaces it and leaves the rest of the
 * card (written by the trainers) alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prf, TEXT_CATS, type TextCat } from './common.ts';
import { REPO } from './dataset.ts';
import { fmt, type MethodReport } from './methods.ts';

const BEGIN = '<!-- eval:begin (written by npm run eval) -->';
const END = '<!-- eval:end -->';

export interface CardInput {
  headline: Record<TextCat, Record<string, MethodReport>>;
  hand: { label: TextCat; auroc: number; at: { precision: number; recall: number; f1: number } }[];
  calibration: { label: string; textEce: number; fusedEce: number }[];
  ownData: Record<TextCat, { ocr: number; speech: number }>;
  fusionVersion: string;
}

/** The text-toxicity card's block: the text model beyond its test split. */
function textCardBlock({ hand, calibration, ownData }: CardInput): string {
  return `## Evaluation beyond the test split (npm run eval)

Full report: [reports/EVALUATION.md](../../../reports/EVALUATION.md).

| category | hand-written non-tweets AUROC | P / R / F1 there | on OCR of test pictures (AUROC) | on transcripts of test clips (AUROC) | ECE (test texts) |
|---|---:|---|---:|---:|---:|
${TEXT_CATS.map((l) => {
  const h = hand.find((x) => x.label === l);
  const cal = calibration.find((x) => x.label === l);
  return `| ${l} | ${fmt(h?.auroc ?? Number.NaN)} | ${h ? prf(h.at) : 'n/a'} | ${fmt(ownData[l].ocr)} | ${fmt(ownData[l].speech)} | ${fmt(cal?.textEce ?? Number.NaN)} |`;
}).join('\n')}

The hand-written texts are never used for training or threshold choice; the largest errors are in
the report. The false-positive rate on held-out benign sources under each preset, issue 12's example
sentences and the evasion figures are in the report's last three sections.`;
}

/** The fusion card's block: fused vs the rules on the test posts. */
function fusionCardBlock({ headline, calibration, fusionVersion }: CardInput): string {
  return `## Evaluation (npm run eval)

Full report: [reports/EVALUATION.md](../../../reports/EVALUATION.md). Test posts, fusion ${fusionVersion}:

| category | fused AUROC | max rule | mean rule | best single channel | fused F1 | max-rule F1 | fused ECE (posts) | fused ECE (test mix) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${TEXT_CATS.map((l) => {
  const h = headline[l];
  const cal = calibration.find((x) => x.label === l);
  return `| ${l} | ${fmt(h.fused?.auroc ?? Number.NaN)} | ${fmt(h.max?.auroc ?? Number.NaN)} | ${fmt(h.mean?.auroc ?? Number.NaN)} | ${fmt(h.best?.auroc ?? Number.NaN)} | ${fmt(h.fused?.tuned.f1 ?? Number.NaN)} | ${fmt(h.max?.tuned.f1 ?? Number.NaN)} | ${fmt(h.fused?.ece ?? Number.NaN)} | ${fmt(cal?.fusedEce ?? Number.NaN)} |`;
}).join('\n')}`;
}

/** The card with its evaluation block replaced, or appended when the card has none yet. */
export function withEvalBlock(card: string, block: string): string {
  const text = `${BEGIN}\n${block}\n${END}`;
  const start = card.indexOf(BEGIN);
  const end = card.indexOf(END);
  return start >= 0 && end > start
    ? `${card.slice(0, start)}${text}${card.slice(end + END.length)}`
    : `${card.trimEnd()}\n\n${text}\n`;
}

/** Replaces (or appends) the evaluation block of the text and fusion model cards. */
export function updateCards(input: CardInput): void {
  const blocks: Record<string, string> = {
    'text-toxicity': textCardBlock(input),
    fusion: fusionCardBlock(input),
  };
  for (const [name, block] of Object.entries(blocks)) {
    const path = join(REPO, 'model-artifacts/models', name, 'MODEL_CARD.md');
    if (!existsSync(path)) continue;
    writeFileSync(path, withEvalBlock(readFileSync(path, 'utf8'), block));
  }
}
