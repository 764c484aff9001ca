import { CATEGORIES, type Category, type Channel } from '#shared/domain/taxonomy.ts';
import type { Evidence, ModalityResult } from '#shared/domain/verdict.ts';
import type { Collected } from './collect.ts';
import type { MediaTextItem } from './collect-media.ts';
import type { ModelGateway } from './models.ts';

/** How the image classes map into the taxonomy: every not-safe-for-work class counts toward `sexual`. */
export function imageCategories(classes: Record<string, number>): Record<string, number> {
  // A model whose head scores the taxonomy itself (a CLIP pack, processors.ts) passes it through.
  if ('sexual' in classes) return { sexual: classes.sexual ?? 0 };
  return { sexual: (classes.porn ?? 0) + (classes.hentai ?? 0) + (classes.sexy ?? 0) };
}

/** Evidence kept per channel: the windows or media that scored highest, not every one. */
const MAX_EVIDENCE = 3;

const EXCERPT_CHARS = 280;

function maxScores(items: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const scores of items) {
    for (const [k, v] of Object.entries(scores)) out[k] = Math.max(out[k] ?? 0, v);
  }
  return out;
}

function topEvidence(evidence: Evidence[]): Evidence[] {
  const peak = (e: Evidence) => Math.max(0, ...Object.values(e.scores));
  return [...evidence].sort((a, b) => peak(b) - peak(a)).slice(0, MAX_EVIDENCE);
}

export interface Scoring {
  categories: Partial<Record<Category, number>>;
  unscoredCategories: Category[];
  modalities: Partial<Record<Channel, ModalityResult>>;
  modelVersions: Record<string, string>;
}

/** Runs each channel's model, fuses the channels, and keeps the evidence that explains the score. */
export async function score(collected: Collected, models: ModelGateway): Promise<Scoring> {
  const modalities: Partial<Record<Channel, ModalityResult>> = {};
  const modelVersions: Record<string, string> = {};
  const { pack } = models;

  const ocrItems = collected.ocr ?? [];
  const speechItems = collected.speech ?? [];
  // Text read from images and transcribed speech go through the text model as channels of their own.
  const [texts, images, ocr, speech] = await Promise.all([
    collected.texts.length ? models.scoreTexts(collected.texts.map((t) => t.window.text)) : undefined,
    collected.images.length ? models.scoreImages(collected.images.map((i) => i.pixels)) : undefined,
    ocrItems.length ? models.scoreTexts(ocrItems.map((t) => t.text)) : undefined,
    speechItems.length ? models.scoreTexts(speechItems.map((t) => t.text)) : undefined,
  ]);
  if (texts) {
    modelVersions[pack.text.name] = texts.version;
    const evidence = collected.texts.map(({ source, window }, i) => ({
      source,
      excerpt: window.text.length > EXCERPT_CHARS ? `${window.text.slice(0, EXCERPT_CHARS)}…` : window.text,
      range: [window.start, window.end] as [number, number],
      scores: texts.scores[i] ?? {},
    }));
    modalities.text = { scores: maxScores(texts.scores), evidence: topEvidence(evidence) };
  }
  if (images) {
    modelVersions[pack.image.name] = images.version;
    const perImage = images.scores.map((classes) => ({ ...imageCategories(classes), ...classes }));
    const evidence = collected.images.map(({ source, timestampMs }, i) => ({
      source,
      ...(timestampMs !== undefined && { timestampMs }),
      scores: perImage[i] ?? {},
    }));
    modalities.image = { scores: maxScores(perImage.map(imageCategories)), evidence: topEvidence(evidence) };
  }

  for (const [channel, items, scored] of [
    ['ocr', ocrItems, ocr],
    ['speech', speechItems, speech],
  ] as const) {
    if (!scored) continue;
    modelVersions[pack.text.name] = scored.version;
    modalities[channel] = {
      scores: maxScores(scored.scores),
      evidence: topEvidence(items.map((item, i) => mediaTextEvidence(item, scored.scores[i] ?? {}))),
    };
  }
  Object.assign(modelVersions, collected.engines);

  const channelScores = Object.fromEntries(Object.entries(modalities).map(([c, m]) => [c, m.scores]));
  const fused = await models.fuse(channelScores);
  modelVersions[pack.fusion.name] = fused.version;
  // A fused value for a category that no present channel scores is only the model's prior: report
  // the category as unscored (a text-only upload says nothing about nudity) instead of inventing it.
  const covered = new Set(Object.keys(modalities).flatMap((c) => pack.fusion.channelCategories[c] ?? []));
  const categories = Object.fromEntries(
    Object.entries(fused.scores[0] ?? {}).filter(([c]) => covered.has(c)),
  );
  return {
    categories,
    unscoredCategories: CATEGORIES.filter((c) => !(c in categories)),
    modalities,
    modelVersions,
  };
}

function mediaTextEvidence(item: MediaTextItem, scores: Record<string, number>): Evidence {
  return {
    source: item.source,
    excerpt: item.text.length > EXCERPT_CHARS ? `${item.text.slice(0, EXCERPT_CHARS)}…` : item.text,
    ...(item.timestampMs !== undefined && { timestampMs: item.timestampMs }),
    ...(item.timeRangeMs && { timeRangeMs: [...item.timeRangeMs] as [number, number] }),
    scores,
  };
}
