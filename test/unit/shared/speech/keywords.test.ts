import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTimeoutError } from '#shared/media/ffmpeg.ts';
import { addTranscript, spottedEvidence } from '#shared/modalities/audio.ts';
import { emptyCollected } from '#shared/modalities/types.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { KEYPHRASES, type Keyphrase } from '#shared/speech/keyphrases.ts';
import {
  hitsInSpeech,
  keyphraseFile,
  parseKeywordHits,
  pocketsphinxKeywordSpotter,
  SPOTTED_SCORE,
  spottedScores,
} from '#shared/speech/keywords.ts';
import { transcribe } from '#shared/speech/transcribe.ts';
import type { VadModel } from '#shared/speech/vad.ts';

const PHRASES: Keyphrase[] = [
  { phrase: 'kill you', category: 'violence', threshold: 1e-20 },
  { phrase: 'i will kill you', category: 'violence', threshold: 1e-30 },
  { phrase: 'dirty jew', category: 'hate', threshold: 1e-20 },
];

/** What `pocketsphinx_continuous -kws … -time yes` printed for "I will kill you, you are a worthless idiot". */
const KWS_STDOUT = [
  'i will kill you  kill you  worthless idiot ',
  'i will kill you  0.200 1.010 0.901936',
  'kill you  0.560 1.010 0.866306',
  'worthless idiot  1.790 2.670 0.906729',
  '',
].join('\n');

describe('keyword spotting output', () => {
  it('writes a PocketSphinx keyphrase file: one phrase and threshold a line', () => {
    expect(keyphraseFile(PHRASES.slice(0, 2))).toBe('kill you /1e-20/\ni will kill you /1e-30/\n');
  });

  it('reads detections with their times, skips the hypothesis line and phrases not on the list', () => {
    expect(parseKeywordHits(KWS_STDOUT, PHRASES)).toEqual([
      { phrase: 'i will kill you', category: 'violence', startMs: 200, endMs: 1010 },
      { phrase: 'kill you', category: 'violence', startMs: 560, endMs: 1010 },
    ]);
    expect(parseKeywordHits('kill you \n', PHRASES)).toEqual([]);
    expect(parseKeywordHits('', PHRASES)).toEqual([]);
  });

  it('keeps only hits inside speech segments (by midpoint, with slack)', () => {
    const hits = parseKeywordHits(KWS_STDOUT, PHRASES);
    expect(hitsInSpeech(hits, [{ startMs: 2000, endMs: 3000 }])).toEqual([]);
    expect(hitsInSpeech(hits, [{ startMs: 800, endMs: 3000 }]).map((h) => h.phrase)).toEqual([
      'i will kill you',
      'kill you',
    ]);
  });

  it('scores a clip per category by its hits: the highest spotted score', () => {
    const hits = [
      { phrase: 'kill you', category: 'violence' as const, startMs: 0, endMs: 500 },
      { phrase: 'dirty jew', category: 'hate' as const, startMs: 900, endMs: 1500 },
    ];
    expect(spottedScores(hits)).toEqual({ violence: SPOTTED_SCORE.violence, hate: SPOTTED_SCORE.hate });
    expect(spottedScores([])).toEqual({});
  });
});

describe('the phrase list', () => {
  it('has only lower-case phrases of words the CMU dictionary of the en-us model knows', async () => {
    const dict = await readFile('/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict', 'utf8');
    const words = new Set(dict.split('\n').map((l) => l.split(' ')[0]?.replace(/\(\d+\)$/, '')));
    const missing = KEYPHRASES.flatMap((p) => p.phrase.split(' ')).filter((w) => !words.has(w));
    expect(missing).toEqual([]);
    expect(KEYPHRASES.every((p) => p.phrase === p.phrase.toLowerCase().trim())).toBe(true);
    expect(new Set(KEYPHRASES.map((p) => p.phrase)).size).toBe(KEYPHRASES.length);
  });

  it.each([
    'balanced',
    'strict',
  ])('a detection alone sends a clip to review under %s, never to block', (preset) => {
    const { thresholds } = loadPolicy(preset);
    for (const [category, value] of Object.entries(SPOTTED_SCORE)) {
      expect(value, category).toBeGreaterThanOrEqual(thresholds[category]?.review ?? Infinity);
      expect(value, category).toBeLessThan(thresholds[category]?.block ?? -Infinity);
    }
  });

  it('a detection alone does not ask for review under lenient', () => {
    const { thresholds } = loadPolicy('lenient');
    for (const [category, value] of Object.entries(SPOTTED_SCORE))
      expect(value, category).toBeLessThan(thresholds[category]?.review ?? -Infinity);
  });
});

describe('the PocketSphinx keyword spotter', () => {
  let dir: string;
  /** A stand-in binary: records its arguments and the keyphrase file, prints the canned detections. */
  let fakeBin: string;
  let slowBin: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kws-test-'));
    fakeBin = join(dir, 'fake-pocketsphinx');
    await writeFile(join(dir, 'stdout.txt'), KWS_STDOUT);
    await writeFile(
      fakeBin,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$@" > "${dir}/args.txt"`,
        'while [ $# -gt 0 ]; do',
        `  if [ "$1" = "-kws" ]; then cp "$2" "${dir}/kws.txt"; fi`,
        `  if [ "$1" = "-infile" ]; then wc -c < "$2" > "${dir}/pcm-bytes.txt"; fi`,
        '  shift',
        'done',
        `cat "${dir}/stdout.txt"`,
      ].join('\n'),
    );
    slowBin = join(dir, 'slow-pocketsphinx');
    await writeFile(slowBin, '#!/bin/sh\nexec sleep 5\n');
    await Promise.all([chmod(fakeBin, 0o755), chmod(slowBin, 0o755)]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const samples = new Float32Array(16_000 * 3);

  it('runs the binary once with the keyphrase file and no language model, and reads its hits', async () => {
    const spotter = pocketsphinxKeywordSpotter(
      { bin: fakeBin, modelDir: '/models', timeoutMs: 10_000 },
      PHRASES,
    );
    const hits = await spotter.spot(samples, [{ startMs: 0, endMs: 3000 }]);
    expect(hits.map((h) => h.phrase)).toEqual(['i will kill you', 'kill you']);
    const args = (await readFile(join(dir, 'args.txt'), 'utf8')).split('\n');
    expect(args).toContain('-kws');
    expect(args).not.toContain('-lm');
    expect(args[args.indexOf('-hmm') + 1]).toBe('/models/en-us');
    expect(args[args.indexOf('-dict') + 1]).toBe('/models/cmudict-en-us.dict');
    expect(await readFile(join(dir, 'kws.txt'), 'utf8')).toBe(keyphraseFile(PHRASES));
    // The clip as 16-bit PCM: two bytes a sample.
    expect(Number((await readFile(join(dir, 'pcm-bytes.txt'), 'utf8')).trim())).toBe(samples.length * 2);
    expect(spotter.version).toMatch(/keyphrases-/);
  });

  it('does not run without speech', async () => {
    const spotter = pocketsphinxKeywordSpotter({ bin: slowBin, modelDir: '/m', timeoutMs: 50 }, PHRASES);
    expect(await spotter.spot(samples, [])).toEqual([]);
  });

  it('is stopped at its time limit, like the recogniser', async () => {
    const spotter = pocketsphinxKeywordSpotter({ bin: slowBin, modelDir: '/m', timeoutMs: 200 }, PHRASES);
    await expect(spotter.spot(samples, [{ startMs: 0, endMs: 3000 }])).rejects.toBeInstanceOf(
      MediaTimeoutError,
    );
  });
});

describe('spotted phrases in the speech channel', () => {
  const segments = [
    { startMs: 0, endMs: 1500, text: 'i will call you' },
    { startMs: 2000, endMs: 3000, text: 'you are with you' },
  ];
  const hits = [{ phrase: 'kill you', category: 'violence' as const, startMs: 600, endMs: 1000 }];

  it('become evidence with the phrase, its times, its category score and the transcript heard there', () => {
    expect(spottedEvidence(hits, segments, 's3://b/k.wav')).toEqual([
      {
        source: 's3://b/k.wav',
        keyphrase: 'kill you',
        excerpt: 'i will call you',
        timestampMs: 600,
        timeRangeMs: [600, 1000],
        scores: { violence: SPOTTED_SCORE.violence },
      },
    ]);
  });

  it('are added beside the transcript windows, with the spotter stamped under engines', () => {
    const out = emptyCollected('audio/wav');
    addTranscript(
      out,
      {
        speech: segments,
        segments,
        partial: false,
        keywords: hits,
        spotter: { name: 'pocketsphinx-kws', version: 'v' },
      },
      'clip.wav',
    );
    expect(out.channels.speech).toHaveLength(1);
    expect(out.spotted?.speech?.map((e) => e.keyphrase)).toEqual(['kill you']);
    expect(out.engines?.['keyword-spotting']).toBe('pocketsphinx-kws@v');
  });

  it('transcription runs recogniser and spotter over the same speech, and neither without speech', async () => {
    const seen: string[] = [];
    // Speech from start to end: one segment.
    const speechy: VadModel = {
      frameProbabilities: async (s) => new Float32Array(Math.floor(s.length / 512)).fill(0.9),
    };
    const deps = {
      vad: speechy,
      recognizer: {
        name: 'r',
        version: '1',
        async transcribe(_s: Float32Array, segs: readonly { startMs: number; endMs: number }[]) {
          seen.push(`recognise ${segs.length}`);
          return [{ ...segs[0]!, text: 'i will call you' }];
        },
      },
      spotter: {
        name: 'k',
        version: '1',
        async spot(_s: Float32Array, segs: readonly { startMs: number; endMs: number }[]) {
          seen.push(`spot ${segs.length}`);
          return hits;
        },
      },
    };
    const t = await transcribe({ samples: new Float32Array(16_000 * 2), durationMs: 2000 }, deps);
    expect(seen.sort()).toEqual(['recognise 1', 'spot 1']);
    expect(t.keywords).toEqual(hits);
    expect(t.spotter).toEqual({ name: 'k', version: '1' });
  });
});
