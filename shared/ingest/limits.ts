/**
 * Explicit limits per modality. Each one bounds time and memory for a hostile upload; exceeding
 * one ends in an `error` verdict with a specific code (see shared/domain/errors.ts), never a crash.
 * The README's "Limits" table is generated from the same numbers.
 */
export interface TextLimits {
  maxBytes: number;
  windowChars: number;
  maxWindows: number;
}

/**
 * Images, and the work budget of one image upload (docs/RELIABILITY.md, "Work budget"): the frame
 * size, the number of frames and the pixels decoded are checked from the header before any pixel is
 * decoded; the decode itself runs in a child process that is killed at `decodeTimeoutMs`.
 */
export interface ImageLimits {
  maxBytes: number;
  /** Pixels of one frame (width × height): the decompression-bomb guard. */
  maxPixels: number;
  /** Frames (pages) in an animated GIF/WebP or a multi-page TIFF. */
  maxFrames: number;
  /**
   * Pixels decoded for one upload, over every frame decoded. GIF and WebP frames are composited in
   * order, so reaching frame N decodes frames 0..N: each sampled frame costs (N + 1) × canvas.
   */
  maxDecodedPixels: number;
  /** Wall-clock limit on decoding one upload's frames; the decoder process is killed at it. */
  decodeTimeoutMs: number;
  /** Still images of at most this many pixels are decoded in the function's own process (the fast path). */
  inProcessMaxPixels: number;
}

export interface PostLimits {
  maxBytes: number;
  maxMedia: number;
  maxCaptionChars: number;
  maxDepth: number;
}

/** Text inside images and video frames (docs/MEDIA.md). */
export interface OcrLimits {
  /** Longer sides are scaled down to this before recognition (time grows with pixels). */
  maxSide: number;
  /** One image's recognition is abandoned after this; the verdict is then partial. */
  timeoutMs: number;
  /** Recognised text beyond this is dropped (and the verdict marked partial). */
  maxChars: number;
}

/** Audio files and the audio track of videos (docs/MEDIA.md). */
export interface AudioLimits {
  maxBytes: number;
  /**
   * Longest audio this mode moderates. Over it: `TOO_LONG_FOR_SYNC` in the synchronous mode (the
   * long-media path's job), `TOO_LONG` in the long-media mode (see `mode`).
   */
  maxSyncDurationS: number;
  /** Which path these limits belong to; decides the error code for media over the duration limit. @default 'sync' */
  mode?: MediaMode;
  /** Wall-clock bound on one ffmpeg or recogniser run. */
  decodeTimeoutMs: number;
  /** Transcript text beyond this is not scored (the verdict is marked partial). */
  maxTranscriptChars: number;
}

/** Video files and animated images (docs/MEDIA.md). */
export interface VideoLimits {
  maxBytes: number;
  /** Longest video this mode moderates (as `AudioLimits.maxSyncDurationS`). */
  maxSyncDurationS: number;
  /** @default 'sync' */
  mode?: MediaMode;
  /** Frame size guard, from the container header before decoding. */
  maxFramePixels: number;
  /** Most frames sampled from one video. */
  maxFrames: number;
  /** Most frames looked at in one animated GIF/WebP (spread over its running time). */
  maxAnimationFrames: number;
  /** A frame at least this often (seconds) even without a scene change. */
  frameIntervalS: number;
  /** ffmpeg scene score (0..1) above which a frame counts as a new scene. */
  sceneThreshold: number;
  /** Sampled frames are scaled so their longer side is at most this (OCR needs more than 224). */
  frameMaxSide: number;
  decodeTimeoutMs: number;
}

/**
 * Which path moderates an upload: `sync` is the moderate function on the ingest queue; `long` is the
 * same code on the long-media queue (docs/MEDIA.md, "Asynchronous path"), with the limits below.
 */
export type MediaMode = 'sync' | 'long';

export const LIMITS: {
  readonly maxObjectBytes: number;
  readonly text: Readonly<TextLimits>;
  readonly image: Readonly<ImageLimits>;
  readonly post: Readonly<PostLimits>;
  readonly ocr: Readonly<OcrLimits>;
  readonly audio: Readonly<AudioLimits>;
  readonly video: Readonly<VideoLimits>;
} = {
  /** Nothing larger is downloaded at all (checked from the notification and while streaming). */
  maxObjectBytes: 25 * 1024 * 1024,
  text: {
    maxBytes: 1024 * 1024,
    /** Text is scored in windows so long documents are covered and evidence can point at the words. */
    windowChars: 600,
    /** Windows beyond this are not scored; the verdict says so and the policy asks for review. */
    maxWindows: 256,
  },
  image: {
    maxBytes: 20 * 1024 * 1024,
    /** Decompression-bomb guard, checked from the header before any pixel is decoded. */
    maxPixels: 40_000_000,
    /** 100 s at 10 frames/s; the 8 sampled frames are spread over all of them. */
    maxFrames: 1000,
    /** 15 × the one-frame limit: 1.5–4 s of GIF/WebP decoding on one core (measured 170–400 MP/s). */
    maxDecodedPixels: 600_000_000,
    /** ~4 × what the pixel budget takes; a quarter of the function's 60 s. */
    decodeTimeoutMs: 15_000,
    /** A 16 MP photo decodes in well under a second; larger stills go to the killable decoder. */
    inProcessMaxPixels: 16_000_000,
  },
  post: {
    maxBytes: 256 * 1024,
    maxMedia: 16,
    maxCaptionChars: 64 * 1024,
    /** JSON nesting deeper than this is refused before parsing. */
    maxDepth: 16,
  },
  ocr: {
    maxSide: 1600,
    timeoutMs: 10_000,
    maxChars: 4000,
  },
  audio: {
    maxBytes: 25 * 1024 * 1024,
    maxSyncDurationS: 120,
    decodeTimeoutMs: 60_000,
    maxTranscriptChars: 20_000,
  },
  video: {
    maxBytes: 25 * 1024 * 1024,
    maxSyncDurationS: 60,
    maxFramePixels: 3840 * 2160,
    maxFrames: 32,
    maxAnimationFrames: 8,
    frameIntervalS: 2,
    sceneThreshold: 0.3,
    frameMaxSide: 960,
    decodeTimeoutMs: 60_000,
  },
};

/** Audio and video limits of one mode. */
export interface MediaLimits {
  readonly audio: Readonly<AudioLimits>;
  readonly video: Readonly<VideoLimits>;
}

/**
 * The long-media mode (env `MEDIA_MODE=long`): uploads the synchronous function forwarded because
 * they were over its duration limits. Sized for a 15-minute function with 2+ vCPUs; sizes stay at the
 * object limit (the bytes are read once, into memory, as in the synchronous mode).
 */
export const LONG_MEDIA_LIMITS: MediaLimits = {
  audio: {
    ...LIMITS.audio,
    mode: 'long',
    /** 15 min: decoded PCM is 57.6 MB; VAD over it takes ~15 s on one vCPU. */
    maxSyncDurationS: 15 * 60,
    /** One ffmpeg or recogniser run on up to 15 min of media. */
    decodeTimeoutMs: 5 * 60_000,
    maxTranscriptChars: 100_000,
  },
  video: {
    ...LIMITS.video,
    mode: 'long',
    /** 10 min. */
    maxSyncDurationS: 10 * 60,
    /** A floor of one frame per 5 s (120 over 10 min) leaves room for 40 scene changes. */
    maxFrames: 160,
    frameIntervalS: 5,
    decodeTimeoutMs: 5 * 60_000,
  },
};

/** The audio and video limits of a mode. */
export function mediaLimits(mode: MediaMode = 'sync'): MediaLimits {
  return mode === 'long' ? LONG_MEDIA_LIMITS : { audio: LIMITS.audio, video: LIMITS.video };
}
