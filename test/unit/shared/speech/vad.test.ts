import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '#shared/extract/audio.ts';
import { detectSpeech, FRAME_MS, loadSileroVad, segmentSpeech, type VadModel } from '#shared/speech/vad.ts';
import { speak } from '#test/fixtures/media/generate.ts';

/** Frame probabilities from a compact description: [probability, milliseconds] runs. */
const frames = (...runs: [number, number][]) =>
  runs.flatMap(([p, ms]) => Array.from({ length: Math.round(ms / FRAME_MS) }, () => p));

describe('segmentSpeech', () => {
  const opts = { padMs: 0, minSpeechMs: 250, minSilenceMs: 300 };

  it('finds speech between silences', () => {
    const segs = segmentSpeech(frames([0, 1024], [0.9, 1024], [0.05, 1024]), opts);
    expect(segs).toEqual([{ startMs: 1024, endMs: 2048 }]);
  });

  it('bridges pauses shorter than minSilenceMs and splits at longer ones', () => {
    const short = segmentSpeech(frames([0.9, 640], [0.1, 160], [0.9, 640]), opts);
    expect(short).toHaveLength(1);
    const long = segmentSpeech(frames([0.9, 640], [0.1, 640], [0.9, 640]), opts);
    expect(long).toHaveLength(2);
  });

  it('keeps speaking through dips above the lower threshold (hysteresis)', () => {
    const segs = segmentSpeech(frames([0.9, 640], [0.4, 960], [0.9, 640]), { ...opts, threshold: 0.5 });
    expect(segs).toHaveLength(1);
  });

  it('drops blips shorter than minSpeechMs', () => {
    expect(segmentSpeech(frames([0, 640], [0.95, 96], [0, 640]), opts)).toEqual([]);
  });

  it('pads segments, clips them to the audio and merges the ones that touch', () => {
    const segs = segmentSpeech(frames([0.9, 640], [0, 320], [0.9, 640], [0, 640]), { ...opts, padMs: 200 });
    expect(segs).toEqual([{ startMs: 0, endMs: 1800 }]);
  });

  it('cuts long speech into pieces no longer than maxSegmentMs', () => {
    const segs = segmentSpeech(frames([0.9, 64_000]), { ...opts, maxSegmentMs: 28_000 });
    expect(segs.map((s) => s.endMs - s.startMs).every((d) => d <= 28_000)).toBe(true);
    expect(segs).toHaveLength(3);
  });
});

describe('Silero VAD on generated audio', () => {
  let vad: VadModel;
  beforeAll(async () => {
    vad = await loadSileroVad();
  });

  it('finds two utterances separated by two seconds of silence, and nothing in a pure tone', async () => {
    const [a, b] = await Promise.all([speak('Good morning, everyone.'), speak('See you tomorrow.')]);
    const speechA = await decodeAudio(a, 'audio/wav');
    const speechB = await decodeAudio(b, 'audio/wav');
    const gap = new Float32Array(2 * 16_000);
    const samples = new Float32Array(speechA.samples.length + gap.length + speechB.samples.length);
    samples.set(speechA.samples, 0);
    samples.set(speechB.samples, speechA.samples.length + gap.length);
    const segs = await detectSpeech(samples, vad);
    expect(segs).toHaveLength(2);
    const gapStart = (speechA.samples.length / 16_000) * 1000;
    expect(segs[0]?.endMs).toBeLessThanOrEqual(gapStart + 400);
    expect(segs[1]?.startMs).toBeGreaterThanOrEqual(gapStart + 1600);

    const tone = Float32Array.from(
      { length: 3 * 16_000 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16_000),
    );
    expect(await detectSpeech(tone, vad)).toEqual([]);
  });
});
