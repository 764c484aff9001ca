/**
 * The media branches of `collect` (shared/moderation/collect.ts): text inside images (OCR), frames of
 * animated images, audio (speech → transcript) and video (frames + OCR + sound track). Each becomes
 * model inputs with the time it came from, so verdict evidence can name a frame or a time range.
 */
import { animationFrames } from '#shared/extract/animation.ts';
import { type DecodedAudio, decodeAudio } from '#shared/extract/audio.ts';
import { extractImage } from '#shared/extract/image.ts';
import { defaultOcrEngine, type OcrEngine, type OcrInput, ocrImage } from '#shared/extract/ocr.ts';
import { extractText } from '#shared/extract/text.ts';
import { extractVideo } from '#shared/extract/video.ts';
import { LIMITS, type MediaLimits, mediaLimits } from '#shared/ingest/limits.ts';
import type { Sniffed } from '#shared/ingest/sniff.ts';
import { defaultSpeechDeps, type SpeechDeps, transcribe } from '#shared/speech/transcribe.ts';
import type { Collected, ImageItem } from './collect.ts';

/** Text found in media (OCR, speech), where it came from and when. */
export interface MediaTextItem {
  source: string;
  text: string;
  /** Frame time (video, animation) or speech start, ms. */
  timestampMs?: number;
  /** [first, last] frame time the text was seen, or the speech range, ms. */
  timeRangeMs?: [number, number];
}

/** What the media branches need; tests pass their own, the pipeline the process-wide defaults. */
export interface MediaDeps {
  ocr: () => OcrEngine | undefined;
  speech: () => Promise<SpeechDeps>;
}

export const defaultMediaDeps: MediaDeps = {
  ocr: () => defaultOcrEngine(),
  speech: defaultSpeechDeps,
};

/** The media parts of `Collected`. */
export type MediaCollected = Pick<Collected, 'images' | 'ocr' | 'speech' | 'partial' | 'notes' | 'engines'>;

const empty = (): MediaCollected => ({ images: [], ocr: [], speech: [], partial: false });

/** Adds media results into a collection (one upload, or a post and its media). */
export function mergeMedia(target: Collected, extra: Partial<MediaCollected>): Collected {
  if (extra.images?.length) target.images.push(...extra.images);
  if (extra.ocr?.length) target.ocr = [...(target.ocr ?? []), ...extra.ocr];
  if (extra.speech?.length) target.speech = [...(target.speech ?? []), ...extra.speech];
  if (extra.partial) target.partial = true;
  if (extra.notes?.length) target.notes = [...(target.notes ?? []), ...extra.notes];
  if (extra.engines) target.engines = { ...target.engines, ...extra.engines };
  return target;
}

/** Records that part of the upload went unscored, and why (it becomes a verdict reason). */
function unscored(out: MediaCollected, why: string): void {
  out.partial = true;
  out.notes = [...(out.notes ?? []), why];
}

/**
 * OCR over a list of frames. Text identical to an earlier frame's is not scored again: the first
 * item's time range is widened instead, so evidence says when the text was on screen.
 */
async function ocrFrames(
  frames: { input: OcrInput; page?: number; timestampMs?: number }[],
  source: string,
  engine: OcrEngine | undefined,
  out: MediaCollected,
): Promise<void> {
  if (!engine) return;
  out.engines = { ...out.engines, ocr: engine.name };
  const byText = new Map<string, MediaTextItem[]>();
  for (const frame of frames) {
    const result = await ocrImage(frame.input, engine, frame.page === undefined ? {} : { page: frame.page });
    if (result.skipped === 'timeout') {
      const where = frame.timestampMs === undefined ? 'the image' : `the frame at ${frame.timestampMs} ms`;
      unscored(out, `text in ${where} was not read (OCR time limit)`);
    }
    if (result.partial) out.partial = true;
    if (!result.text) continue;
    const seen = byText.get(result.text);
    if (seen) {
      for (const item of seen) {
        if (frame.timestampMs !== undefined && item.timeRangeMs) item.timeRangeMs[1] = frame.timestampMs;
      }
      continue;
    }
    const items = extractText(result.text).windows.map(
      (w): MediaTextItem => ({
        source,
        text: w.text,
        ...(frame.timestampMs !== undefined && {
          timestampMs: frame.timestampMs,
          timeRangeMs: [frame.timestampMs, frame.timestampMs] as [number, number],
        }),
      }),
    );
    byText.set(result.text, items);
    out.ocr?.push(...items);
  }
}

/** For an image already in the image channel: the text in it, and the other frames if it is animated. */
export async function collectImageExtras(
  bytes: Uint8Array,
  source: string,
  imageSize: number,
  deps: MediaDeps = defaultMediaDeps,
): Promise<MediaCollected> {
  const out = empty();
  const frames = await animationFrames(bytes, LIMITS.video.maxAnimationFrames);
  for (const f of frames) {
    if (f.page === 0) continue; // already scored as the image itself
    const { pixels } = await extractImage(bytes, imageSize, LIMITS.image, f.page);
    out.images.push({ source, pixels, timestampMs: f.timestampMs });
  }
  const pages = frames.length ? frames : [{ page: 0, timestampMs: undefined }];
  await ocrFrames(
    pages.map((f) => ({
      input: bytes,
      page: f.page,
      ...(f.timestampMs !== undefined && { timestampMs: f.timestampMs }),
    })),
    source,
    deps.ocr(),
    out,
  );
  return out;
}

/** Transcript segments grouped into windows of at most `windowChars`, each with its time range. */
function speechItems(
  segments: { startMs: number; endMs: number; text: string }[],
  source: string,
): MediaTextItem[] {
  const items: MediaTextItem[] = [];
  let current: MediaTextItem | undefined;
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

async function collectSpeech(
  audio: DecodedAudio,
  source: string,
  deps: MediaDeps,
  out: MediaCollected,
  maxTranscriptChars: number,
) {
  const transcript = await transcribe(audio, await deps.speech(), maxTranscriptChars);
  out.engines = { ...out.engines, vad: 'silero-vad-v5' };
  if (transcript.engine)
    out.engines['speech-to-text'] = `${transcript.engine.name}@${transcript.engine.version}`;
  out.speech?.push(...speechItems(transcript.segments, source));
  if (transcript.partial) unscored(out, 'the transcript was cut at its character limit');
}

/**
 * Audio or video upload → model inputs (Collected with no typed text), under the limits of one mode
 * (synchronous by default; the long-media path passes `mediaLimits('long')`).
 */
export async function collectMedia(
  bytes: Uint8Array,
  sniffed: Sniffed,
  source: string,
  imageSize: number,
  deps: MediaDeps = defaultMediaDeps,
  limits: MediaLimits = mediaLimits('sync'),
): Promise<Collected> {
  const out = empty();
  const maxChars = limits.audio.maxTranscriptChars;
  if (sniffed.kind === 'audio') {
    await collectSpeech(await decodeAudio(bytes, sniffed.mime, limits.audio), source, deps, out, maxChars);
  } else {
    const video = await extractVideo(bytes, sniffed.mime, limits.video, limits.audio);
    for (const frame of video.frames) {
      const { pixels } = await extractImage(frame.png, imageSize);
      out.images.push({ source, pixels, timestampMs: frame.timestampMs } satisfies ImageItem);
    }
    await ocrFrames(
      video.frames.map((f) => ({ input: f.png, timestampMs: f.timestampMs })),
      source,
      deps.ocr(),
      out,
    );
    if (video.audio) await collectSpeech(video.audio, source, deps, out, maxChars);
  }
  return { contentType: sniffed.mime, texts: [], ...out };
}
