/**
 * Speech-to-text behind one interface, chosen by configuration (`SPEECH_ENGINE`):
 *
 * - `pocketsphinx` (default): CMU PocketSphinx from Debian (`pocketsphinx`, `pocketsphinx-en-us`),
 *   the only recogniser that works offline here. Weak on real speech; see docs/MEDIA.md for its
 *   measured word error rate.
 * - `whisper`: Whisper encoder + decoder ONNX graphs from `WHISPER_MODEL_DIR` (greedy decoding,
 *   tokenizer vocabulary from JSON) — for a deployment that has exported real Whisper weights.
 * - `none`: no transcription; audio then contributes nothing but its speech time ranges.
 *
 * Unknown names are rejected with the list of known ones.
 */
import type { SpeechSegment } from './vad.ts';

/** Recognised text for one stretch of audio. */
export interface TranscriptSegment extends SpeechSegment {
  text: string;
}

export interface SpeechRecognizer {
  readonly name: string;
  /** Stamped on verdicts under modelVersions. */
  readonly version: string;
  /** Transcribes the speech `segments` of 16 kHz mono `samples`; segments with no words are left out. */
  transcribe(samples: Float32Array, segments: readonly SpeechSegment[]): Promise<TranscriptSegment[]>;
  close?(): Promise<void>;
}

export class UnknownSpeechEngineError extends Error {
  override name = 'UnknownSpeechEngineError';
}

const ENGINES: Record<string, () => Promise<SpeechRecognizer | undefined>> = {
  async pocketsphinx() {
    const { pocketsphinxRecognizer, pocketsphinxConfigFromEnv } = await import('./pocketsphinx.ts');
    return pocketsphinxRecognizer(pocketsphinxConfigFromEnv());
  },
  async whisper() {
    const { loadWhisperRecognizer } = await import('./whisper.ts');
    const dir = process.env.WHISPER_MODEL_DIR;
    if (!dir) throw new UnknownSpeechEngineError('SPEECH_ENGINE=whisper needs WHISPER_MODEL_DIR');
    return loadWhisperRecognizer(dir);
  },
  async none() {
    return undefined;
  },
};

export const SPEECH_ENGINES = Object.keys(ENGINES);

/** The recogniser named by `name` (default: `SPEECH_ENGINE`, else pocketsphinx); undefined for `none`. */
export async function createRecognizer(
  name = process.env.SPEECH_ENGINE || 'pocketsphinx',
): Promise<SpeechRecognizer | undefined> {
  const make = ENGINES[name];
  if (!make) {
    throw new UnknownSpeechEngineError(
      `unknown SPEECH_ENGINE ${JSON.stringify(name)}; known: ${SPEECH_ENGINES.join(', ')}`,
    );
  }
  return make();
}

/**
 * Assigns time-stamped words to the speech segments they fall in (by the word's midpoint, with
 * `slackMs` either side); words outside every segment are dropped: the VAD decides what is speech.
 */
export function wordsToSegments(
  words: readonly { word: string; startMs: number; endMs: number }[],
  segments: readonly SpeechSegment[],
  slackMs = 250,
): TranscriptSegment[] {
  const texts = segments.map(() => [] as string[]);
  for (const w of words) {
    const mid = (w.startMs + w.endMs) / 2;
    const i = segments.findIndex((s) => mid >= s.startMs - slackMs && mid <= s.endMs + slackMs);
    if (i >= 0) texts[i]?.push(w.word);
  }
  return segments
    .map((s, i) => ({ ...s, text: (texts[i] ?? []).join(' ') }))
    .filter((s) => s.text.length > 0);
}
