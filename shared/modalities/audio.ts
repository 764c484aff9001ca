/**
 * Audio: decoded to 16 kHz PCM, speech found by voice activity, transcribed, and the transcript scored
 * as text; listed threat and slur phrases spotted in the same speech join the speech channel.
 */

import type { Evidence } from '#shared/domain/verdict.ts';
import type { Engines } from '#shared/engines/engines.ts';
import { type DecodedAudio, decodeAudio } from '#shared/extract/audio.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { type KeywordHit, SPOTTED_SCORE } from '#shared/speech/keywords.ts';
import { type Transcript, transcribe } from '#shared/speech/transcribe.ts';
import { IMAGE_CHANNEL, imageModality, OCR_CHANNEL } from './image.ts';
import { TEXT_MODEL_CATEGORIES } from './text.ts';
import {
  addItems,
  addSpotted,
  type Collected,
  cleanExcerpt,
  defineChannel,
  emptyCollected,
  type Modality,
  mergeCollected,
  type TextItem,
  textEvidence,
  unscored,
} from './types.ts';

/** Transcribed speech from audio and video: recognition errors make it a channel of its own. */
export const SPEECH_CHANNEL = defineChannel({
  name: 'speech',
  model: 'text',
  categories: TEXT_MODEL_CATEGORIES,
  evidence: textEvidence,
});

/** Transcript segments grouped into windows of at most `windowChars`, each with its time range. */
function speechItems(
  segments: { startMs: number; endMs: number; text: string }[],
  source: string,
): TextItem[] {
  const items: TextItem[] = [];
  let current: TextItem | undefined;
  for (const s of segments) {
    if (current?.timeRangeMs && current.text.length + 1 + s.text.length <= LIMITS.text.windowChars) {
      current.text = `${current.text} ${s.text}`;
      current.timeRangeMs[1] = s.endMs;
      continue;
    }
    current = { source, text: s.text, timestampMs: s.startMs, timeRangeMs: [s.startMs, s.endMs] };
    items.push(current);
  }
  return items;
}

/**
 * Keyword hits as speech evidence: the phrase, when it was heard, its category's spotted score, and
 * what the transcript says in the segment it fell in (where the recogniser heard something else).
 */
export function spottedEvidence(
  hits: readonly KeywordHit[],
  segments: readonly { startMs: number; endMs: number; text: string }[],
  source: string,
): Evidence[] {
  return hits.map((hit) => {
    const mid = (hit.startMs + hit.endMs) / 2;
    const heard = segments.find((s) => mid >= s.startMs && mid <= s.endMs);
    return {
      source,
      keyphrase: hit.phrase,
      ...(heard && { excerpt: cleanExcerpt(heard.text) }),
      timestampMs: hit.startMs,
      timeRangeMs: [hit.startMs, hit.endMs],
      scores: { [hit.category]: SPOTTED_SCORE[hit.category] },
    };
  });
}

/** A transcript's windows and spotted phrases into the speech channel, and its engines into modelVersions. */
export function addTranscript(out: Collected, transcript: Transcript, source: string): void {
  out.engines = { ...out.engines, vad: 'silero-vad-v5' };
  if (transcript.engine)
    out.engines['speech-to-text'] = `${transcript.engine.name}@${transcript.engine.version}`;
  if (transcript.spotter)
    out.engines['keyword-spotting'] = `${transcript.spotter.name}@${transcript.spotter.version}`;
  addItems(out, SPEECH_CHANNEL, speechItems(transcript.segments, source));
  addSpotted(out, SPEECH_CHANNEL.name, spottedEvidence(transcript.keywords, transcript.segments, source));
  if (transcript.partial) unscored(out, 'the transcript was cut at its character limit');
}

/** The speech in decoded audio (an upload, or a video's sound track) into the speech channel. */
export async function collectSpeech(
  audio: DecodedAudio,
  source: string,
  engines: Engines,
  out: Collected,
): Promise<void> {
  addTranscript(
    out,
    await transcribe(audio, await engines.speech(), engines.limits.audio.maxTranscriptChars),
    source,
  );
}

export const audioModality: Modality = {
  name: 'audio',
  kinds: ['audio'],
  // The image channels carry cover art; they are declared (and placed in fusion order) by the image modality.
  channels: [SPEECH_CHANNEL, IMAGE_CHANNEL, OCR_CHANNEL],
  async collect(bytes, sniffed, ctx) {
    const { engines } = ctx;
    const out = emptyCollected(sniffed.mime);
    const audio = await decodeAudio(bytes, sniffed.mime, engines.limits.audio, engines.media);
    await collectSpeech(audio, ctx.source, engines, out);
    // Cover art is shown by every player: moderated as the image it is, under the image limits.
    for (const [i, png] of audio.pictures.entries()) {
      const source = `${ctx.source}#picture-${i + 1}`;
      mergeCollected(
        out,
        await imageModality.collect(png, { kind: 'image', mime: 'image/png' }, { ...ctx, source }),
      );
    }
    if (audio.picturesLeftOut > 0)
      unscored(out, `${audio.picturesLeftOut} more embedded pictures were not moderated`);
    return out;
  },
};
