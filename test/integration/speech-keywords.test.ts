/**
 * Keyword spotting through the real binary (Debian's `pocketsphinx_continuous` and its en-us model,
 * as .ci/run installs them) on speech generated here with flite, after the real decode and VAD.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createKeywordSpotter } from '#shared/engines/engines.ts';
import { decodeAudio } from '#shared/extract/audio.ts';
import type { KeywordHit, KeywordSpotter } from '#shared/speech/keywords.ts';
import { detectSpeech, loadSileroVad, type VadModel } from '#shared/speech/vad.ts';
import { speak } from '#test/fixtures/media/generate.ts';

let vad: VadModel;
let spotter: KeywordSpotter;

beforeAll(async () => {
  vad = await loadSileroVad();
  const found = await createKeywordSpotter(readEngineConfig({}));
  if (!found) throw new Error('SPEECH_KEYWORDS defaults to pocketsphinx');
  spotter = found;
});

async function spotIn(sentence: string): Promise<{ hits: KeywordHit[]; durationMs: number }> {
  const audio = await decodeAudio(await speak(sentence), 'audio/wav');
  const speech = await detectSpeech(audio.samples, vad);
  return { hits: await spotter.spot(audio.samples, speech), durationMs: audio.durationMs };
}

describe('keyword spotting with PocketSphinx', () => {
  it('hears the threat in a spoken "I will kill you", with its time in the clip', async () => {
    const { hits, durationMs } = await spotIn('I will kill you, you are a worthless idiot.');
    const kill = hits.find((h) => h.phrase === 'i will kill you');
    expect(kill?.category).toBe('violence');
    expect(kill?.startMs).toBeGreaterThan(0);
    expect(kill?.endMs).toBeGreaterThan(kill?.startMs ?? Infinity);
    expect(kill?.endMs).toBeLessThanOrEqual(durationMs);
  });

  it('hears nothing in a benign sentence', async () => {
    expect((await spotIn('Thank you for the lovely dinner last night.')).hits).toEqual([]);
  });
});
