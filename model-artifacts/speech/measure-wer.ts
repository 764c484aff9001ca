/**
 * Word error rate of the pipeline's speech path (ffmpeg decode → Silero VAD → recogniser) on 20
 * synthetic sentences: 12 written for this test (half hostile, half benign) and the first 8 suitable
 * tweets of OLID's training file (../shared/data/olid), spoken by two Debian synthesisers:
 * flite (`slt`, a natural-sounding unit-selection voice) and espeak-ng (`en-us`, a formant voice).
 *
 *   npx tsx model-artifacts/speech/measure-wer.ts [--engine pocketsphinx|whisper] [--show]
 *
 * Needs `flite` and `espeak-ng` from apt (and the recogniser's own packages). Results: docs/MEDIA.md.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ErrorCount, errorRate, wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createRecognizer } from '#shared/engines/engines.ts';
import { decodeAudio } from '#shared/extract/audio.ts';
import { transcribe } from '#shared/speech/transcribe.ts';
import { loadSileroVad } from '#shared/speech/vad.ts';
import { espeak, speak } from '#test/fixtures/media/generate.ts';

const WRITTEN = [
  'I will kill you. You are a worthless idiot.',
  'Thank you for the lovely dinner last night.',
  'Go back to where you came from.',
  'The train to the city leaves at nine in the morning.',
  'Nobody wants you here, get out of our town.',
  'Please remember to water the plants on Sunday.',
  'You are a disgusting pig and everyone hates you.',
  'The children played football in the park after school.',
  'Shut up, you stupid moron.',
  'We are planning a small party for her birthday.',
  'People like you should not be allowed to live.',
  'The weather will be sunny with a light breeze.',
];

/** The first `n` OLID tweets that read as plain sentences once user tags, URLs and hashtags are gone. */
async function olidSentences(n: number): Promise<string[]> {
  const file = join(import.meta.dirname, '../../../shared/data/olid/olid-training-v1.0.tsv');
  const out: string[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n').slice(1)) {
    const tweet = (line.split('\t')[1] ?? '')
      .replace(/[‘’]/g, "'")
      .replace(/&amp;/g, ' and ')
      .replace(/@USER|URL|#\w+/g, ' ')
      .replace(/[^A-Za-z',.?! ]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    const words = tweet.split(' ').length;
    if (words >= 6 && words <= 16 && /^[A-Za-z]/.test(tweet)) out.push(tweet);
    if (out.length === n) break;
  }
  return out;
}

const { values } = parseArgs({
  options: { engine: { type: 'string', default: 'pocketsphinx' }, show: { type: 'boolean' } },
});
const sentences = [...WRITTEN, ...(await olidSentences(8))];
const recognizer = await createRecognizer({ ...readEngineConfig(), speech: values.engine });
const vad = await loadSileroVad();
const deps = recognizer ? { vad, recognizer } : { vad };

for (const [voice, synth] of [
  ['flite slt', speak],
  ['espeak-ng en-us', espeak],
] as const) {
  const counts: ErrorCount[] = [];
  let audioMs = 0;
  let workMs = 0;
  for (const sentence of sentences) {
    const audio = await decodeAudio(await synth(sentence), 'audio/wav');
    const t = performance.now();
    const transcript = await transcribe(audio, deps);
    workMs += performance.now() - t;
    audioMs += audio.durationMs;
    const hypothesis = transcript.segments.map((s) => s.text).join(' ');
    counts.push(wordErrors(sentence, hypothesis));
    if (values.show) console.log(`  [${voice}] ${JSON.stringify(sentence)} → ${JSON.stringify(hypothesis)}`);
  }
  console.log(
    JSON.stringify({
      engine: values.engine,
      voice,
      sentences: sentences.length,
      words: counts.reduce((s, c) => s + c.total, 0),
      wer: Number(errorRate(counts).toFixed(3)),
      realTimeFactor: Number((workMs / audioMs).toFixed(2)),
    }),
  );
}
