/**
 * Short videos for the evaluation: a picture of a test text shown for the length of a spoken test
 * clip (its sound track), encoded as H.264/AAC MP4 by ffmpeg, then taken apart by the pipeline's own
 * media path (`collectMedia`: frame sampling, OCR on frames, sound-track transcription) and scored by
 * the pipeline's own `score` (per-channel models + the fusion model) through an in-process
 * inference client. Test split only: nothing here is used for training or thresholds.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createEngines } from '#shared/engines/engines.ts';
import type { InferenceClient } from '#shared/inference/client.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { SPEECH_CHANNEL } from '#shared/modalities/audio.ts';
import { IMAGE_CHANNEL, OCR_CHANNEL } from '#shared/modalities/image.ts';
import type { CollectContext, Collected, ImageItem, TextItem } from '#shared/modalities/types.ts';
import { videoModality } from '#shared/modalities/video.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { score } from '#shared/moderation/score.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { CACHE_DIR, type EvalDataset } from './dataset.ts';
import { textLabels } from './posts.ts';

const run = promisify(execFile);
const VIDEO_MP4 = { kind: 'video', mime: 'video/mp4' } as const;
export const VIDEOS_VERSION = 2;
export const VIDEO_COUNT = 24;
/** Where a video's harm sits, by the offensive label of its two halves. */
export const VIDEO_SCENARIOS = ['neither', 'picture', 'sound', 'both'] as const;
export type VideoScenario = (typeof VIDEO_SCENARIOS)[number];

/** What the pipeline's media path took out of one video (kept so scoring can be redone quickly). */
export interface VideoRecord {
  id: string;
  scenario: VideoScenario;
  imageId: string;
  clipId: string;
  file: string;
  durationMs: number;
  /** Labels in fusion order: the OR of the picture's and the clip's text labels. */
  y: number[];
  mask: number[];
  /** The pipeline's collection, with frame pixels written to `<id>-<n>.rgb` beside the video. */
  frames: { timestampMs: number; pixelsFile: string }[];
  ocr: { text: string; timestampMs?: number }[];
  speech: { text: string; timeRangeMs?: [number, number] }[];
  partial: boolean;
  extractMs: number;
}

export interface VideoSet {
  version: number;
  videos: VideoRecord[];
  seconds: number;
}

const videosPath = (dir: string): string => join(dir, 'videos.json');

function orLabels(a: { y: Float32Array; mask: Float32Array }, b: { y: Float32Array; mask: Float32Array }) {
  const y: number[] = [];
  const mask: number[] = [];
  for (let c = 0; c < NUM_LABELS; c++) {
    const pos =
      ((a.mask[c] ?? 0) > 0 && (a.y[c] ?? 0) > 0.5) || ((b.mask[c] ?? 0) > 0 && (b.y[c] ?? 0) > 0.5);
    y.push(pos ? 1 : 0);
    mask.push(pos || ((a.mask[c] ?? 0) > 0 && (b.mask[c] ?? 0) > 0) ? 1 : 0);
  }
  return { y, mask };
}

/** Builds (or reuses) the test videos from the dataset's test pictures and clips. */
export async function buildVideos(
  dataset: EvalDataset,
  dir = CACHE_DIR,
  count = VIDEO_COUNT,
): Promise<VideoSet> {
  if (existsSync(videosPath(dir))) {
    const cached = JSON.parse(readFileSync(videosPath(dir), 'utf8')) as VideoSet;
    if (cached.version === VIDEOS_VERSION && cached.videos.length === count) return cached;
  }
  const t0 = performance.now();
  mkdirSync(join(dir, 'video'), { recursive: true });
  // The pipeline's own engines (OCR, speech, ffmpeg), as the moderate function configures them.
  const engines = createEngines(readEngineConfig());
  const harmful = (r: { y: readonly number[] }): boolean => r.y[2] === 1;
  const pictures = dataset.images.filter((r) => r.split === 'test');
  const clips = dataset.speech.filter((r) => r.split === 'test');
  const pools = {
    picture: [pictures.filter((r) => !harmful(r)), pictures.filter(harmful)],
    clip: [clips.filter((r) => !harmful(r)), clips.filter(harmful)],
  };
  const videos: VideoRecord[] = [];
  for (let i = 0; i < count; i++) {
    // Harm (offensive) in neither half, the picture, the sound track, or both, in turn.
    const scenario = VIDEO_SCENARIOS[i % VIDEO_SCENARIOS.length] ?? 'neither';
    const round = Math.floor(i / VIDEO_SCENARIOS.length);
    const pick = <T>(pool: T[] | undefined): T | undefined => pool?.[round % Math.max(1, pool.length)];
    const picture = pick(pools.picture[scenario === 'picture' || scenario === 'both' ? 1 : 0]);
    const clip = pick(pools.clip[scenario === 'sound' || scenario === 'both' ? 1 : 0]);
    if (!picture || !clip) break;
    const id = `test-video-${String(i).padStart(3, '0')}`;
    const file = `video/${id}.mp4`;
    await run(engines.media.ffmpeg, [
      '-nostdin',
      '-loglevel',
      'error',
      '-y',
      '-loop',
      '1',
      '-framerate',
      '10',
      '-i',
      join(dir, picture.file),
      '-i',
      join(dir, clip.file),
      '-vf',
      'scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p',
      '-c:v',
      'libx264',
      '-tune',
      'stillimage',
      '-crf',
      '30',
      '-c:a',
      'aac',
      '-shortest',
      join(dir, file),
    ]);
    const started = performance.now();
    const collected = await videoModality.collect(readFileSync(join(dir, file)), VIDEO_MP4, {
      source: id,
      imageSize: 224,
      engines,
    } as CollectContext);
    const items = (name: string) => collected.channels[name] ?? [];
    const frames = (items(IMAGE_CHANNEL.name) as ImageItem[]).map((img, n) => {
      const pixelsFile = `video/${id}-${n}.rgb`;
      writeFileSync(join(dir, pixelsFile), img.pixels);
      return { timestampMs: img.timestampMs ?? 0, pixelsFile };
    });
    videos.push({
      id,
      scenario,
      imageId: picture.id,
      clipId: clip.id,
      file,
      durationMs: clip.durationMs,
      ...orLabels(textLabels(picture.y, picture.mask), textLabels(clip.y, clip.mask)),
      frames,
      ocr: (items(OCR_CHANNEL.name) as TextItem[]).map((o) => ({
        text: o.text,
        ...(o.timestampMs !== undefined ? { timestampMs: o.timestampMs } : {}),
      })),
      speech: (items(SPEECH_CHANNEL.name) as TextItem[]).map((s) => ({
        text: s.text,
        ...(s.timeRangeMs ? { timeRangeMs: s.timeRangeMs } : {}),
      })),
      partial: collected.partial,
      extractMs: Math.round(performance.now() - started),
    });
  }
  const set: VideoSet = { version: VIDEOS_VERSION, videos, seconds: (performance.now() - t0) / 1000 };
  writeFileSync(videosPath(dir), `${JSON.stringify(set, null, 1)}\n`);
  return set;
}

/** The pipeline's model gateway over in-process sessions of the committed default models. */
export async function localGateway(modelsDir: string) {
  const pack = loadPack('default');
  const sessions = new Map<string, { session: InferenceSession; version: string }>();
  for (const m of [pack.text, pack.image, pack.fusion]) {
    const loaded = await loadModel(join(modelsDir, m.name));
    sessions.set(m.name, { session: loaded.session, version: loaded.manifest.version });
  }
  const client: InferenceClient = {
    async invoke(model, inputs) {
      const s = sessions.get(model);
      if (!s) throw new Error(`no local session for ${model}`);
      const feeds = Object.fromEntries(
        Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data as Float32Array, t.dims)]),
      );
      const out = await s.session.run(feeds);
      const outputs: Record<string, Tensor> = Object.fromEntries(
        Object.entries(out).map(([k, t]) => [
          k,
          { dtype: 'float32', dims: [...t.dims], data: t.data as Float32Array },
        ]),
      );
      return { model: { name: model, version: s.version }, outputs };
    },
  };
  return createModelGateway(client, pack);
}

export interface ScoredVideo {
  record: VideoRecord;
  /** Per channel (image, ocr, speech) its category scores, as the verdict's `modalities` has them. */
  channels: Record<string, Record<string, number>>;
  /** The fused categories the verdict would carry (only categories some present channel covers). */
  fused: Record<string, number>;
}

/** Scores every video exactly as the pipeline would (shared/moderation/score.ts). */
export async function scoreVideos(
  set: VideoSet,
  gateway: Awaited<ReturnType<typeof localGateway>>,
  dir = CACHE_DIR,
): Promise<ScoredVideo[]> {
  const out: ScoredVideo[] = [];
  for (const record of set.videos) {
    const collected: Collected = {
      contentType: 'video/mp4',
      channels: {
        [IMAGE_CHANNEL.name]: record.frames.map((f) => ({
          source: record.id,
          pixels: new Uint8Array(readFileSync(join(dir, f.pixelsFile))),
          timestampMs: f.timestampMs,
        })),
        [OCR_CHANNEL.name]: record.ocr.map((o) => ({ source: record.id, ...o })),
        [SPEECH_CHANNEL.name]: record.speech.map((s) => ({ source: record.id, ...s })),
      },
      partial: record.partial,
    };
    const scoring = await score(collected, gateway);
    const channels = Object.fromEntries(
      Object.entries(scoring.modalities).map(([k, m]) => [k, m?.scores ?? {}]),
    );
    out.push({ record, channels, fused: scoring.categories as Record<string, number> });
  }
  return out;
}
