/**
 * Scored parts and composed posts. Every part is scored once by the real served models (text model
 * on typed text, on OCR output and on transcripts; image model on the rendered pictures); posts pair
 * a caption with media so that harm sits in the caption, the media, both or neither, and a post's
 * label is the OR of its parts' labels — including media whose words OCR or speech recognition
 * failed to recover (a person sees that harm; the pipeline has to catch it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '#model-artifacts/fusion/compose.ts';
import { betaSample, IMAGE_BETA } from '#model-artifacts/fusion/compose.ts';
import { FUSION_LABELS, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { type LabelledText, TEXT_LABELS } from '#model-artifacts/text-model/data.ts';
import { runTextModel } from '#model-artifacts/text-model/onnx.ts';
import { extractImage } from '#shared/extract/image.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { type FeaturizerConfig, featurize } from '#shared/text/featurize.ts';
import { CACHE_DIR, type EvalDataset, type EvalSplit } from './dataset.ts';

const ort = await import('onnxruntime-node');

/** Labels in fusion order (sexual, hate, harassment, offensive) with their masks. */
export interface Labels {
  y: Float32Array;
  mask: Float32Array;
}

/** Text-model output for one text: probabilities in fusion order (sexual = 0) and the embedding. */
export interface ScoredText {
  probs: Float32Array;
  embedding: Float32Array;
}

export interface CaptionPart extends Labels {
  text: string;
  scored: ScoredText;
}

export interface ImagePart extends Labels {
  id: string;
  /** Image model: porn + hentai + sexy. */
  sexual: number;
  embedding: Float32Array;
  /** OCR text scored by the text model; undefined when OCR read nothing (no `ocr` channel). */
  ocr?: ScoredText;
  ocrText: string;
  /** The text as drawn, scored by the text model: what a perfect OCR would give. */
  oracle: ScoredText;
}

export interface AudioPart extends Labels {
  id: string;
  /** Transcript scored by the text model; undefined when nothing was recognised. */
  speech?: ScoredText;
  transcript: string;
  oracle: ScoredText;
}

export interface Pools {
  split: EvalSplit;
  captions: CaptionPart[];
  images: ImagePart[];
  audio: AudioPart[];
}

const SEXUAL = FUSION_LABELS.indexOf('sexual');

/** Text labels → fusion order; texts are taken as non-sexual (neither corpus annotates it). */
export function textLabels(y: LabelledText['y'], mask: LabelledText['mask']): Labels {
  const out = { y: new Float32Array(NUM_LABELS), mask: new Float32Array(NUM_LABELS) };
  out.mask[SEXUAL] = 1;
  TEXT_LABELS.forEach((label, k) => {
    const c = FUSION_LABELS.indexOf(label);
    out.y[c] = y[k] ?? 0;
    out.mask[c] = mask[k] ?? 0;
  });
  return out;
}

/** Scores texts with the text model in batches; probabilities come back in fusion order. */
export async function scoreTexts(
  session: InferenceSession,
  featurizer: FeaturizerConfig,
  texts: readonly string[],
): Promise<ScoredText[]> {
  const out: ScoredText[] = [];
  for (let i = 0; i < texts.length; i += 256) {
    const batch = texts.slice(i, i + 256).map((t) => featurize(t, featurizer));
    const r = await runTextModel(session, batch);
    r.probs.forEach((p, b) => {
      const probs = new Float32Array(NUM_LABELS);
      TEXT_LABELS.forEach((label, k) => {
        probs[FUSION_LABELS.indexOf(label)] = p[k] ?? 0;
      });
      out.push({ probs, embedding: r.embedding[b] ?? new Float32Array() });
    });
  }
  return out;
}

/** The image model over encoded images: `sexual` (porn + hentai + sexy) and the embedding. */
export async function scoreImages(
  session: InferenceSession,
  images: readonly Uint8Array[],
  labels: readonly string[],
): Promise<{ sexual: number; classes: Record<string, number>; embedding: Float32Array }[]> {
  const out: { sexual: number; classes: Record<string, number>; embedding: Float32Array }[] = [];
  const size = 224;
  for (let i = 0; i < images.length; i += 16) {
    const chunk = images.slice(i, i + 16);
    const data = new Uint8Array(chunk.length * size * size * 3);
    for (const [b, bytes] of chunk.entries())
      data.set((await extractImage(bytes, size)).pixels, b * size * size * 3);
    const r = await session.run({ image: new ort.Tensor('uint8', data, [chunk.length, size, size, 3]) });
    const probs = r.probs?.data as Float32Array;
    const emb = r.embedding?.data as Float32Array;
    const width = emb.length / chunk.length;
    chunk.forEach((_, b) => {
      const classes = Object.fromEntries(labels.map((l, k) => [l, probs[b * labels.length + k] ?? 0]));
      out.push({
        sexual: (classes.porn ?? 0) + (classes.hentai ?? 0) + (classes.sexy ?? 0),
        classes,
        embedding: emb.slice(b * width, (b + 1) * width),
      });
    });
  }
  return out;
}

export interface Models {
  text: InferenceSession;
  featurizer: FeaturizerConfig;
  image: InferenceSession;
  imageLabels: string[];
}

/** Scores every part of one split: all its corpus texts as captions, its images and its clips. */
export async function buildPools(
  split: EvalSplit,
  texts: readonly LabelledText[],
  dataset: EvalDataset,
  models: Models,
  dir = CACHE_DIR,
): Promise<Pools> {
  const splitTexts = texts.filter((t) => t.split === split);
  const captionScores = await scoreTexts(
    models.text,
    models.featurizer,
    splitTexts.map((t) => t.text),
  );
  const captions = splitTexts.map((t, i) => ({
    text: t.text,
    scored: captionScores[i] as ScoredText,
    ...textLabels(t.y, t.mask),
  }));
  const imgs = dataset.images.filter((r) => r.split === split);
  const imageScores = await scoreImages(
    models.image,
    imgs.map((r) => readFileSync(join(dir, r.file))),
    models.imageLabels,
  );
  const ocrScores = await scoreTexts(
    models.text,
    models.featurizer,
    imgs.map((r) => r.ocr.text),
  );
  const imageOracle = await scoreTexts(
    models.text,
    models.featurizer,
    imgs.map((r) => r.shown),
  );
  const images = imgs.map((r, i): ImagePart => {
    const s = imageScores[i];
    const hasText = r.ocr.text.trim().length > 0;
    return {
      id: r.id,
      sexual: s?.sexual ?? 0,
      embedding: s?.embedding ?? new Float32Array(),
      ...(hasText ? { ocr: ocrScores[i] as ScoredText } : {}),
      ocrText: r.ocr.text,
      oracle: imageOracle[i] as ScoredText,
      ...textLabels(r.y, r.mask),
    };
  });
  const clips = dataset.speech.filter((r) => r.split === split);
  const speechScores = await scoreTexts(
    models.text,
    models.featurizer,
    clips.map((r) => r.transcript),
  );
  const speechOracle = await scoreTexts(
    models.text,
    models.featurizer,
    clips.map((r) => r.shown),
  );
  const audio = clips.map(
    (r, i): AudioPart => ({
      id: r.id,
      ...(r.transcript.trim().length > 0 ? { speech: speechScores[i] as ScoredText } : {}),
      transcript: r.transcript,
      oracle: speechOracle[i] as ScoredText,
      ...textLabels(r.y, r.mask),
    }),
  );
  return { split, captions, images, audio };
}

/** Where a post's harm sits (by the text-harm labels of its parts: any but sexual, which the image teacher sets). */
export type Scenario = 'neither' | 'caption' | 'media' | 'both';
export const SCENARIOS: readonly Scenario[] = ['neither', 'caption', 'media', 'both'];

export interface Post {
  scenario: Scenario;
  caption?: CaptionPart;
  image?: ImagePart;
  audio?: AudioPart;
}

const harmful = (p: Labels): boolean => p.y.some((v, c) => c !== SEXUAL && v > 0.5);

function drawFrom<T extends Labels>(pool: readonly T[], wantHarm: boolean, rnd: Rng): T {
  const candidates = pool.filter((p) => harmful(p) === wantHarm);
  const from = candidates.length > 0 ? candidates : pool;
  const x = from[Math.floor(rnd() * from.length)];
  if (x === undefined) throw new Error('empty pool');
  return x;
}

/**
 * Posts: each has media (an image 60%, a voice clip 25%, both 15%) and a caption 85% of the time;
 * the scenario (harm in neither, caption, media, both) is drawn uniformly.
 */
export function composePosts(n: number, pools: Pools, rnd: Rng): Post[] {
  return Array.from({ length: n }, () => {
    const scenario = SCENARIOS[Math.floor(rnd() * SCENARIOS.length)] ?? 'neither';
    const captionHarm = scenario === 'caption' || scenario === 'both';
    const mediaHarm = scenario === 'media' || scenario === 'both';
    const hasCaption = rnd() < 0.85 || scenario === 'caption';
    const r = rnd();
    const kind = r < 0.6 ? 'image' : r < 0.85 ? 'audio' : 'both';
    const post: Post = { scenario };
    if (hasCaption) post.caption = drawFrom(pools.captions, captionHarm, rnd);
    if (kind === 'image' || kind === 'both') post.image = drawFrom(pools.images, mediaHarm, rnd);
    if (kind === 'audio' || kind === 'both') {
      // With two media, the harm (if any) is in the image half the time.
      const audioHarm = mediaHarm && (kind === 'audio' || rnd() < 0.5);
      post.audio = drawFrom(pools.audio, audioHarm, rnd);
      if (kind === 'both' && mediaHarm && !audioHarm && post.image && !harmful(post.image)) {
        post.image = drawFrom(pools.images, true, rnd);
      }
    }
    return post;
  });
}

/** One fusion example: channel inputs, presence, labels, and the per-channel embeddings. */
export interface FusionExample {
  /** [channel, category] probabilities, 0 where absent. */
  x: Float32Array;
  present: Float32Array;
  y: Float32Array;
  mask: Float32Array;
  /** Per channel, its model's embedding (text model for text/ocr/speech, image model for image). */
  embeddings: (Float32Array | undefined)[];
}

/** Column of each channel in the fusion input; the registry has the four this evaluation builds. */
function channelIndex(name: string): number {
  const k = CHANNELS.indexOf(name);
  if (k < 0) throw new Error(`no fusion channel ${name}; channels: ${CHANNELS.join(', ')}`);
  return k;
}
const CH = {
  text: channelIndex('text'),
  image: channelIndex('image'),
  ocr: channelIndex('ocr'),
  speech: channelIndex('speech'),
};

/** Which parts of a post to keep (modality dropout); all by default. */
export interface Keep {
  caption: boolean;
  image: boolean;
  audio: boolean;
}

/** OR of the kept parts' labels; unknown where none is positive and some kept part's label is unknown. */
function orLabels(parts: Labels[]): Labels {
  const y = new Float32Array(NUM_LABELS);
  const mask = new Float32Array(NUM_LABELS).fill(1);
  for (let c = 0; c < NUM_LABELS; c++) {
    let unknown = false;
    for (const p of parts) {
      if ((p.mask[c] ?? 0) === 0) unknown = true;
      else if ((p.y[c] ?? 0) > 0.5) y[c] = 1;
    }
    if (y[c] === 0 && unknown) mask[c] = 0;
  }
  return { y, mask };
}

/**
 * A post as the pipeline sees it: caption → text channel; image → image channel, plus the ocr
 * channel when OCR read something; clip → speech channel when something was recognised.
 * `imageSexual` overrides the image channel's `sexual` (the training-time teacher, see train.ts).
 */
export function postExample(
  post: Post,
  keep: Keep = { caption: true, image: true, audio: true },
  imageSexual?: { p: number; y: number },
): FusionExample | undefined {
  const x = new Float32Array(NUM_CHANNELS * NUM_LABELS);
  const present = new Float32Array(NUM_CHANNELS);
  const embeddings: (Float32Array | undefined)[] = CHANNELS.map(() => undefined);
  const parts: Labels[] = [];
  const put = (k: number, probs: Float32Array, emb: Float32Array): void => {
    present[k] = 1;
    x.set(probs, k * NUM_LABELS);
    embeddings[k] = emb;
  };
  if (post.caption && keep.caption) {
    put(CH.text, post.caption.scored.probs, post.caption.scored.embedding);
    parts.push(post.caption);
  }
  if (post.image && keep.image) {
    const probs = new Float32Array(NUM_LABELS);
    probs[SEXUAL] = imageSexual?.p ?? post.image.sexual;
    put(CH.image, probs, post.image.embedding);
    if (post.image.ocr) put(CH.ocr, post.image.ocr.probs, post.image.ocr.embedding);
    const labels = { y: post.image.y.slice(), mask: post.image.mask };
    if (imageSexual) labels.y[SEXUAL] = imageSexual.y;
    parts.push(labels);
  }
  if (post.audio && keep.audio) {
    if (post.audio.speech) put(CH.speech, post.audio.speech.probs, post.audio.speech.embedding);
    parts.push(post.audio);
  }
  if (parts.length === 0 || !present.some((v) => v > 0)) return undefined;
  return { x, present, embeddings, ...orLabels(parts) };
}

/** Training-time image teacher for `sexual` (no labelled images exist): p ~ Beta, label ~ Bernoulli(p). */
export function sexualTeacher(rnd: Rng): { p: number; y: number } {
  const p = betaSample(IMAGE_BETA.a, IMAGE_BETA.b, rnd);
  return { p, y: rnd() < p ? 1 : 0 };
}

/** Single-part uploads as the pipeline sees them: a text alone, a picture alone, a clip alone. */
export function singleUploads(pools: Pools): {
  texts: FusionExample[];
  pictures: FusionExample[];
  clips: FusionExample[];
} {
  const texts = pools.captions.flatMap((caption) => postExample({ scenario: 'neither', caption }) ?? []);
  const pictures = pools.images.flatMap((image) => postExample({ scenario: 'neither', image }) ?? []);
  const clips = pools.audio.flatMap((audio) => postExample({ scenario: 'neither', audio }) ?? []);
  return { texts, pictures, clips };
}
