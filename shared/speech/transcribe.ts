/**
 * Audio → speech segments (VAD) → transcript segments (recogniser), and the listed threat and slur
 * phrases heard in the same speech (keyword spotter). The models are engines
 * (shared/engines/engines.ts), created once per handler and reused by warm invocations.
 */
import type { DecodedAudio } from '#shared/extract/audio.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import type { KeywordHit, KeywordSpotter } from './keywords.ts';
import type { SpeechRecognizer, TranscriptSegment } from './recognizer.ts';
import { detectSpeech, type SpeechSegment, type VadModel } from './vad.ts';

export interface SpeechDeps {
  vad: VadModel;
  /** Undefined when SPEECH_ENGINE=none. */
  recognizer?: SpeechRecognizer;
  /** Undefined when SPEECH_KEYWORDS=none. */
  spotter?: KeywordSpotter;
}

export interface Transcript {
  speech: SpeechSegment[];
  segments: TranscriptSegment[];
  /** Transcript text over `maxTranscriptChars` was dropped. */
  partial: boolean;
  /** `name@version` of the recogniser, for modelVersions. */
  engine?: { name: string; version: string };
  /** Listed phrases heard in the speech (empty without a spotter). */
  keywords: KeywordHit[];
  /** `name@version` of the keyword spotter, for modelVersions. */
  spotter?: { name: string; version: string };
}

/** The recogniser's segments, up to the transcript character limit. */
function withinLimit(
  all: TranscriptSegment[],
  maxChars: number,
): { segments: TranscriptSegment[]; partial: boolean } {
  const segments: TranscriptSegment[] = [];
  let chars = 0;
  for (const s of all) {
    if (chars + s.text.length > maxChars) return { segments, partial: true };
    chars += s.text.length + 1;
    segments.push(s);
  }
  return { segments, partial: false };
}

/** Finds the speech in decoded audio, transcribes it within the character limit, and spots the listed phrases. */
export async function transcribe(
  audio: DecodedAudio,
  deps: SpeechDeps,
  maxChars = LIMITS.audio.maxTranscriptChars,
): Promise<Transcript> {
  const speech = await detectSpeech(audio.samples, deps.vad);
  const { recognizer, spotter } = deps;
  const names = {
    ...(recognizer && { engine: { name: recognizer.name, version: recognizer.version } }),
    ...(spotter && { spotter: { name: spotter.name, version: spotter.version } }),
  };
  if (speech.length === 0) return { speech, segments: [], partial: false, keywords: [], ...names };
  // Two single-threaded subprocesses: side by side they take the time of the longer one on two cores.
  const [all, keywords] = await Promise.all([
    recognizer ? recognizer.transcribe(audio.samples, speech) : [],
    spotter ? spotter.spot(audio.samples, speech) : [],
  ]);
  return { speech, ...withinLimit(all, maxChars), keywords, ...names };
}
