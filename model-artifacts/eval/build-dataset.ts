/**
 * Builds the multimodal evaluation set (see dataset.ts) into .local/eval-cache/:
 *
 * - picks texts of the text model's validation and test splits, stratified by label (violence, hate,
 *   harassment, sexual, offensive only, benign), 15–160 characters once URLs and mentions are dropped;
 * - renders each picked text into a picture (render.ts: machine fonts, sizes, colours, backgrounds,
 *   rotation, blur, noise, JPEG) and reads it back with the pipeline's OCR (shared/extract/ocr.ts);
 * - speaks other picked texts with flite (varied voices, rates, some with added noise), decodes
 *   them with the pipeline's ffmpeg path (shared/extract/audio.ts) and transcribes them with the
 *   pipeline's VAD + recogniser (shared/speech/transcribe.ts, SPEECH_ENGINE, default pocketsphinx).
 *
 * - (CLI) puts pairs of test pictures and clips into short MP4 videos and runs them through the
 *   pipeline's media path (videos.ts).
 *
 * A cache built by the same DATASET_VERSION and configuration is reused as it is.
 *
 *   npm run eval:data [-- --images 150 --speech 50 --dir DIR --force]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { mulberry32, type Rng } from '#model-artifacts/fusion/compose.ts';
import { type LabelledText, loadCorpus } from '#model-artifacts/text-model/data.ts';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createRecognizer } from '#shared/engines/engines.ts';
import { decodeAudio } from '#shared/extract/audio.ts';
import { ocrImage, tesseractEngine } from '#shared/extract/ocr.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { transcribe } from '#shared/speech/transcribe.ts';
import { loadSileroVad } from '#shared/speech/vad.ts';
import {
  CACHE_DIR,
  DATASET_VERSION,
  datasetPath,
  type EvalDataset,
  type EvalSplit,
  type ImageRecord,
  REPO,
  readDataset,
  type SourceText,
  type SpeechRecord,
} from './dataset.ts';
import { availableFonts, displayText, drawStyle, renderText } from './render.ts';
import { buildVideos } from './videos.ts';

const run = promisify(execFile);
export const DATASET_SEED = 20_240_615;
export const DEFAULTS = { imagesPerSplit: 150, speechPerSplit: 50 };

const log = (msg: string): void => {
  process.stderr.write(`[eval:data] ${msg}\n`);
};

/** Label strata and the share of each in a pick: harm is over-represented so every category has positives. */
const known = (e: LabelledText, k: number, v: number): boolean => e.mask[k] === 1 && e.y[k] === v;
const STRATA = [
  { name: 'violence', share: 0.15, test: (e: LabelledText) => known(e, 3, 1) },
  { name: 'hate', share: 0.15, test: (e: LabelledText) => known(e, 0, 1) && !known(e, 3, 1) },
  {
    name: 'harassment',
    share: 0.15,
    test: (e: LabelledText) => known(e, 1, 1) && !known(e, 0, 1) && !known(e, 3, 1),
  },
  { name: 'sexual', share: 0.05, test: (e: LabelledText) => known(e, 4, 1) },
  {
    name: 'offensive only',
    share: 0.15,
    test: (e: LabelledText) => known(e, 2, 1) && [0, 1, 3, 4].every((k) => e.y[k] === 0),
  },
  {
    name: 'benign',
    share: 0.35,
    test: (e: LabelledText) => e.mask.every((m) => m === 1) && e.y.every((y) => y === 0),
  },
] as const;

function shuffle<T>(xs: T[], rnd: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** Picks `n` texts of one split by strata, skipping ones in `taken`; each text is used once. */
export function pickTexts(
  examples: readonly LabelledText[],
  split: EvalSplit,
  n: number,
  rnd: Rng,
  taken: Set<string>,
): SourceText[] {
  const usable = examples.filter((e) => {
    if (e.split !== split || taken.has(e.normalised)) return false;
    const shown = displayText(e.text);
    return shown.length >= 15 && shown.length <= 160 && shown.split(' ').length >= 3;
  });
  const out: SourceText[] = [];
  for (const stratum of STRATA) {
    const pool = shuffle(
      usable.filter((e) => stratum.test(e) && !taken.has(e.normalised)),
      rnd,
    );
    for (const e of pool.slice(0, Math.round(n * stratum.share))) {
      taken.add(e.normalised);
      out.push({
        key: e.normalised,
        split,
        source: e.source,
        raw: e.text,
        shown: displayText(e.text),
        y: e.y,
        mask: e.mask,
      });
    }
  }
  return shuffle(out, rnd);
}

/**
 * flite voices the clips are spoken in. espeak-ng was tried first: pocketsphinx transcribed its
 * formant voice at ~99% word error rate (no signal left for the speech channel to learn from);
 * flite's diphone/cluster voices come out at ~21% (docs/MEDIA.md), closer to real speech.
 */
const VOICES = ['slt', 'kal', 'awb', 'rms', 'kal16'];

async function renderImages(texts: SourceText[], rnd: Rng, dir: string): Promise<Omit<ImageRecord, 'ocr'>[]> {
  const fonts = availableFonts();
  const out: Omit<ImageRecord, 'ocr'>[] = [];
  for (const [i, t] of texts.entries()) {
    const style = drawStyle(rnd, fonts);
    const bytes = await renderText(t.shown, style, rnd);
    const id = `${t.split}-img-${String(i).padStart(4, '0')}`;
    const file = `images/${id}.${style.jpegQuality > 0 ? 'jpg' : 'png'}`;
    writeFileSync(join(dir, file), bytes);
    const meta = await sharp(bytes).metadata();
    out.push({ ...t, id, file, style, width: meta.width ?? 0, height: meta.height ?? 0 });
  }
  return out;
}

const BUILD_OCR_LIMITS = { ...LIMITS.ocr, timeoutMs: 120_000 };

async function readImages(records: Omit<ImageRecord, 'ocr'>[], dir: string): Promise<ImageRecord[]> {
  const engine = tesseractEngine();
  const out: ImageRecord[] = [];
  try {
    for (const [i, r] of records.entries()) {
      // The build's own deadline, generous: on a loaded 2-core machine OCR can take longer than the
      // pipeline's limit, and an abandoned recognition leaves tesseract.js's worker unusable.
      const result = await ocrImage(readFileSync(join(dir, r.file)), engine, { limits: BUILD_OCR_LIMITS });
      out.push({
        ...r,
        ocr: {
          text: result.text,
          confidence: result.confidence,
          ms: result.ms,
          ...(result.skipped ? { skipped: result.skipped } : {}),
        },
      });
      if ((i + 1) % 50 === 0) log(`OCR ${i + 1}/${records.length}`);
    }
  } finally {
    await engine.close();
  }
  return out;
}

/** Clips transcribed at once: each recognition is its own pocketsphinx process (≈1 s of model loading). */
const SPEECH_WORKERS = 2;

/**
 * A recognition that ran over the recogniser's deadline is tried again (up to three times): on a
 * loaded 2-core machine a clip can take longer than on an idle one, and one slow clip must not
 * end a build that has run for minutes.
 */
async function transcribeRetrying(
  audio: Parameters<typeof transcribe>[0],
  vad: Parameters<typeof transcribe>[1]['vad'],
  recognizer: Parameters<typeof transcribe>[1]['recognizer'],
): ReturnType<typeof transcribe> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transcribe(audio, { vad, recognizer });
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || err.name !== 'MediaTimeoutError') throw err;
      log(`recognition ran over its deadline, attempt ${attempt + 1}`);
    }
  }
}

async function speak(texts: SourceText[], rnd: Rng, dir: string): Promise<SpeechRecord[]> {
  const vad = await loadSileroVad();
  const recognizer = await createRecognizer(readEngineConfig());
  // Every random choice is drawn up front, in order, so the workers' interleaving cannot change them.
  const plans = texts.map((t, i) => {
    const voice = VOICES[Math.floor(rnd() * VOICES.length)] ?? 'en-us';
    const rate = Math.round(130 + rnd() * 60);
    const pitch = Math.round(30 + rnd() * 40);
    const noise = rnd() < 0.3 ? 0.005 + rnd() * 0.02 : 0;
    return { t, i, voice, rate, pitch, noise, id: `${t.split}-speech-${String(i).padStart(4, '0')}` };
  });
  const out: (SpeechRecord | undefined)[] = plans.map(() => undefined);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let k = next++; k < plans.length; k = next++) {
      const { t, i, voice, rate, noise, id } = plans[k] as (typeof plans)[number];
      const file = `audio/${id}.wav`;
      const path = join(dir, file);
      // rate (words per minute, 130–190) becomes flite's duration stretch around its ~160 wpm default.
      const stretch = (160 / rate).toFixed(2);
      await run('flite', [
        '-voice',
        voice,
        '--setf',
        `duration_stretch=${stretch}`,
        '-t',
        t.shown,
        '-o',
        path,
      ]);
      const audio = await decodeAudio(readFileSync(path), 'audio/wav');
      if (noise > 0) {
        const r = mulberry32(DATASET_SEED + i);
        for (let j = 0; j < audio.samples.length; j++) {
          audio.samples[j] = (audio.samples[j] ?? 0) + (r() + r() + r() - 1.5) * 2 * noise;
        }
      }
      const started = performance.now();
      const result = recognizer
        ? await transcribeRetrying(audio, vad, recognizer)
        : { segments: [], engine: undefined };
      out[k] = {
        ...t,
        id,
        file,
        voice,
        rate,
        noise: Math.round(noise * 1e4) / 1e4,
        durationMs: Math.round(audio.durationMs),
        transcript: result.segments.map((s) => s.text).join(' '),
        engine: result.engine ? `${result.engine.name}@${result.engine.version}` : 'none',
        ms: Math.round(performance.now() - started),
      };
      if (++done % 20 === 0) log(`speech ${done}/${texts.length}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: SPEECH_WORKERS }, worker));
  } finally {
    await recognizer?.close?.();
  }
  return out.filter((r): r is SpeechRecord => r !== undefined);
}

export interface BuildOptions {
  imagesPerSplit?: number;
  speechPerSplit?: number;
  dataDir?: string;
  dir?: string;
  force?: boolean;
}

/** Builds (or reuses) the cached dataset and returns it. */
export async function buildDataset(options: BuildOptions = {}): Promise<EvalDataset> {
  const imagesPerSplit = options.imagesPerSplit ?? DEFAULTS.imagesPerSplit;
  const speechPerSplit = options.speechPerSplit ?? DEFAULTS.speechPerSplit;
  const dir = options.dir ?? CACHE_DIR;
  const fonts = availableFonts();
  const cached = readDataset(dir);
  if (
    !options.force &&
    cached !== undefined &&
    cached.config.imagesPerSplit === imagesPerSplit &&
    cached.config.speechPerSplit === speechPerSplit &&
    // Every font the cache was drawn with is still installed, so its pictures are ones this machine
    // renders. Fonts installed since would change the draws of a rebuild (--force uses them).
    cached.config.fonts.every((f) => fonts.includes(f))
  ) {
    log(`reusing ${datasetPath(dir)} (${cached.images.length} images, ${cached.speech.length} clips)`);
    return cached;
  }
  const t0 = performance.now();
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'audio'), { recursive: true });
  const corpus = loadCorpus(options.dataDir ?? resolve(REPO, '../shared/data'));
  const rnd = mulberry32(DATASET_SEED);
  const taken = new Set<string>();
  const imageTexts: SourceText[] = [];
  const speechTexts: SourceText[] = [];
  for (const split of ['validation', 'test'] as const) {
    imageTexts.push(...pickTexts(corpus.examples, split, imagesPerSplit, rnd, taken));
    speechTexts.push(...pickTexts(corpus.examples, split, speechPerSplit, rnd, taken));
  }
  log(`fonts: ${fonts.join(', ')}`);
  const tRender = performance.now();
  const rendered = await renderImages(imageTexts, mulberry32(DATASET_SEED + 1), dir);
  const renderSeconds = (performance.now() - tRender) / 1000;
  log(`rendered ${rendered.length} images in ${renderSeconds.toFixed(1)} s`);
  // OCR (tesseract's worker thread) and speech (ffmpeg + pocketsphinx processes) use different cores.
  const tOcr = performance.now();
  let ocrSeconds = 0;
  let speechSeconds = 0;
  const [images, speech] = await Promise.all([
    readImages(rendered, dir).then((r) => {
      ocrSeconds = (performance.now() - tOcr) / 1000;
      return r;
    }),
    speak(speechTexts, mulberry32(DATASET_SEED + 2), dir).then((r) => {
      speechSeconds = (performance.now() - tOcr) / 1000;
      return r;
    }),
  ]);
  const dataset: EvalDataset = {
    version: DATASET_VERSION,
    createdAt: new Date().toISOString(),
    config: { imagesPerSplit, speechPerSplit, seed: DATASET_SEED, fonts },
    images,
    speech,
    timing: {
      renderSeconds,
      ocrSeconds,
      speechSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
    },
  };
  writeFileSync(datasetPath(dir), `${JSON.stringify(dataset, null, 1)}\n`);
  log(
    `wrote ${datasetPath(dir)}: ${images.length} images (OCR ${ocrSeconds.toFixed(0)} s), ${speech.length} clips (speech ${speechSeconds.toFixed(0)} s), ${dataset.timing.totalSeconds.toFixed(0)} s in all`,
  );
  return dataset;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      images: { type: 'string' },
      speech: { type: 'string' },
      'data-dir': { type: 'string' },
      dir: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  buildDataset({
    ...(values.images ? { imagesPerSplit: Number(values.images) } : {}),
    ...(values.speech ? { speechPerSplit: Number(values.speech) } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values.dir ? { dir: values.dir } : {}),
    force: values.force,
  })
    .then(async (dataset) => {
      const videos = await buildVideos(dataset, values.dir ?? CACHE_DIR);
      log(`${videos.videos.length} test videos ready`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
