/**
 * Video files (mp4, webm, mov) → sampled frames with their timestamps, plus the sound track as
 * 16 kHz PCM. Frames are chosen by ffmpeg: the first frame, every scene change (scene score above
 * `sceneThreshold`) and at least one every `frameIntervalS` seconds, at most `maxFrames`, scaled to
 * fit `frameMaxSide` (OCR needs more pixels than the 224² image model). Each frame then goes through
 * the image model and OCR like an image (shared/moderation/collect.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModerationError } from '#shared/domain/errors.ts';
import { type AudioLimits, LIMITS, type VideoLimits } from '#shared/ingest/limits.ts';
import {
  DEFAULT_MEDIA_TOOLS,
  inputArgs,
  type MediaTools,
  probe,
  runTool,
  withTempInput,
} from '#shared/media/ffmpeg.ts';
import { type DecodedAudio, decodeAudioFile, demuxerFor, mediaError, tooLong } from './audio.ts';

export interface VideoFrame {
  /** Presentation time of the frame in the video, ms. */
  timestampMs: number;
  /** The frame as PNG, longer side ≤ frameMaxSide. */
  png: Uint8Array;
}

export interface ExtractedVideo {
  frames: VideoFrame[];
  /** The first audio stream, when the file has one. */
  audio?: DecodedAudio;
  /** Duration stated by the container, when it states one. */
  durationMs?: number;
}

export type FrameSampling = Pick<
  VideoLimits,
  'maxFrames' | 'frameIntervalS' | 'sceneThreshold' | 'frameMaxSide'
>;

/** The ffmpeg filter that picks frames: first, scene changes, and a floor rate; then scale; then log times. */
export function frameFilter(s: FrameSampling): string {
  const select = `select='eq(n,0)+gt(scene,${s.sceneThreshold})+gte(t-prev_selected_t,${s.frameIntervalS})'`;
  const side = Math.floor(s.frameMaxSide);
  const scale = `scale=w='min(${side},iw)':h='min(${side},ih)':force_original_aspect_ratio=decrease`;
  return `${select},${scale},showinfo`;
}

/** ffmpeg arguments writing the sampled frames of `path` as PNGs into `outDir`. */
export function frameSampleArgs(
  demuxer: string,
  path: string,
  outDir: string,
  maxDurationS: number,
  s: FrameSampling,
): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    // showinfo reports each output frame's time at the info level.
    '-loglevel',
    'info',
    '-threads',
    '2',
    ...inputArgs(demuxer, path),
    '-t',
    String(maxDurationS + 1),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    frameFilter(s),
    '-fps_mode',
    'vfr',
    '-frames:v',
    String(s.maxFrames),
    '-f',
    'image2',
    '-c:v',
    'png',
    join(outDir, 'frame-%03d.png'),
  ];
}

/** Frame times (ms) from showinfo's log lines, in output order. */
export function parseShowinfoTimes(stderr: string): number[] {
  const times: number[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('showinfo')) continue;
    const m = /pts_time:\s*(-?[\d.]+(?:e[-+]?\d+)?)/.exec(line);
    if (m) times.push(Math.max(0, Math.round(Number(m[1]) * 1000)));
  }
  return times;
}

/** Samples frames and decodes the sound track of a video upload sniffed as `mime`. */
export async function extractVideo(
  bytes: Uint8Array,
  mime: string,
  limits: VideoLimits = LIMITS.video,
  audioLimits: AudioLimits = LIMITS.audio,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Promise<ExtractedVideo> {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `video is over the ${limits.maxBytes}-byte limit`);
  }
  const demuxer = demuxerFor(mime);
  try {
    return await withTempInput(bytes, async (path, dir) => {
      const info = await probe(path, demuxer, limits.decodeTimeoutMs, tools);
      if (!info.video && !info.hasAudio) {
        throw new ModerationError('VIDEO_DECODE_FAILED', 'the file has neither a video nor an audio stream');
      }
      if (info.video && info.video.width * info.video.height > limits.maxFramePixels) {
        throw new ModerationError(
          'MEDIA_TOO_MANY_PIXELS',
          `video frames are ${info.video.width}×${info.video.height}; the limit is ${limits.maxFramePixels} pixels`,
        );
      }
      if ((info.durationS ?? 0) > limits.maxSyncDurationS) {
        throw tooLong('video', info.durationS ?? 0, limits.maxSyncDurationS, limits.mode);
      }
      const durationMs = info.durationS === undefined ? undefined : Math.round(info.durationS * 1000);
      const audioPromise = info.hasAudio
        ? decodeAudioFile(
            path,
            demuxer,
            limits.maxSyncDurationS,
            {
              ...audioLimits,
              decodeTimeoutMs: limits.decodeTimeoutMs,
              mode: limits.mode,
            },
            tools,
          ).catch((err) => {
            throw mediaError(err, 'VIDEO_DECODE_FAILED', 'the sound track');
          })
        : Promise.resolve(undefined);
      // Awaited below; this only keeps an early failure of the frames from leaving it unhandled.
      audioPromise.catch(() => undefined);
      const frames: VideoFrame[] = [];
      if (info.video) {
        const { stderr } = await runTool(
          tools.ffmpeg,
          frameSampleArgs(demuxer, path, dir, limits.maxSyncDurationS, limits),
          { timeoutMs: limits.decodeTimeoutMs, maxStdoutBytes: 64 * 1024, maxStderrBytes: 1024 * 1024 },
        );
        // Times relative to the first frame (always selected): containers may start at an offset
        // (WebM with Opus starts at the codec delay).
        const raw = parseShowinfoTimes(stderr);
        const times = raw.map((t) => t - (raw[0] ?? 0));
        const files = (await readdir(dir)).filter((f) => f.startsWith('frame-')).sort();
        for (const [i, file] of files.entries()) {
          frames.push({ timestampMs: times[i] ?? 0, png: await readFile(join(dir, file)) });
        }
        if (frames.length === 0)
          throw new ModerationError('VIDEO_DECODE_FAILED', 'no frame could be decoded');
        const last = frames.at(-1)?.timestampMs ?? 0;
        // The header can understate the length; a frame past the limit shows the truth.
        if (last > limits.maxSyncDurationS * 1000)
          throw tooLong('video', last / 1000, limits.maxSyncDurationS, limits.mode);
      }
      const audio = await audioPromise;
      return {
        frames,
        ...(audio && audio.samples.length > 0 ? { audio } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
      };
    });
  } catch (err) {
    throw mediaError(err, 'VIDEO_DECODE_FAILED', 'video');
  }
}
