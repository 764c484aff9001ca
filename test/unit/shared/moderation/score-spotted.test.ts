/**
 * How spotted speech phrases (shared/speech/keywords.ts) combine with the transcript's text-model
 * score: by max in the speech channel, and as a floor under the fused category.
 */
import { describe, expect, it } from 'vitest';
import type { Evidence } from '#shared/domain/verdict.ts';
import { type Collected, emptyCollected } from '#shared/modalities/types.ts';
import type { ModelGateway } from '#shared/moderation/models.ts';
import { score } from '#shared/moderation/score.ts';

const ALL = ['sexual', 'hate', 'harassment', 'violence', 'offensive'];

/** A gateway whose text model says `text` for every window and whose fusion returns `fused` (recording its input). */
function gateway(text: Record<string, number>, fused: Record<string, number>) {
  const calls = { texts: [] as string[][], fuse: [] as Record<string, Record<string, number>>[] };
  const models = {
    pack: {
      text: { name: 'text-toxicity' },
      image: { name: 'image-nsfw' },
      fusion: { name: 'fusion', channelCategories: { text: ALL, speech: ALL, ocr: ALL, image: ['sexual'] } },
    },
    async scoreTexts(texts: string[]) {
      calls.texts.push(texts);
      return { scores: texts.map(() => text), version: '2.0.0' };
    },
    async scoreImages() {
      throw new Error('no images here');
    },
    async fuse(channels: Record<string, Record<string, number>>) {
      calls.fuse.push(channels);
      return { scores: [fused], version: '2.0.0' };
    },
  } as unknown as ModelGateway;
  return { models, calls };
}

const spottedKill: Evidence = {
  source: 'clip.wav',
  keyphrase: 'kill you',
  excerpt: 'i will call you',
  timestampMs: 600,
  timeRangeMs: [600, 1000],
  scores: { violence: 0.17 },
};

function clip(withTranscript: boolean, spotted: Evidence[] = [spottedKill]): Collected {
  const out = emptyCollected('audio/wav');
  if (withTranscript)
    out.channels.speech = [
      { source: 'clip.wav', text: 'i will call you', timestampMs: 0, timeRangeMs: [0, 1500] },
    ];
  if (spotted.length) out.spotted = { speech: spotted };
  return out;
}

const low = { sexual: 0.01, hate: 0.02, harassment: 0.05, violence: 0.04, offensive: 0.03 };

describe('spotted phrases in scoring', () => {
  it('raise the speech channel by max and floor the fused category, keeping the evidence', async () => {
    const { models, calls } = gateway(low, { ...low, violence: 0.1 });
    const result = await score(clip(true), models);
    expect(result.modalities.speech?.scores.violence).toBe(0.17);
    expect(result.modalities.speech?.scores.harassment).toBe(0.05);
    // Fusion sees the raised channel, and may not dilute it below the spotted score.
    expect(calls.fuse[0]?.speech?.violence).toBe(0.17);
    expect(result.categories.violence).toBe(0.17);
    expect(result.categories.harassment).toBe(0.05);
    const evidence = result.modalities.speech?.evidence ?? [];
    expect(evidence.map((e) => e.keyphrase ?? 'window')).toEqual(['window', 'kill you']);
  });

  it('leave a higher transcript score as it is', async () => {
    const { models } = gateway({ ...low, violence: 0.9 }, { ...low, violence: 0.85 });
    const result = await score(clip(true), models);
    expect(result.modalities.speech?.scores.violence).toBe(0.9);
    expect(result.categories.violence).toBe(0.85);
  });

  it('make the speech channel present when the transcript has no words, without a text-model call', async () => {
    const { models, calls } = gateway(low, { ...low, violence: 0.08 });
    const result = await score(clip(false), models);
    expect(calls.texts).toEqual([]);
    expect(result.modalities.speech).toEqual({ scores: { violence: 0.17 }, evidence: [spottedKill] });
    expect(result.categories.violence).toBe(0.17);
    expect(result.unscoredCategories).toEqual([]);
  });

  it('change nothing when none were heard', async () => {
    const { models } = gateway(low, { ...low, violence: 0.1 });
    const result = await score(clip(true, []), models);
    expect(result.categories.violence).toBe(0.1);
    expect(result.modalities.speech?.evidence.some((e) => e.keyphrase)).toBe(false);
  });
});
