/**
 * The video section of `npm run eval`: the test videos (videos.ts) through the pipeline's own media
 * path and scoring, judged by the balanced preset, per scenario (where the harm sits).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPolicy, type Policy, parsePolicy } from '#shared/policy/policy.ts';
import { categoryIndex, TEXT_CATS } from './common.ts';
import { type EvalDataset, REPO } from './dataset.ts';
import { errorRate, wordErrors } from './error-rate.ts';
import {
  buildVideos,
  localGateway,
  type ScoredVideo,
  scoreVideos,
  VIDEO_SCENARIOS,
  type VideoSet,
} from './videos.ts';

export interface VideoRow {
  scenario: string;
  videos: number;
  offensive: number;
  fused: number;
  max: number;
  ocrRead: number;
  speechHeard: number;
}

export interface VideoSummary {
  rows: VideoRow[];
  ocrWer: { video: number; still: number };
  frames: number;
  extractMs: number;
  buildSeconds: number;
}

/** Read back from disk: the presets were just regenerated, and the imported copy predates that. */
function readBalancedPreset(): Policy {
  return parsePolicy(JSON.parse(readFileSync(join(REPO, 'shared/policy/presets/balanced.json'), 'utf8')));
}

/** Per scenario: how many videos the preset flags on the fused scores and on the max rule. */
function videoRows(scored: readonly ScoredVideo[], balanced: Policy): VideoRow[] {
  return VIDEO_SCENARIOS.map((scenario) => {
    const vs = scored.filter((v) => v.record.scenario === scenario);
    const flagged = (cats: (v: ScoredVideo) => Record<string, number>) =>
      vs.filter((v) => applyPolicy(balanced, cats(v)).decision !== 'allow').length;
    // The max rule: the higher of the OCR and speech scores (the image channel scores only sexual).
    const maxCats = (v: ScoredVideo) =>
      Object.fromEntries(
        TEXT_CATS.map((l) => [l, Math.max(0, ...['ocr', 'speech'].map((ch) => v.channels[ch]?.[l] ?? 0))]),
      );
    return {
      scenario,
      videos: vs.length,
      offensive: vs.filter((v) => v.record.y[categoryIndex('offensive')] === 1).length,
      fused: flagged((v) => v.fused),
      max: flagged(maxCats),
      ocrRead: vs.filter((v) => v.record.ocr.length > 0).length,
      speechHeard: vs.filter((v) => v.record.speech.length > 0).length,
    };
  });
}

/** OCR word error rate on the first text read from the frames, vs on the same pictures as stills. */
function videoOcrWer(set: VideoSet, dataset: EvalDataset): VideoSummary['ocrWer'] {
  const stillOf = (imageId: string) => dataset.images.find((r) => r.id === imageId);
  const video = errorRate(
    set.videos.map((v) => wordErrors(stillOf(v.imageId)?.shown ?? '', v.ocr[0]?.text ?? '')),
  );
  const still = errorRate(
    set.videos.map((v) => {
      const s = stillOf(v.imageId);
      return wordErrors(s?.shown ?? '', s?.ocr.text ?? '');
    }),
  );
  return { video, still };
}

/** Builds (or reuses) the test videos, scores them like the pipeline, and summarises them. */
export async function evaluateVideos(dataset: EvalDataset, modelsDir: string): Promise<VideoSummary> {
  const set = await buildVideos(dataset);
  const scored = await scoreVideos(set, await localGateway(modelsDir));
  const perVideo = (total: number): number => total / Math.max(1, set.videos.length);
  return {
    rows: videoRows(scored, readBalancedPreset()),
    ocrWer: videoOcrWer(set, dataset),
    frames: perVideo(set.videos.reduce((a, v) => a + v.frames.length, 0)),
    extractMs: perVideo(set.videos.reduce((a, v) => a + v.extractMs, 0)),
    buildSeconds: set.seconds,
  };
}
