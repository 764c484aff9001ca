/**
 * The multimodal evaluation set: texts of the text model's validation and test splits rendered into
 * pictures (read back by the pipeline's OCR) and spoken by flite (transcribed by the pipeline's
 * speech recogniser). Built by build-dataset.ts into a git-ignored cache; read here by the fusion
 * trainer (validation parts) and the evaluation (test parts).
 *
 * Nothing leaks across splits: a source text belongs to one split of the text model (by hash of its
 * normalised form, model-artifacts/text-model/data.ts), and every rendering or recording of it, and
 * every post built from it, stays in that split.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabelledText, Source } from '#model-artifacts/text-model/data.ts';
import type { RenderStyle } from './render.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
/** Git-ignored (`.local/`): rebuilt by `npm run eval:data`, never committed. */
export const CACHE_DIR = join(REPO, '.local/eval-cache');
/** Bump when the selection, rendering or recognition changes, so a stale cache is rebuilt. */
export const DATASET_VERSION = 3;

export type EvalSplit = 'validation' | 'test';

/** The source text of a rendering, with its labels (text-model order: hate, harassment, offensive). */
export interface SourceText {
  /** The normalised text: its identity and the key of its split. */
  key: string;
  split: EvalSplit;
  source: Source;
  raw: string;
  /** What was drawn or spoken (no URLs, mentions, entities). */
  shown: string;
  y: LabelledText['y'];
  mask: LabelledText['mask'];
}

export interface ImageRecord extends SourceText {
  id: string;
  file: string;
  style: RenderStyle;
  width: number;
  height: number;
  ocr: { text: string; confidence: number; ms: number; skipped?: string };
}

export interface SpeechRecord extends SourceText {
  id: string;
  file: string;
  voice: string;
  rate: number;
  /** Added white noise level (standard deviation, full scale 1), 0 = clean. */
  noise: number;
  durationMs: number;
  transcript: string;
  engine: string;
  ms: number;
}

export interface EvalDataset {
  version: number;
  createdAt: string;
  config: { imagesPerSplit: number; speechPerSplit: number; seed: number; fonts: string[] };
  images: ImageRecord[];
  speech: SpeechRecord[];
  timing: { renderSeconds: number; ocrSeconds: number; speechSeconds: number; totalSeconds: number };
}

export const datasetPath = (dir = CACHE_DIR): string => join(dir, 'dataset.json');

/** The cached dataset, or undefined when it has not been built (or was built by an older version). */
export function readDataset(dir = CACHE_DIR): EvalDataset | undefined {
  const path = datasetPath(dir);
  if (!existsSync(path)) return undefined;
  const data = JSON.parse(readFileSync(path, 'utf8')) as EvalDataset;
  return data.version === DATASET_VERSION ? data : undefined;
}
