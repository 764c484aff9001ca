/** Audio: decoded to 16 kHz PCM, speech found by voice activity, transcribed, and the transcript scored as text. */

import type { Engines } from '#shared/engines/engines.ts';
import { type DecodedAudio, decodeAudio } from '#shared/extract/audio.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { transcribe } from '#shared/speech/transcribe.ts';
import { IMAGE_CHANNEL, imageModality, OCR_CHANNEL } from './image.ts';
import { TEXT_MODEL_CATEGORIES } from './text.ts';
import {
  addItems,
  type Collected,
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

/** The speech in decoded audio (an upload, or a video's sound track) into the speech channel. */
export async function collectSpeech(
  audio: DecodedAudio,
  source: string,
  engines: Engines,
  out: Collected,
): Promise<void> {
  const transcript = await transcribe(audio, await engines.speech(), engines.limits.audio.maxTranscriptChars);
  out.engines = { ...out.engines, vad: 'silero-vad-v5' };
  if (transcript.engine)
    out.engines['speech-to-text'] = `${transcript.engine.name}@${transcript.engine.version}`;
  addItems(out, SPEECH_CHANNEL, speechItems(transcript.segments, source));
  if (transcript.partial) unscored(out, 'the transcript was cut at its character limit');
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
