/**
 * Audio files (wav, mp3, ogg/opus, m4a/aac, flac) and video sound tracks → 16 kHz mono float PCM,
 * decoded by ffmpeg under the limits in shared/media/ffmpeg.ts. Media longer than the synchronous
 * limit is refused with `TOO_LONG_FOR_SYNC` before anything is decoded when the header says so,
 * and again from the decoded length when the header lies or says nothing.
 */
import { ModerationError } from '#shared/domain/errors.ts';
import { type AudioLimits, LIMITS, type MediaMode } from '#shared/ingest/limits.ts';
import {
  DEFAULT_MEDIA_TOOLS,
  DEMUXERS,
  inputArgs,
  MediaDecodeError,
  MediaTimeoutError,
  type MediaTools,
  type ProbeResult,
  probe,
  runTool,
  withTempInput,
} from '#shared/media/ffmpeg.ts';

export const SAMPLE_RATE = 16_000;

export interface DecodedAudio {
  /** 16 kHz mono, float32 in [-1, 1]. */
  samples: Float32Array;
  durationMs: number;
}

/** The ffmpeg arguments that decode a file's first audio stream to 16 kHz mono f32le on stdout. */
export function audioDecodeArgs(demuxer: string, path: string, maxDurationS: number): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    '2',
    ...inputArgs(demuxer, path),
    // One second past the limit, so "longer than the limit" is seen rather than silently cut.
    '-t',
    String(maxDurationS + 1),
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-ac',
    '1',
    '-ar',
    String(SAMPLE_RATE),
    '-f',
    'f32le',
    'pipe:1',
  ];
}

export function demuxerFor(mime: string): string {
  const demuxer = DEMUXERS[mime];
  if (!demuxer)
    throw new ModerationError('UNSUPPORTED_TYPE', `content is ${mime}, which this pipeline does not decode`);
  return demuxer;
}

export function tooLong(
  kind: string,
  durationS: number,
  limitS: number,
  mode: MediaMode = 'sync',
): ModerationError {
  if (mode === 'long') {
    return new ModerationError(
      'TOO_LONG',
      `${kind} is ${durationS.toFixed(1)} s; the long-media limit is ${limitS} s`,
    );
  }
  return new ModerationError(
    'TOO_LONG_FOR_SYNC',
    `${kind} is ${durationS.toFixed(1)} s; the synchronous limit is ${limitS} s (longer media needs the asynchronous path, docs/MEDIA.md)`,
  );
}

/** Maps a media tool failure on an upload to its error code; anything else (a missing binary) is rethrown. */
export function mediaError(
  err: unknown,
  code: 'AUDIO_DECODE_FAILED' | 'VIDEO_DECODE_FAILED',
  what: string,
): unknown {
  if (err instanceof MediaTimeoutError)
    return new ModerationError('MEDIA_DECODE_TIMEOUT', err.message, { cause: err });
  if (err instanceof MediaDecodeError)
    return new ModerationError(code, `${what} could not be decoded: ${err.message}`, { cause: err });
  return err;
}

/** Decodes the first audio stream of a media file already on disk. */
export async function decodeAudioFile(
  path: string,
  demuxer: string,
  maxDurationS: number,
  limits: AudioLimits = LIMITS.audio,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Promise<DecodedAudio> {
  const maxSamples = (maxDurationS + 1) * SAMPLE_RATE;
  const { stdout } = await runTool(tools.ffmpeg, audioDecodeArgs(demuxer, path, maxDurationS), {
    timeoutMs: limits.decodeTimeoutMs,
    maxStdoutBytes: maxSamples * 4 + 4,
  });
  const usable = stdout.byteLength - (stdout.byteLength % 4);
  const samples = new Float32Array(usable / 4);
  new Uint8Array(samples.buffer).set(stdout.subarray(0, usable));
  const durationMs = (samples.length / SAMPLE_RATE) * 1000;
  if (durationMs > maxDurationS * 1000 + 50)
    throw tooLong('audio', durationMs / 1000, maxDurationS, limits.mode);
  return { samples, durationMs };
}

/** Embedded pictures read from one upload; the rest are left unmoderated (and the verdict says so). */
export const MAX_ATTACHED_PICTURES = 4;

/** An audio upload: its sound, and the pictures (cover art) players show beside it, as PNG. */
export interface DecodedAudioUpload extends DecodedAudio {
  pictures: Uint8Array[];
  /** Attached pictures over MAX_ATTACHED_PICTURES, not read. */
  picturesLeftOut: number;
}

/** ffmpeg arguments writing stream `index` (an attached picture) as one PNG on stdout, at most `maxSide` a side. */
export function attachedPictureArgs(demuxer: string, path: string, index: number, maxSide: number): string[] {
  const side = Math.floor(maxSide);
  return [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '2'],
    ...inputArgs(demuxer, path),
    ...['-map', `0:${index}`, '-frames:v', '1'],
    ...['-vf', `scale=w='min(${side},iw)':h='min(${side},ih)':force_original_aspect_ratio=decrease`],
    ...['-c:v', 'png', '-f', 'image2pipe', 'pipe:1'],
  ];
}

/**
 * The cover art of an audio file, decoded by ffmpeg as a player would, after the pixel guard on the
 * size its header states; scaled to the OCR size, then moderated as an image by the audio modality.
 */
async function readAttachedPictures(
  path: string,
  demuxer: string,
  pictures: ProbeResult['attachedPictures'],
  limits: AudioLimits,
  tools: MediaTools,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const picture of pictures.slice(0, MAX_ATTACHED_PICTURES)) {
    if (picture.width * picture.height > LIMITS.image.maxPixels) {
      throw new ModerationError(
        'IMAGE_TOO_MANY_PIXELS',
        `the embedded picture is ${picture.width}×${picture.height}; the limit is ${LIMITS.image.maxPixels} pixels`,
      );
    }
    const { stdout } = await runTool(
      tools.ffmpeg,
      attachedPictureArgs(demuxer, path, picture.index, LIMITS.ocr.maxSide),
      {
        timeoutMs: limits.decodeTimeoutMs,
        maxStdoutBytes: LIMITS.image.maxBytes,
      },
    );
    out.push(stdout);
  }
  return out;
}

/** Decodes an audio upload (sniffed as `mime`) to 16 kHz mono PCM, with its attached pictures. */
export async function decodeAudio(
  bytes: Uint8Array,
  mime: string,
  limits: AudioLimits = LIMITS.audio,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Promise<DecodedAudioUpload> {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `audio is over the ${limits.maxBytes}-byte limit`);
  }
  const demuxer = demuxerFor(mime);
  try {
    return await withTempInput(bytes, async (path) => {
      const info = await probe(path, demuxer, limits.decodeTimeoutMs, tools);
      if (!info.hasAudio) throw new ModerationError('AUDIO_DECODE_FAILED', 'the file has no audio stream');
      if ((info.durationS ?? 0) > limits.maxSyncDurationS)
        throw tooLong('audio', info.durationS ?? 0, limits.maxSyncDurationS, limits.mode);
      const audio = await decodeAudioFile(path, demuxer, limits.maxSyncDurationS, limits, tools);
      if (audio.samples.length === 0)
        throw new ModerationError('AUDIO_DECODE_FAILED', 'the audio stream has no samples');
      const pictures = await readAttachedPictures(path, demuxer, info.attachedPictures, limits, tools);
      return {
        ...audio,
        pictures,
        picturesLeftOut: info.attachedPictures.length - pictures.length,
      };
    });
  } catch (err) {
    throw mediaError(err, 'AUDIO_DECODE_FAILED', 'audio');
  }
}
