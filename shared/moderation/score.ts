import { CATEGORIES, type Category } from '#shared/domain/taxonomy.ts';
import type { Evidence, ModalityResult } from '#shared/domain/verdict.ts';
import { CHANNEL_SPECS, CHANNELS } from '#shared/modalities/registry.ts';
import type { ChannelSpec, Collected, ImageItem, TextItem } from '#shared/modalities/types.ts';
import type { ModelGateway, Scored } from './models.ts';

/** Evidence kept per channel: the windows or media that scored highest, not every one. */
const MAX_EVIDENCE = 3;

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
  /** Per channel name (shared/modalities/registry.ts). */
  modalities: Record<string, ModalityResult>;
  modelVersions: Record<string, string>;
}

/** One channel's items through its model: text channels (typed, OCR, speech) share the text model. */
function runChannel(
  spec: ChannelSpec,
  items: (TextItem | ImageItem)[],
  models: ModelGateway,
): Promise<Scored> {
  // Items were filed under their channel by its modality, so their type is the channel model's.
  return spec.model === 'image'
    ? models.scoreImages((items as ImageItem[]).map((i) => i.pixels))
    : models.scoreTexts((items as TextItem[]).map((t) => t.text));
}

function evidenceOf(spec: ChannelSpec, item: TextItem | ImageItem, scores: Record<string, number>): Evidence {
  return spec.model === 'image'
    ? spec.evidence(item as ImageItem, scores)
    : spec.evidence(item as TextItem, scores);
}

function channelResult(spec: ChannelSpec, items: (TextItem | ImageItem)[], scored: Scored): ModalityResult {
  const perItem = items.map((_, i) => {
    const raw = scored.scores[i] ?? {};
    return spec.score ? spec.score(raw) : { channel: raw, evidence: raw };
  });
  const evidence = items.map((item, i) => evidenceOf(spec, item, perItem[i]?.evidence ?? {}));
  return { scores: maxScores(perItem.map((p) => p.channel)), evidence: topEvidence(evidence) };
}

/**
 * A channel's result with the evidence its model did not produce (speech keyword spotting): scores
 * by max, and its best spotted items kept beside the model's best items rather than competing with them.
 */
function withSpotted(result: ModalityResult | undefined, spotted: Evidence[]): ModalityResult {
  const scores = maxScores([result?.scores ?? {}, ...spotted.map((e) => e.scores)]);
  return { scores, evidence: [...(result?.evidence ?? []), ...topEvidence(spotted)] };
}

/** Runs each channel's model, fuses the channels, and keeps the evidence that explains the score. */
export async function score(collected: Collected, models: ModelGateway): Promise<Scoring> {
  const modalities: Record<string, ModalityResult> = {};
  const modelVersions: Record<string, string> = {};
  const { pack } = models;

  const present = CHANNEL_SPECS.filter((spec) => (collected.channels[spec.name]?.length ?? 0) > 0);
  const scored = await Promise.all(
    present.map((spec) => runChannel(spec, collected.channels[spec.name] ?? [], models)),
  );
  present.forEach((spec, i) => {
    const result = scored[i] as Scored;
    modelVersions[pack[spec.model].name] = result.version;
    modalities[spec.name] = channelResult(spec, collected.channels[spec.name] ?? [], result);
  });
  // A spotted phrase counts even where the transcript has no words to score.
  const spotted = Object.entries(collected.spotted ?? {}).filter(
    ([c, found]) => found.length > 0 && CHANNELS.includes(c),
  );
  for (const [channel, found] of spotted) modalities[channel] = withSpotted(modalities[channel], found);
  Object.assign(modelVersions, collected.engines);

  const channelScores = Object.fromEntries(Object.entries(modalities).map(([c, m]) => [c, m.scores]));
  const fused = await models.fuse(channelScores);
  modelVersions[pack.fusion.name] = fused.version;
  // A fused value for a category that no present channel scores is only the model's prior: report
  // the category as unscored (a text-only upload says nothing about nudity) instead of inventing it.
  const covered = new Set(Object.keys(modalities).flatMap((c) => pack.fusion.channelCategories[c] ?? []));
  const categories: Record<string, number> = Object.fromEntries(
    Object.entries(fused.scores[0] ?? {}).filter(([c]) => covered.has(c)),
  );
  // Spotted scores are already on the fused scale: like fusion's strong-channel floor, fusion may
  // raise them but not dilute them (docs/MEDIA.md, "Keyword spotting").
  for (const [category, floor] of Object.entries(
    maxScores(spotted.flatMap(([, f]) => f.map((e) => e.scores))),
  ))
    if (covered.has(category)) categories[category] = Math.max(categories[category] ?? 0, floor);
  return {
    categories,
    unscoredCategories: CATEGORIES.filter((c) => !(c in categories)),
    modalities,
    modelVersions,
  };
}
