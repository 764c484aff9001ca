import { describe, expect, it } from 'vitest';
import { charErrors, errorRate, wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { pickFrames } from '#shared/extract/animation.ts';
import { sniff } from '#shared/ingest/sniff.ts';
import { parsePocketsphinxWords } from '#shared/speech/pocketsphinx.ts';
import { wordsToSegments } from '#shared/speech/recognizer.ts';

describe('PocketSphinx output', () => {
  it('reads word timings and drops markers, silences and fillers', () => {
    const out = [
      'i will kill you',
      '<s> 0.000 0.200 0.999600',
      'i 0.210 0.320 0.553458',
      'will 0.330 0.540 0.367726',
      '<sil> 1.020 1.190 0.866393',
      '[NOISE] 1.200 1.300 0.5',
      'you(2) 1.200 1.450 0.912004',
      '</s> 2.710 3.120 1.000000',
    ].join('\n');
    expect(parsePocketsphinxWords(out)).toEqual([
      { word: 'i', startMs: 210, endMs: 320 },
      { word: 'will', startMs: 330, endMs: 540 },
      { word: 'you', startMs: 1200, endMs: 1450 },
    ]);
  });

  it('assigns words to the speech segments they fall in, dropping words outside any', () => {
    const words = [
      { word: 'hello', startMs: 100, endMs: 400 },
      { word: 'there', startMs: 450, endMs: 800 },
      { word: 'music', startMs: 3000, endMs: 3300 },
      { word: 'bye', startMs: 5100, endMs: 5400 },
    ];
    const segs = [
      { startMs: 50, endMs: 900 },
      { startMs: 5000, endMs: 5600 },
      { startMs: 7000, endMs: 7500 },
    ];
    expect(wordsToSegments(words, segs)).toEqual([
      { startMs: 50, endMs: 900, text: 'hello there' },
      { startMs: 5000, endMs: 5600, text: 'bye' },
    ]);
  });
});

describe('animated images', () => {
  it('spreads picked frames over the running time', () => {
    const frames = pickFrames(
      Array.from({ length: 20 }, () => 100),
      4,
    );
    expect(frames).toEqual([
      { page: 0, timestampMs: 0 },
      { page: 5, timestampMs: 500 },
      { page: 10, timestampMs: 1000 },
      { page: 15, timestampMs: 1500 },
    ]);
  });

  it('uses 100 ms for frames with no usable delay, and returns nothing for a still image', () => {
    expect(pickFrames([0, 0, 0], 8).map((f) => f.timestampMs)).toEqual([0, 100, 200]);
    expect(pickFrames([100], 8)).toEqual([]);
  });
});

describe('sniffing media', () => {
  it('tells audio from video by the container', async () => {
    const riff = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.alloc(4),
      Buffer.from('WAVEfmt '),
      Buffer.alloc(32),
    ]);
    expect(await sniff(riff)).toEqual({ kind: 'audio', mime: 'audio/wav' });
    const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(16)]);
    expect((await sniff(ftyp)).kind).toBe('video');
  });
});

describe('error rates', () => {
  it('counts word and character edits after normalising case and punctuation', () => {
    expect(wordErrors('You are a worthless idiot!', 'you are worthless city')).toEqual({
      errors: 2,
      total: 5,
    });
    expect(charErrors('abc', 'abd')).toEqual({ errors: 1, total: 3 });
    expect(
      errorRate([
        { errors: 1, total: 4 },
        { errors: 1, total: 6 },
      ]),
    ).toBeCloseTo(0.2, 10);
  });
});
