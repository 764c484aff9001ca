/**
 * Audio → speech segments (VAD) → transcript segments (recogniser). The models are engines
 * (shared/engines/engines.ts), created once per handler and reused by warm invocations.
 */
import type { DecodedAudio } from '#shared/extract/audio.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import type { SpeechRecognizer, TranscriptSegment } from './recognizer.ts';
import { detectSpeech, type SpeechSegment, type VadModel } from './vad.ts';

export interface SpeechDeps {
  vad: VadModel;
  /** Undefined when SPEECH_ENGINE=none. */
  recognizer?: SpeechRecognizer;
}

export interface Transcript {
  speech: SpeechSegment[];
  segments: TranscriptSegment[];
  /** Transcript text over `maxTranscriptChars` was dropped. */
  partial: boolean;
  /** `name@version` of the recogniser, for modelVersions. */
  engine?: { name: string; version: string };
}

/** Finds the speech in decoded audio and transcribes it, within the transcript character limit. */
export async function transcribe(
  audio: DecodedAudio,
  deps: SpeechDeps,
  maxChars = LIMITS.audio.maxTranscriptChars,
): Promise<Transcript> {
  const speech = await detectSpeech(audio.samples, deps.vad);
  const engine = deps.recognizer && { name: deps.recognizer.name, version: deps.recognizer.version };
  if (!deps.recognizer || speech.length === 0)
    return { speech, segments: [], partial: false, ...(engine ? { engine } : {}) };
  const all = await deps.recognizer.transcribe(audio.samples, speech);
  const segments: TranscriptSegment[] = [];
  let chars = 0;
  for (const s of all) {
    if (chars + s.text.length > maxChars)
      return { speech, segments, partial: true, ...(engine ? { engine } : {}) };
    chars += s.text.length + 1;
    segments.push(s);
  }
  return { speech, segments, partial: false, ...(engine ? { engine } : {}) };
}
