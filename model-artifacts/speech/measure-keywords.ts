/**
 * Keyword spotting against the transcript alone, on generated speech: threats and slurs (which the
 * phrase list targets), near misses that share sounds or words with a listed phrase ("I will call
 * you", "skill you", "shoot you an email"), and plain benign sentences, in several synthetic voices.
 * Each clip goes the pipeline's way (ffmpeg decode → Silero VAD → PocketSphinx transcript → the text
 * model → fusion → the policy presets) twice: with the spotted phrases and without.
 *
 *   npx tsx model-artifacts/speech/measure-keywords.ts [--show] [--voices slt,kal,...]
 *   npx tsx model-artifacts/speech/measure-keywords.ts --sweep [--voices ...]
 *
 * `--sweep` runs only the spotter, with every threshold of the list multiplied by each of `--scales`,
 * and prints per phrase and scale its detections in clips that say the phrase and its false alarms
 * in clips that do not (phrases are searched independently, so one sweep serves every phrase).
 *
 * Needs `flite` (and `espeak-ng` for its voice) from apt. Transcripts (the slow part) are cached by
 * clip under .local/eval-cache/keywords/, so a change of phrase thresholds re-runs only the
 * spotter. Results: docs/MEDIA.md, "Keyword spotting".
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { CACHE_DIR } from '#model-artifacts/eval/dataset.ts';
import { localGateway } from '#model-artifacts/eval/videos.ts';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createKeywordSpotter, createRecognizer } from '#shared/engines/engines.ts';
import { decodeAudio } from '#shared/extract/audio.ts';
import { addTranscript } from '#shared/modalities/audio.ts';
import { emptyCollected } from '#shared/modalities/types.ts';
import { score } from '#shared/moderation/score.ts';
import { applyPolicy, loadPolicy } from '#shared/policy/policy.ts';
import { KEYPHRASES } from '#shared/speech/keyphrases.ts';
import { pocketsphinxKeywordSpotter } from '#shared/speech/keywords.ts';
import type { TranscriptSegment } from '#shared/speech/recognizer.ts';
import type { Transcript } from '#shared/speech/transcribe.ts';
import { detectSpeech, loadSileroVad } from '#shared/speech/vad.ts';

const run = promisify(execFile);

type Kind = 'threat' | 'slur' | 'near-miss' | 'benign';
const CLIPS: { text: string; kind: Kind }[] = [
  { kind: 'threat', text: 'I will kill you, you are a worthless idiot.' },
  { kind: 'threat', text: 'I am going to kill you.' },
  { kind: 'threat', text: 'I will shoot you in the head.' },
  { kind: 'threat', text: 'Watch your back, I will stab you.' },
  { kind: 'threat', text: 'I will burn your house down.' },
  { kind: 'threat', text: 'You are dead, I will find you.' },
  { kind: 'threat', text: 'I will slit your throat.' },
  { kind: 'threat', text: 'I will hurt you and your family.' },
  { kind: 'slur', text: 'Get out of here, you filthy nigger.' },
  { kind: 'slur', text: 'Nobody likes you, faggot.' },
  { kind: 'slur', text: 'Go back home, you chink.' },
  { kind: 'slur', text: 'Shut up, you dirty jew.' },
  { kind: 'slur', text: 'They should gas the jews.' },
  { kind: 'near-miss', text: 'The comedian killed it last night.' },
  { kind: 'near-miss', text: 'I will call you tomorrow morning.' },
  { kind: 'near-miss', text: 'That skill you have is amazing.' },
  { kind: 'near-miss', text: 'Kill the lights when you leave the room.' },
  { kind: 'near-miss', text: 'This deadline is killing me.' },
  { kind: 'near-miss', text: 'I will shoot you an email later today.' },
  { kind: 'near-miss', text: 'You are dead right about that.' },
  { kind: 'near-miss', text: 'The Niger river flows through Mali.' },
  { kind: 'near-miss', text: 'There is a maggot in the apple.' },
  { kind: 'near-miss', text: 'I will hug you when I see you.' },
  { kind: 'benign', text: 'Thank you for the lovely dinner last night.' },
  { kind: 'benign', text: 'The train to the city leaves at nine in the morning.' },
  { kind: 'benign', text: 'Please remember to water the plants on Sunday.' },
];

/** Voices: flite's four English voices (slt at two speeds) and espeak-ng's formant voice. */
const VOICES: Record<string, (text: string, out: string) => [string, string[]]> = {
  slt: (t, o) => ['flite', ['-voice', 'slt', '-t', t, '-o', o]],
  'slt-slow': (t, o) => ['flite', ['-voice', 'slt', '--setf', 'duration_stretch=1.3', '-t', t, '-o', o]],
  kal: (t, o) => ['flite', ['-voice', 'kal16', '-t', t, '-o', o]],
  awb: (t, o) => ['flite', ['-voice', 'awb', '-t', t, '-o', o]],
  rms: (t, o) => ['flite', ['-voice', 'rms', '-t', t, '-o', o]],
  espeak: (t, o) => ['espeak-ng', ['-v', 'en-us', '-s', '150', '-w', o, t]],
};

async function synthesise(voice: string, text: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'kws-'));
  try {
    const out = join(dir, 'speech.wav');
    const [bin, args] = (VOICES[voice] ?? VOICES.slt!)(text, out);
    await run(bin, args);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    show: { type: 'boolean' },
    sweep: { type: 'boolean' },
    scales: { type: 'string', default: '1e-5,1,1e5,1e10' },
    voices: { type: 'string', default: Object.keys(VOICES).join(',') },
  },
});
const voices = (values.voices ?? '').split(',').filter((v) => v in VOICES);
const config = readEngineConfig();
const [vad, recognizer, spotter, gateway] = await Promise.all([
  loadSileroVad(config.vadModelPath),
  createRecognizer(config),
  createKeywordSpotter({ ...config, keywords: 'pocketsphinx' }),
  localGateway(join(import.meta.dirname, '../models')),
]);
if (!recognizer || !spotter) throw new Error('needs SPEECH_ENGINE=pocketsphinx');
const policies = ['lenient', 'balanced', 'strict'].map(loadPolicy);

/** Threshold multipliers tried by --sweep (`--scales`): above 1 is stricter. */
const SCALES = (values.scales ?? '1').split(',').map(Number);

/** Whether the sentence says the phrase (as words). */
const says = (text: string, phrase: string) =>
  ` ${text
    .toLowerCase()
    .replace(/[^a-z ]/g, ' ')
    .replace(/\s+/g, ' ')} `.includes(` ${phrase} `);

async function sweep(): Promise<void> {
  const spotters = SCALES.map((scale) =>
    pocketsphinxKeywordSpotter(
      { ...config.pocketsphinx, timeoutMs: 60_000 },
      KEYPHRASES.map((p) => ({ ...p, threshold: Math.min(1, p.threshold * scale) })),
    ),
  );
  // phrase → scale → [hits where said, clips saying it, false alarms by voice]
  const table = new Map<string, { hit: number; said: number; false: Record<string, number> }[]>();
  for (const p of KEYPHRASES)
    table.set(
      p.phrase,
      SCALES.map(() => ({ hit: 0, said: 0, false: {} })),
    );
  for (const voice of voices) {
    for (const clip of CLIPS) {
      const audio = await decodeAudio(await synthesise(voice, clip.text), 'audio/wav');
      const speech = await detectSpeech(audio.samples, vad);
      for (const [i, s] of spotters.entries()) {
        const heard = new Set((await s.spot(audio.samples, speech)).map((h) => h.phrase));
        for (const p of KEYPHRASES) {
          const cell = table.get(p.phrase)![i]!;
          if (says(clip.text, p.phrase)) {
            cell.said++;
            if (heard.has(p.phrase)) cell.hit++;
          } else if (heard.has(p.phrase)) cell.false[voice] = (cell.false[voice] ?? 0) + 1;
        }
      }
    }
  }
  for (const [phrase, cells] of table)
    console.log(
      JSON.stringify({
        phrase,
        bySCALE: Object.fromEntries(
          cells.map((c, i) => [SCALES[i], `${c.hit}/${c.said} false ${JSON.stringify(c.false)}`]),
        ),
      }),
    );
}
if (values.sweep) {
  await sweep();
  process.exit(0);
}
const cacheDir = join(CACHE_DIR, 'keywords');
mkdirSync(cacheDir, { recursive: true });

interface Row {
  voice: string;
  kind: Kind;
  text: string;
  transcript: string;
  phrases: string[];
  /** Decision per preset, transcript only / with spotted phrases. */
  without: string[];
  with: string[];
  recogniserMs: number;
  spotterMs: number;
  audioMs: number;
}
const rows: Row[] = [];
for (const voice of voices) {
  for (const clip of CLIPS) {
    const wav = await synthesise(voice, clip.text);
    const audio = await decodeAudio(wav, 'audio/wav');
    const speech = await detectSpeech(audio.samples, vad);
    const key = createHash('sha256').update(wav).update(recognizer.version).digest('hex').slice(0, 16);
    const cached = join(cacheDir, `${key}.json`);
    let segments: TranscriptSegment[];
    let recogniserMs: number;
    if (existsSync(cached)) {
      ({ segments, recogniserMs } = JSON.parse(readFileSync(cached, 'utf8')));
    } else {
      const t = performance.now();
      segments = await recognizer.transcribe(audio.samples, speech);
      recogniserMs = performance.now() - t;
      writeFileSync(cached, JSON.stringify({ segments, recogniserMs }));
    }
    const t = performance.now();
    const keywords = await spotter.spot(audio.samples, speech);
    const spotterMs = performance.now() - t;
    const decide = async (transcript: Transcript) => {
      const out = emptyCollected('audio/wav');
      addTranscript(out, transcript, 'clip');
      if (Object.keys(out.channels).length === 0 && !out.spotted) return policies.map(() => 'allow');
      const scored = await score(out, gateway);
      return policies.map((p) => applyPolicy(p, scored.categories as Record<string, number>).decision);
    };
    const base: Transcript = { speech, segments, partial: false, keywords: [] };
    const row: Row = {
      voice,
      ...clip,
      transcript: segments.map((s) => s.text).join(' '),
      phrases: keywords.map((k) => k.phrase),
      without: await decide(base),
      with: await decide({ ...base, keywords }),
      recogniserMs,
      spotterMs,
      audioMs: audio.durationMs,
    };
    rows.push(row);
    if (values.show)
      console.log(
        `[${voice}] ${clip.kind.padEnd(9)} ${JSON.stringify(clip.text)} → ${JSON.stringify(row.transcript)}; spotted ${JSON.stringify(row.phrases)}; balanced ${row.without[1]} → ${row.with[1]}`,
      );
  }
}

const harmful = (k: Kind) => k === 'threat' || k === 'slur';
const flagged = (d: string | undefined) => d === 'review' || d === 'block';
/** Per group of rows: spotted clips, and clips flagged (review or block) per preset without and with. */
function summary(label: string, group: Row[]) {
  const n = group.length;
  const count = (f: (r: Row) => boolean) => group.filter(f).length;
  const byPreset = (side: 'without' | 'with') =>
    Object.fromEntries(
      policies.map((p, i) => [
        p.name,
        `${count((r) => flagged(r[side][i]))}/${n} (block ${count((r) => r[side][i] === 'block')})`,
      ]),
    );
  return {
    group: label,
    clips: n,
    spotted: count((r) => r.phrases.length > 0),
    flaggedTranscriptOnly: byPreset('without'),
    flaggedWithKeywords: byPreset('with'),
  };
}
for (const [label, keep] of [
  ['harmful (threat + slur)', (r: Row) => harmful(r.kind)],
  ['benign (near-miss + plain)', (r: Row) => !harmful(r.kind)],
  ['near-miss', (r: Row) => r.kind === 'near-miss'],
] as const) {
  console.log(JSON.stringify(summary(`${label}, all voices`, rows.filter(keep))));
  for (const voice of voices)
    console.log(
      JSON.stringify(
        summary(
          `${label}, ${voice}`,
          rows.filter((r) => keep(r) && r.voice === voice),
        ),
      ),
    );
}
const total = (f: (r: Row) => number) => rows.reduce((s, r) => s + f(r), 0);
console.log(
  JSON.stringify({
    clips: rows.length,
    audioS: Number((total((r) => r.audioMs) / 1000).toFixed(1)),
    recogniserMsPerClip: Math.round(total((r) => r.recogniserMs) / rows.length),
    spotterMsPerClip: Math.round(total((r) => r.spotterMs) / rows.length),
  }),
);
