/**
 * The engines a moderation run uses beside the models on SageMaker: OCR, voice activity,
 * speech-to-text and ffmpeg. They are dependencies of the handler like its AWS clients
 * (`createHandler(env, { engines })`), chosen by configuration here and nowhere else, created on
 * first use and kept for the handler's life (warm invocations reuse them). Unknown engine names
 * are rejected with the list of known ones.
 */
import type { EngineConfig } from '#shared/contracts/env.ts';
import { type OcrEngine, tesseractEngine } from '#shared/extract/ocr.ts';
import { type MediaLimits, type MediaMode, mediaLimits } from '#shared/ingest/limits.ts';
import type { MediaTools } from '#shared/media/ffmpeg.ts';
import type { KeywordSpotter } from '#shared/speech/keywords.ts';
import type { SpeechRecognizer } from '#shared/speech/recognizer.ts';
import type { SpeechDeps } from '#shared/speech/transcribe.ts';
import { loadSileroVad } from '#shared/speech/vad.ts';

export interface Engines {
  /** Text in images and frames; undefined when OCR_ENGINE=none. */
  ocr(): OcrEngine | undefined;
  /** Voice activity and speech-to-text (the recogniser is absent when SPEECH_ENGINE=none). */
  speech(): Promise<SpeechDeps>;
  /** ffmpeg and ffprobe. */
  media: MediaTools;
  /** Whose audio/video limits apply: the synchronous function's or the long-media one's. */
  mode: MediaMode;
  /** The audio/video limits of that mode (shared/ingest/limits.ts). */
  limits: MediaLimits;
}

export class UnknownEngineError extends Error {
  override name = 'UnknownEngineError';
}

const OCR_ENGINES: Record<string, () => OcrEngine | undefined> = {
  tesseract: tesseractEngine,
  none: () => undefined,
};

type RecognizerFactory = (config: EngineConfig, limits: MediaLimits) => Promise<SpeechRecognizer | undefined>;

const SPEECH_ENGINES: Record<string, RecognizerFactory> = {
  async pocketsphinx(config, limits) {
    const { pocketsphinxRecognizer } = await import('#shared/speech/pocketsphinx.ts');
    // Recognition time grows with the clip: the long-media function gets its mode's longer bound.
    return pocketsphinxRecognizer({ ...config.pocketsphinx, timeoutMs: limits.audio.decodeTimeoutMs });
  },
  async whisper(config) {
    const { loadWhisperRecognizer } = await import('#shared/speech/whisper.ts');
    if (!config.whisperModelDir)
      throw new UnknownEngineError('SPEECH_ENGINE=whisper needs WHISPER_MODEL_DIR');
    return loadWhisperRecognizer(config.whisperModelDir);
  },
  async none() {
    return undefined;
  },
};

type SpotterFactory = (config: EngineConfig, limits: MediaLimits) => Promise<KeywordSpotter | undefined>;

const KEYWORD_SPOTTERS: Record<string, SpotterFactory> = {
  async pocketsphinx(config, limits) {
    const { pocketsphinxKeywordSpotter } = await import('#shared/speech/keywords.ts');
    // Bounded like the recogniser: the same binary, model and time limit.
    return pocketsphinxKeywordSpotter({ ...config.pocketsphinx, timeoutMs: limits.audio.decodeTimeoutMs });
  },
  async none() {
    return undefined;
  },
};

export const OCR_ENGINE_NAMES = Object.keys(OCR_ENGINES);
export const SPEECH_ENGINE_NAMES = Object.keys(SPEECH_ENGINES);
export const KEYWORD_SPOTTER_NAMES = Object.keys(KEYWORD_SPOTTERS);

function pick<T>(registry: Record<string, T>, variable: string, name: string): T {
  const found = registry[name];
  if (!found) {
    throw new UnknownEngineError(
      `unknown ${variable} ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`,
    );
  }
  return found;
}

/** The OCR engine named `name` (tesseract, none). */
export function createOcrEngine(name: string): OcrEngine | undefined {
  return pick(OCR_ENGINES, 'OCR_ENGINE', name)();
}

/** The speech recogniser of `config.speech` (pocketsphinx, whisper, none); undefined for none. */
export function createRecognizer(
  config: EngineConfig,
  limits: MediaLimits = mediaLimits('sync'),
): Promise<SpeechRecognizer | undefined> {
  return pick(SPEECH_ENGINES, 'SPEECH_ENGINE', config.speech)(config, limits);
}

/** The keyword spotter of `config.keywords` (pocketsphinx, none); undefined for none. */
export function createKeywordSpotter(
  config: EngineConfig,
  limits: MediaLimits = mediaLimits('sync'),
): Promise<KeywordSpotter | undefined> {
  return pick(KEYWORD_SPOTTERS, 'SPEECH_KEYWORDS', config.keywords)(config, limits);
}

/** Voice activity, recogniser and keyword spotter together, as transcription needs them. */
export async function createSpeechDeps(
  config: EngineConfig,
  limits: MediaLimits = mediaLimits('sync'),
): Promise<SpeechDeps> {
  const [vad, recognizer, spotter] = await Promise.all([
    loadSileroVad(config.vadModelPath),
    createRecognizer(config, limits),
    createKeywordSpotter(config, limits),
  ]);
  return { vad, ...(recognizer && { recognizer }), ...(spotter && { spotter }) };
}

/**
 * The engines of one configuration, each created on first use. Names are checked now, so a bad
 * OCR_ENGINE or SPEECH_ENGINE fails at cold start rather than on the first image or clip.
 */
export function createEngines(config: EngineConfig, mode: MediaMode = 'sync'): Engines {
  const makeOcr = pick(OCR_ENGINES, 'OCR_ENGINE', config.ocr);
  pick(SPEECH_ENGINES, 'SPEECH_ENGINE', config.speech);
  pick(KEYWORD_SPOTTERS, 'SPEECH_KEYWORDS', config.keywords);
  if (config.speech === 'whisper' && !config.whisperModelDir)
    throw new UnknownEngineError('SPEECH_ENGINE=whisper needs WHISPER_MODEL_DIR');
  const limits = mediaLimits(mode);
  let ocr: { engine: OcrEngine | undefined } | undefined;
  let speech: Promise<SpeechDeps> | undefined;
  return {
    ocr: () => {
      ocr ??= { engine: makeOcr() };
      return ocr.engine;
    },
    speech: () => {
      speech ??= createSpeechDeps(config, limits).catch((err) => {
        // A failed load (a missing model file) is retried by the next upload, not cached.
        speech = undefined;
        throw err;
      });
      return speech;
    },
    media: config.ffmpeg,
    mode,
    limits,
  };
}
