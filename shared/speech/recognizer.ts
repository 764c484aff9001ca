/**
 * Speech-to-text behind one interface. The engines (PocketSphinx, Whisper, none) are chosen by
 * configuration in shared/engines/engines.ts; this module holds only what they share.
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
