/**
 * Trains the late-fusion classifier on posts composed from real channel outputs: captions scored by
 * the text model, pictures of texts read back by the pipeline's OCR and scored by the text model, and
 * spoken texts transcribed by the pipeline's speech recogniser and scored by the text model
 * (model-artifacts/eval: the multimodal dataset). Training uses only the text model's validation
 * split; the comparison with the max / mean / best-single-channel rules, with the previous model and
 * with feature (embedding) fusion uses posts built from its test split. Writes
 * model-artifacts/models/fusion/{model.onnx, manifest.json, metrics.json, MODEL_CARD.md}.
 *
 *   npm run train:fusion [-- --data-dir DIR] [--text-model DIR] [--image-model DIR] [--out DIR]
 *                           [--with-decisions FILE.jsonl [--decision-weight N]]
 *
 * `--with-decisions`: reviewer decisions (verdict JSONL, docs/LEARNING.md) become extra training rows
 * (per-channel scores in, reviewer labels out, masked where a decision says nothing), shuffled into
 * every epoch N times each, and join the recalibration mix once.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { buildDataset } from '#model-artifacts/eval/build-dataset.ts';
import {
  bestSingleChannel,
  column,
  fmt,
  fusedScorer,
  type MethodReport,
  maxRule,
  meanRule,
  methodReport,
  type Scorer,
  singleChannel,
} from '#model-artifacts/eval/methods.ts';
import {
  buildPools,
  composePosts,
  type FusionExample,
  type Keep,
  type Models,
  type Pools,
  type Post,
  postExample,
  sexualTeacher,
  singleUploads,
} from '#model-artifacts/eval/posts.ts';
import { decisionRows, readDecisionsJsonl, withDecisionRows } from '#model-artifacts/learning/decisions.ts';
import { loadCorpus } from '#model-artifacts/text-model/data.ts';
import { auroc, ece } from '#model-artifacts/text-model/metrics.ts';
import { PREVALENCE } from '#model-artifacts/text-model/train.ts';
import { fitPlatt } from '#model-artifacts/text-model/trainer.ts';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import { parseFeaturizerConfig } from '#shared/text/featurize.ts';
import { IMAGE_BETA, mulberry32, type Rng } from './compose.ts';
import { features, fitSpace, predictLogistic, trainLogistic } from './feature-fusion.ts';
import {
  CHANNEL_CATEGORIES,
  clippedLogit,
  exportFusionModel,
  FUSION_INPUT,
  FUSION_LABELS,
  type FusionParams,
  fuse,
  fusedLogits,
  NUM_CHANNELS,
  NUM_LABELS,
  SCORED,
  STRONG_CHANNEL,
} from './model.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const MODEL_VERSION = '2.1.0';
const SEED = 20_240_602;
const TRAIN_POSTS = 12_000;
const SELECTION_POSTS = 6_000;
const TEST_POSTS = 4_000;
const TRAINING = { epochs: 40, batchSize: 512, lr: 0.05, l2: 1e-4 };
/** Per epoch, half the posts keep every part; the others keep each part with this probability. */
const KEEP_PART = 0.6;
const CLIP_FLOORS = [0.01, 0.05, 0.1, 0.2];
const CLIP_CEILING = 1 - 1e-4;
const BOOTSTRAP = 300;
const FEATURE_FUSION = { projDim: 16, epochs: 25, batchSize: 256, lr: 0.01, l2: 1e-3 };

/**
 * Fusion parameters laid out for an older label order, widened to FUSION_LABELS: a category the
 * older model did not fuse (violence) gets w = β = 0 and the intercept given.
 */
function widen(
  labels: readonly string[],
  p: { clip: FusionParams['clip']; w: number[]; beta: number[]; bias: number[] },
  missingBias: number,
): FusionParams {
  const at = (k: number, c: string, from: number[]) => {
    const j = labels.indexOf(c);
    return j < 0 ? 0 : (from[k * labels.length + j] ?? 0);
  };
  const grid = (from: number[]) =>
    Float32Array.from(CHANNELS.flatMap((_, k) => FUSION_LABELS.map((c) => at(k, c, from))));
  return {
    clip: p.clip,
    w: grid(p.w),
    beta: grid(p.beta),
    bias: Float32Array.from(
      FUSION_LABELS.map((c) => (labels.includes(c) ? (p.bias[labels.indexOf(c)] ?? 0) : missingBias)),
    ),
  };
}

/** fusion 1.0.0, trained on simulated OCR/speech noise (kept here to measure what retraining bought). */
const PREVIOUS: { version: string; params: FusionParams } = {
  version: '1.0.0',
  // [channel (text, image, ocr, speech), category (sexual, hate, harassment, offensive)]; no violence.
  params: widen(
    ['sexual', 'hate', 'harassment', 'offensive'],
    {
      clip: { lo: 0.05, hi: 0.9999 },
      w: [0, 1.032, 1.128, 0.773, 1.115, 0, 0, 0, 0, 1.076, 0.959, 0.754, 0, 0.784, 0.734, 0.743],
      beta: [0, 3.269, 3.298, 1.871, 7.191, 0, 0, 0, 0, 3.356, 3.221, 2.063, 0, 2.596, 2.334, 1.608],
      bias: [-7.254, -3.862, -3.924, -2.64],
    },
    -10,
  ),
};

const log = (msg: string): void => {
  process.stderr.write(`[train:fusion] ${msg}\n`);
};

/** Modality dropout: all parts half the time, else each part kept with KEEP_PART (at least one). */
function drawKeep(post: Post, rnd: Rng): Keep {
  if (rnd() < 0.5) return { caption: true, image: true, audio: true };
  for (;;) {
    const keep = {
      caption: post.caption !== undefined && rnd() < KEEP_PART,
      image: post.image !== undefined && rnd() < KEEP_PART,
      audio: post.audio !== undefined && rnd() < KEEP_PART,
    };
    if (keep.caption || keep.image || keep.audio) return keep;
  }
}

/** One epoch's examples: fresh dropout and a fresh `sexual` teacher draw for every image. */
function realise(posts: readonly Post[], rnd: Rng, dropout: boolean): FusionExample[] {
  return posts.flatMap((post) => {
    const keep = dropout ? drawKeep(post, rnd) : { caption: true, image: true, audio: true };
    const ex = postExample(post, keep, post.image ? sexualTeacher(rnd) : undefined);
    return ex ? [ex] : [];
  });
}

/** Masked logistic regression per category with Adam; weights projected onto w ≥ 0. */
export function trainFusion(
  drawEpoch: () => FusionExample[],
  clip: FusionParams['clip'],
): { params: FusionParams; losses: number[] } {
  const size = NUM_CHANNELS * NUM_LABELS;
  const params: FusionParams = {
    clip,
    w: Float32Array.from(SCORED),
    beta: new Float32Array(size),
    bias: new Float32Array(NUM_LABELS),
  };
  const flat = [params.w, params.beta, params.bias];
  const grads = flat.map((a) => new Float64Array(a.length));
  const m = flat.map((a) => new Float64Array(a.length));
  const v = flat.map((a) => new Float64Array(a.length));
  let t = 0;
  const losses: number[] = [];
  for (let epoch = 0; epoch < TRAINING.epochs; epoch++) {
    const examples = drawEpoch();
    let lossSum = 0;
    for (let start = 0; start < examples.length; start += TRAINING.batchSize) {
      const batch = examples.slice(start, start + TRAINING.batchSize);
      for (const g of grads) g.fill(0);
      const [gw, gb, gi] = grads as [Float64Array, Float64Array, Float64Array];
      for (const ex of batch) {
        const z = fusedLogits(params, ex.x, ex.present);
        for (let c = 0; c < NUM_LABELS; c++) {
          if ((ex.mask[c] ?? 0) === 0) continue;
          const zc = z[c] ?? 0;
          const y = ex.y[c] ?? 0;
          lossSum += Math.max(zc, 0) - zc * y + Math.log1p(Math.exp(-Math.abs(zc)));
          const d = 1 / (1 + Math.exp(-zc)) - y;
          gi[c] = (gi[c] ?? 0) + d;
          for (let k = 0; k < NUM_CHANNELS; k++) {
            const i = k * NUM_LABELS + c;
            if ((ex.present[k] ?? 0) <= 0.5 || (SCORED[i] ?? 0) === 0) continue;
            gw[i] = (gw[i] ?? 0) + d * clippedLogit(ex.x[i] ?? 0, clip);
            gb[i] = (gb[i] ?? 0) + d;
          }
        }
      }
      t++;
      flat.forEach((param, j) => {
        const g = grads[j] as Float64Array;
        const mj = m[j] as Float64Array;
        const vj = v[j] as Float64Array;
        for (let i = 0; i < param.length; i++) {
          const gij = (g[i] ?? 0) / batch.length + (j === 0 ? TRAINING.l2 * (param[i] ?? 0) : 0);
          mj[i] = 0.9 * (mj[i] ?? 0) + 0.1 * gij;
          vj[i] = 0.999 * (vj[i] ?? 0) + 0.001 * gij * gij;
          param[i] =
            (param[i] ?? 0) -
            (TRAINING.lr * ((mj[i] ?? 0) / (1 - 0.9 ** t))) /
              (Math.sqrt((vj[i] ?? 0) / (1 - 0.999 ** t)) + 1e-8);
        }
      });
      // Projection: monotone in every channel, and nothing learnt for pairs no model scores.
      for (let i = 0; i < size; i++) {
        params.w[i] = Math.max(0, params.w[i] ?? 0) * (SCORED[i] ?? 0);
        params.beta[i] = (params.beta[i] ?? 0) * (SCORED[i] ?? 0);
      }
    }
    losses.push(lossSum / examples.length);
  }
  return { params, losses };
}

function meanLoss(params: FusionParams, examples: readonly FusionExample[]): number {
  let sum = 0;
  for (const ex of examples) {
    const z = fusedLogits(params, ex.x, ex.present);
    for (let c = 0; c < NUM_LABELS; c++) {
      if ((ex.mask[c] ?? 0) === 0) continue;
      const zc = z[c] ?? 0;
      sum += Math.max(zc, 0) - zc * (ex.y[c] ?? 0) + Math.log1p(Math.exp(-Math.abs(zc)));
    }
  }
  return sum / examples.length;
}

const TEXT_CATS = ['hate', 'harassment', 'offensive', 'violence'] as const;
type TextCat = (typeof TEXT_CATS)[number];
type Comparison = Record<string, Record<TextCat, MethodReport>>;

interface TrainArgs {
  dataDir: string;
  textModel: string;
  imageModel: string;
  out: string;
  /** Reviewer decisions to add (verdict JSONL), and how many times each row is repeated. */
  withDecisions?: string;
  decisionWeight: number;
}

function parseTrainArgs(): TrainArgs {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      'text-model': { type: 'string', default: join(REPO, 'model-artifacts/models/text-toxicity') },
      'image-model': { type: 'string', default: join(REPO, 'model-artifacts/models/image-nsfw') },
      out: { type: 'string', default: join(REPO, 'model-artifacts/models/fusion') },
      'with-decisions': { type: 'string' },
      'decision-weight': { type: 'string', default: '1' },
    },
  });
  return {
    dataDir: values['data-dir'],
    textModel: values['text-model'],
    imageModel: values['image-model'],
    out: values.out,
    ...(values['with-decisions'] ? { withDecisions: values['with-decisions'] } : {}),
    decisionWeight: Number(values['decision-weight']),
  };
}

interface TextManifest {
  name: string;
  version: string;
  sha256: string;
  preprocess: unknown;
}

interface ChannelModels {
  textManifest: TextManifest;
  /** sha256 of the text model the channel scores came from (recorded in the fusion manifest). */
  textSha: string;
  models: Models;
}

/** Sessions of the per-channel models whose outputs the fusion model is trained on. */
async function loadChannelModels(textDir: string, imageDir: string): Promise<ChannelModels> {
  const textManifest = JSON.parse(readFileSync(join(textDir, 'manifest.json'), 'utf8')) as TextManifest;
  const textBytes = readFileSync(join(textDir, 'model.onnx'));
  const textSha = createHash('sha256').update(textBytes).digest('hex');
  if (textSha !== textManifest.sha256) throw new Error(`text model sha256 mismatch: ${textSha}`);
  const imageManifest = JSON.parse(readFileSync(join(imageDir, 'manifest.json'), 'utf8')) as {
    version: string;
    labels: string[];
  };
  const models = {
    text: await createSession(textBytes),
    featurizer: parseFeaturizerConfig(textManifest.preprocess),
    image: await createSession(join(imageDir, 'model.onnx')),
    imageLabels: imageManifest.labels,
  };
  return { textManifest, textSha, models };
}

interface ScoredData {
  dataset: Awaited<ReturnType<typeof buildDataset>>;
  corpus: ReturnType<typeof loadCorpus>;
  valPools: Pools;
  testPools: Pools;
}

/** The multimodal set's validation and test parts, each scored once by the channel models. */
async function scoreParts(dataDir: string, models: ChannelModels['models']): Promise<ScoredData> {
  const dataset = await buildDataset({ dataDir });
  const corpus = loadCorpus(dataDir);
  const valPools = await buildPools('validation', corpus.examples, dataset, models);
  const testPools = await buildPools('test', corpus.examples, dataset, models);
  log(
    `pools: validation ${valPools.captions.length} captions, ${valPools.images.length} images, ${valPools.audio.length} clips; test ${testPools.captions.length} / ${testPools.images.length} / ${testPools.audio.length}`,
  );
  return { dataset, corpus, valPools, testPools };
}

interface ComposedPosts {
  /** Training posts (validation parts). */
  trainPosts: Post[];
  /** A second composition of validation parts: clip-floor choice, dropout choice, recalibration. */
  selPosts: Post[];
  /** Test-split posts: every reported comparison. */
  testPosts: Post[];
}

/** Each composition has its own seed, so changing one leaves the others as they were. */
function composeAllPosts(valPools: Pools, testPools: Pools): ComposedPosts {
  return {
    trainPosts: composePosts(TRAIN_POSTS, valPools, mulberry32(SEED)),
    selPosts: composePosts(SELECTION_POSTS, valPools, mulberry32(SEED + 3)),
    testPosts: composePosts(TEST_POSTS, testPools, mulberry32(SEED + 2)),
  };
}

type Fit = ReturnType<typeof trainFusion>;
type ClipCandidate = { lo: number; loss: number } & Fit;

/** Trains one model per clip floor (same data draws for each) and keeps the lowest selection loss. */
function searchClipFloor(
  trainPosts: readonly Post[],
  selExamples: readonly FusionExample[],
  decisions: readonly FusionExample[] = [],
) {
  const clipSearch: ClipCandidate[] = CLIP_FLOORS.map((lo) => {
    const r = mulberry32(SEED + 4);
    const fit = trainFusion(() => withDecisionRows(realise(trainPosts, r, true), decisions, r), {
      lo,
      hi: CLIP_CEILING,
    });
    const loss = meanLoss(fit.params, selExamples);
    log(`clip floor ${lo}: selection loss ${fmt(loss, 4)}`);
    return { lo, loss, ...fit };
  });
  const chosen = clipSearch.reduce((a, b) => (b.loss < a.loss ? b : a));
  return { clipSearch, chosen };
}

/** Texts, pictures and clips alone plus the posts: a mix like the pipeline's input. */
function uploadMix(pools: Pools, posts: readonly Post[]): FusionExample[] {
  const singles = singleUploads(pools);
  return [
    ...singles.texts,
    ...singles.pictures,
    ...singles.clips,
    ...posts.flatMap((p) => postExample(p) ?? []),
  ];
}

interface DropoutChoice {
  dropout: { selectionMeanAuroc: { withDropout: number; withoutDropout: number }; used: boolean };
  /** The shipped recipe, before recalibration. */
  uncalibrated: FusionParams;
  /** The other dropout setting, reported beside it. */
  alternative: FusionParams;
  losses: number[];
}

/**
 * The same model trained without modality dropout; the one with the better mean AUROC on a
 * validation mix like the pipeline's input is shipped, the other reported beside it.
 */
function chooseDropout(
  trainPosts: readonly Post[],
  chosen: ClipCandidate,
  calMix: FusionExample[],
  decisions: readonly FusionExample[] = [],
): DropoutChoice {
  const noDropoutRnd = mulberry32(SEED + 4);
  const noDropoutFit = trainFusion(
    () => withDecisionRows(realise(trainPosts, noDropoutRnd, false), decisions, noDropoutRnd),
    chosen.params.clip,
  );
  const meanAuroc = (p: FusionParams): number =>
    TEXT_CATS.reduce(
      (sum, l) => sum + auroc(...column(calMix, fusedScorer(p), FUSION_LABELS.indexOf(l), true)),
      0,
    ) / TEXT_CATS.length;
  const dropout = {
    selectionMeanAuroc: {
      withDropout: meanAuroc(chosen.params),
      withoutDropout: meanAuroc(noDropoutFit.params),
    },
    used: false,
  };
  dropout.used = dropout.selectionMeanAuroc.withDropout >= dropout.selectionMeanAuroc.withoutDropout;
  log(
    `modality dropout ${dropout.used ? 'kept' : 'dropped'}: validation mean AUROC ${JSON.stringify(dropout.selectionMeanAuroc)}`,
  );
  return {
    dropout,
    uncalibrated: dropout.used ? chosen.params : noDropoutFit.params,
    alternative: dropout.used ? noDropoutFit.params : chosen.params,
    losses: dropout.used ? chosen.losses : noDropoutFit.losses,
  };
}

type PlattFit = { label: TextCat; scale: number; shift: number };

/**
 * Recalibration: the posts the model is trained on are not what the pipeline mostly sees (single
 * texts, pictures, clips, and posts). Platt scaling of each fused logit on that mix folds into the
 * same form (w, β, b scaled), so the contract and the monotonicity (scale > 0) are unchanged. Not
 * for `sexual`: no labels.
 */
export function recalibrate(
  uncalibrated: FusionParams,
  calMix: FusionExample[],
): { params: FusionParams; platt: PlattFit[] } {
  const params: FusionParams = {
    ...uncalibrated,
    w: uncalibrated.w.slice(),
    beta: uncalibrated.beta.slice(),
    bias: uncalibrated.bias.slice(),
  };
  const platt = TEXT_CATS.map((label) => {
    const c = FUSION_LABELS.indexOf(label);
    const logitScorer: Scorer = (ex) => fusedLogits(uncalibrated, ex.x, ex.present);
    // At the production prevalence the text model is calibrated for, not at the harm-rich mix.
    const fit = fitPlatt(...column(calMix, logitScorer, c, true), PREVALENCE);
    if (!(fit.scale > 0))
      throw new Error(`recalibration of ${label} would reverse the ranking: ${JSON.stringify(fit)}`);
    for (let k = 0; k < NUM_CHANNELS; k++) {
      params.w[k * NUM_LABELS + c] = (params.w[k * NUM_LABELS + c] ?? 0) * fit.scale;
      params.beta[k * NUM_LABELS + c] = (params.beta[k * NUM_LABELS + c] ?? 0) * fit.scale;
    }
    params.bias[c] = (params.bias[c] ?? 0) * fit.scale + fit.shift;
    return { label, ...fit };
  });
  return { params, platt };
}

interface EvalSets {
  /** The training posts once, as composed, with the image model's real scores (thresholds, channel choice). */
  valExamples: FusionExample[];
  /** The test posts as composed. */
  testExamples: FusionExample[];
  /** The test posts with random parts missing, as modality dropout draws them. */
  testDropped: FusionExample[];
  /** Test texts, pictures and clips alone plus the test posts. */
  testMix: FusionExample[];
}

function evaluationSets(posts: ComposedPosts, testPools: Pools): EvalSets {
  const r = mulberry32(SEED + 7);
  return {
    valExamples: posts.trainPosts.flatMap((p) => postExample(p) ?? []),
    testExamples: posts.testPosts.flatMap((p) => postExample(p) ?? []),
    testDropped: posts.testPosts.flatMap((p) => postExample(p, drawKeep(p, r)) ?? []),
    testMix: uploadMix(testPools, posts.testPosts),
  };
}

/** ECE on the test mix before and after recalibration, per category. */
function calibrationReport(
  uncalibrated: FusionParams,
  params: FusionParams,
  platt: PlattFit[],
  testMix: FusionExample[],
) {
  const calibration = TEXT_CATS.map((label) => {
    const c = FUSION_LABELS.indexOf(label);
    return {
      label,
      platt: platt.find((p) => p.label === label),
      eceBefore: ece(...column(testMix, fusedScorer(uncalibrated), c, true)),
      eceAfter: ece(...column(testMix, fusedScorer(params), c, true)),
    };
  });
  log(
    `recalibrated: ${calibration.map((x) => `${x.label} ECE ${fmt(x.eceBefore)} → ${fmt(x.eceAfter)}`).join(', ')}`,
  );
  return calibration;
}

/** Feature fusion on the same data (real image scores: the teacher only stands in for `sexual`). */
function trainFeatureFusion(trainPosts: readonly Post[], valPools: Pools, clip: FusionParams['clip']) {
  const tFeat = performance.now();
  const textDim = valPools.captions[0]?.scored.embedding.length ?? 0;
  const imageDim = valPools.images[0]?.embedding.length ?? 0;
  const featRnd = mulberry32(SEED + 8);
  const drawFeat = (): FusionExample[] => realise(trainPosts, featRnd, true);
  const space = fitSpace(drawFeat(), {
    clip,
    textDim,
    imageDim,
    projDim: FEATURE_FUSION.projDim,
    seed: SEED + 9,
  });
  const featureModel = trainLogistic(drawFeat, space, FEATURE_FUSION);
  const featureSeconds = (performance.now() - tFeat) / 1000;
  const featureScorer: Scorer = (ex) => predictLogistic(featureModel, features(ex, space));
  log(`feature fusion (${space.mean.length} features) trained in ${fmt(featureSeconds, 1)} s`);
  return { featureCount: space.mean.length, featureScorer, featureSeconds };
}

/** The best single channel per category (on validation), as a scorer. */
function bestSingleScorer(valExamples: readonly FusionExample[]) {
  const best = FUSION_LABELS.map((_, c) => bestSingleChannel(c, valExamples));
  const scorer: Scorer = (ex) =>
    FUSION_LABELS.map((_, c) => singleChannel(CHANNELS.indexOf(best[c] ?? 'text'))(ex)[c] ?? 0);
  return { best, scorer };
}

/** Every method on one test set, thresholds chosen on the validation examples. */
function compareMethods(
  methods: Record<string, Scorer>,
  valExamples: readonly FusionExample[],
  test: readonly FusionExample[],
): Comparison {
  return Object.fromEntries(
    Object.entries(methods).map(([name, scorer]) => [
      name,
      Object.fromEntries(
        TEXT_CATS.map((label) => [
          label,
          methodReport(scorer, FUSION_LABELS.indexOf(label), valExamples, test),
        ]),
      ),
    ]),
  ) as Comparison;
}

/**
 * Paired bootstrap over test posts of AUROC differences a − b (posts share media parts, so these
 * intervals are, if anything, too narrow).
 */
function bootstrapAurocDiff(testExamples: readonly FusionExample[], a: Scorer, b: Scorer) {
  return Object.fromEntries(
    TEXT_CATS.map((label) => {
      const c = FUSION_LABELS.indexOf(label);
      const [sa, y] = column(testExamples, a, c);
      const [sb] = column(testExamples, b, c);
      const r = mulberry32(SEED + 10);
      const diffs: number[] = [];
      for (let i = 0; i < BOOTSTRAP; i++) {
        const idx = Array.from({ length: y.length }, () => Math.floor(r() * y.length));
        const pick = (xs: number[]) => idx.map((j) => xs[j] ?? 0);
        diffs.push(auroc(pick(sa), pick(y)) - auroc(pick(sb), pick(y)));
      }
      diffs.sort((p, q) => p - q);
      return [
        label,
        {
          diff: auroc(sa, y) - auroc(sb, y),
          lo: diffs[Math.floor(0.025 * BOOTSTRAP)] ?? 0,
          hi: diffs[Math.floor(0.975 * BOOTSTRAP)] ?? 0,
        },
      ];
    }),
  );
}

/** Fused `sexual` on test posts with a picture: all pictures of text, so every ≥ 0.5 is a false positive. */
function sexualOnTextImages(testExamples: readonly FusionExample[], params: FusionParams) {
  const [s] = column(
    testExamples.filter((e) => (e.present[CHANNELS.indexOf('image')] ?? 0) > 0.5),
    fusedScorer(params),
    FUSION_LABELS.indexOf('sexual'),
  );
  return { images: s.length, over05: s.filter((v) => v >= 0.5).length };
}

interface Comparisons {
  best: (string | undefined)[];
  comparison: Comparison;
  comparisonDropped: Comparison;
  comparisonMix: Comparison;
  aurocDiffs: Record<string, ReturnType<typeof bootstrapAurocDiff>>;
  imageFpr: { images: number; over05: number };
}

/** The shipped model against the other dropout setting, fusion 1.0.0, feature fusion and the rules. */
function compareWithAlternatives(
  sets: EvalSets,
  params: FusionParams,
  alternative: FusionParams,
  featureScorer: Scorer,
): Comparisons {
  const { best, scorer: bestScorer } = bestSingleScorer(sets.valExamples);
  const methods: Record<string, Scorer> = {
    fused: fusedScorer(params),
    fusedAlt: fusedScorer(alternative),
    previous: fusedScorer(PREVIOUS.params),
    featureFusion: featureScorer,
    max: maxRule,
    mean: meanRule,
    bestSingle: bestScorer,
  };
  return {
    best,
    comparison: compareMethods(methods, sets.valExamples, sets.testExamples),
    comparisonDropped: compareMethods(methods, sets.valExamples, sets.testDropped),
    comparisonMix: compareMethods(methods, sets.valExamples, sets.testMix),
    aurocDiffs: {
      fusedMinusMax: bootstrapAurocDiff(sets.testExamples, fusedScorer(params), maxRule),
      featureMinusFused: bootstrapAurocDiff(sets.testExamples, featureScorer, fusedScorer(params)),
      fusedMinusPrevious: bootstrapAurocDiff(
        sets.testExamples,
        fusedScorer(params),
        fusedScorer(PREVIOUS.params),
      ),
    },
    imageFpr: sexualOnTextImages(sets.testExamples, params),
  };
}

/** The ONNX bytes of the model, checked against the TypeScript forward pass with NaN in absent channels. */
async function exportAndCheck(
  params: FusionParams,
  testExamples: readonly FusionExample[],
): Promise<{ bytes: Uint8Array; parityMaxAbs: number }> {
  const bytes = exportFusionModel(params, {
    name: 'fusion',
    version: MODEL_VERSION,
    labels: FUSION_LABELS.join(','),
    channels: CHANNELS.join(','),
  });
  const session = await createSession(bytes);
  const probe = testExamples.slice(0, 2000);
  const x = new Float32Array(probe.length * NUM_CHANNELS * NUM_LABELS);
  const present = new Float32Array(probe.length * NUM_CHANNELS);
  probe.forEach((ex, b) => {
    // The contract says absent channels are ignored whatever they hold: NaN proves it.
    const row = ex.x.slice();
    ex.present.forEach((pr, k) => {
      if (pr <= 0.5) for (let c = 0; c < NUM_LABELS; c++) row[k * NUM_LABELS + c] = Number.NaN;
    });
    x.set(row, b * NUM_CHANNELS * NUM_LABELS);
    present.set(ex.present, b * NUM_CHANNELS);
  });
  const out = await session.run({
    [FUSION_INPUT]: new ort.Tensor('float32', x, [probe.length, NUM_CHANNELS, NUM_LABELS]),
    present: new ort.Tensor('float32', present, [probe.length, NUM_CHANNELS]),
  });
  const onnxProbs = out.probs?.data as Float32Array;
  let parityMaxAbs = 0;
  probe.forEach((ex, b) => {
    const ts = fuse(params, ex.x, ex.present);
    for (let c = 0; c < NUM_LABELS; c++) {
      parityMaxAbs = Math.max(
        parityMaxAbs,
        Math.abs((onnxProbs[b * NUM_LABELS + c] ?? Number.NaN) - (ts[c] ?? 0)),
      );
    }
  });
  if (!(parityMaxAbs < 1e-5)) throw new Error(`onnx parity check failed: ${parityMaxAbs}`);
  log(`onnx parity max |Δ| ${parityMaxAbs.toExponential(2)} (absent channels filled with NaN)`);
  return { bytes, parityMaxAbs };
}

/** Learnt w and β per channel and category; null where the channel's model does not score it. */
function weightTable(params: FusionParams) {
  return CHANNELS.map((ch, k) => ({
    channel: ch,
    ...Object.fromEntries(
      FUSION_LABELS.map((label, c) => [
        label,
        (SCORED[k * NUM_LABELS + c] ?? 0) > 0
          ? { w: params.w[k * NUM_LABELS + c] ?? 0, beta: params.beta[k * NUM_LABELS + c] ?? 0 }
          : null,
      ]),
    ),
  }));
}

function fusionManifest(params: FusionParams, sha256: string, channel: ChannelModels, data: ScoredData) {
  const { textManifest, textSha } = channel;
  return {
    name: 'fusion',
    version: MODEL_VERSION,
    modality: 'fusion',
    file: 'model.onnx',
    sha256,
    inputs: [
      { name: FUSION_INPUT, dtype: 'float32', shape: ['batch', NUM_CHANNELS, NUM_LABELS], padValue: 0 },
      { name: 'present', dtype: 'float32', shape: ['batch', NUM_CHANNELS], padValue: 0 },
    ],
    outputs: [{ name: 'probs', dtype: 'float32', shape: ['batch', NUM_LABELS] }],
    labels: [...FUSION_LABELS],
    preprocess: {
      channels: [...CHANNELS],
      channelCategories: CHANNEL_CATEGORIES,
      unscoredCategories: CATEGORIES.filter((c) => !(FUSION_LABELS as readonly string[]).includes(c)),
      clip: params.clip,
      // A present channel's probability at or above this is a floor for the fused one (model.ts).
      strongChannel: params.strong,
      textModel: { name: textManifest.name, version: textManifest.version, sha256: textSha },
    },
    source:
      `Trained by model-artifacts/fusion/train.ts (seed ${SEED}) on posts composed from the multimodal ` +
      `evaluation set (model-artifacts/eval, dataset v${data.dataset.version}): text-toxicity ${textManifest.version} on ` +
      `validation-split texts of the text model's sources (its model card), ` +
      `as typed, as read back by tesseract.js from rendered pictures, and as transcribed from flite speech; ` +
      `image channel's sexual entry simulated (Beta(${IMAGE_BETA.a}, ${IMAGE_BETA.b}) teacher, no labelled images).`,
    license: 'Apache-2.0 (this project). Derived from the text-toxicity model; see its licence note.',
  };
}

/** Everything metrics.json records, gathered from the steps of `main`. */
interface RunResults {
  data: ScoredData;
  sets: EvalSets;
  clipSearch: ClipCandidate[];
  dropout: DropoutChoice;
  params: FusionParams;
  calibration: ReturnType<typeof calibrationReport>;
  feature: ReturnType<typeof trainFeatureFusion>;
  comparisons: Comparisons;
  bytes: Uint8Array;
  sha256: string;
  parityMaxAbs: number;
  trainSeconds: number;
  totalSeconds: number;
}

function fusionMetrics(r: RunResults) {
  const { valPools, testPools, dataset } = r.data;
  const { params, comparisons } = r;
  return {
    model: { name: 'fusion', version: MODEL_VERSION, sha256: r.sha256, bytes: r.bytes.length },
    training: {
      ...TRAINING,
      seed: SEED,
      trainPosts: TRAIN_POSTS,
      selectionPosts: SELECTION_POSTS,
      testPosts: TEST_POSTS,
      keepPart: KEEP_PART,
      losses: r.dropout.losses,
    },
    data: {
      datasetVersion: dataset.version,
      validation: {
        captions: valPools.captions.length,
        images: valPools.images.length,
        clips: valPools.audio.length,
      },
      test: {
        captions: testPools.captions.length,
        images: testPools.images.length,
        clips: testPools.audio.length,
      },
      ocrEmpty: {
        validation: valPools.images.filter((i) => !i.ocr).length,
        test: testPools.images.filter((i) => !i.ocr).length,
      },
      transcriptEmpty: {
        validation: valPools.audio.filter((a) => !a.speech).length,
        test: testPools.audio.filter((a) => !a.speech).length,
      },
      testExamples: r.sets.testExamples.length,
    },
    clip: params.clip,
    strong: params.strong,
    clipSearch: r.clipSearch.map(({ lo, loss }) => ({ lo, loss })),
    params: weightTable(params),
    intercepts: Object.fromEntries(FUSION_LABELS.map((l, c) => [l, params.bias[c] ?? 0])),
    bestSingleChannel: Object.fromEntries(FUSION_LABELS.map((l, c) => [l, comparisons.best[c]])),
    test: comparisons.comparison,
    testWithMissingParts: comparisons.comparisonDropped,
    testMix: comparisons.comparisonMix,
    aurocDiffs: comparisons.aurocDiffs,
    calibration: r.calibration,
    dropout: r.dropout.dropout,
    sexualOnTextImages: comparisons.imageFpr,
    featureFusion: { features: r.feature.featureCount, ...FEATURE_FUSION, seconds: r.feature.featureSeconds },
    previousModel: PREVIOUS.version,
    onnx: { parityMaxAbs: r.parityMaxAbs },
    timing: { trainSeconds: r.trainSeconds, totalSeconds: r.totalSeconds },
  };
}

function writeModelDir(outDir: string, bytes: Uint8Array, manifest: object, metrics: Metrics): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), bytes);
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(join(outDir, 'MODEL_CARD.md'), modelCard(metrics));
}

async function main(): Promise<void> {
  const args = parseTrainArgs();
  const t0 = performance.now();
  const channel = await loadChannelModels(args.textModel, args.imageModel);
  const data = await scoreParts(args.dataDir, channel.models);
  const posts = composeAllPosts(data.valPools, data.testPools);
  const selExamples = realise(posts.selPosts, mulberry32(SEED + 5), true);
  const decided = args.withDecisions ? readDecisionsJsonl(args.withDecisions) : [];
  const decisions = decisionRows(decided, args.decisionWeight);
  if (args.withDecisions)
    log(
      `${decisions.length / args.decisionWeight} reviewer decision rows from ${args.withDecisions} (× ${args.decisionWeight})`,
    );

  const tTrain = performance.now();
  const { clipSearch, chosen } = searchClipFloor(posts.trainPosts, selExamples, decisions);
  // Validation parts in a separate composition of posts: the mix both choices below are made on
  // (reviewer decisions are real pipeline input, so they join it, once each).
  const calMix = [...uploadMix(data.valPools, posts.selPosts), ...decisionRows(decided)];
  const dropout = chooseDropout(posts.trainPosts, chosen, calMix, decisions);
  const recalibrated = recalibrate(dropout.uncalibrated, calMix);
  const platt = recalibrated.platt;
  // Strong channels are never silenced (model.ts): part of the shipped model, so every figure below includes it.
  const params: FusionParams = { ...recalibrated.params, strong: STRONG_CHANNEL };
  const trainSeconds = (performance.now() - tTrain) / 1000;
  log(`trained in ${fmt(trainSeconds, 1)} s, clip floor ${chosen.lo}`);

  const sets = evaluationSets(posts, data.testPools);
  const calibration = calibrationReport(dropout.uncalibrated, params, platt, sets.testMix);
  const feature = trainFeatureFusion(posts.trainPosts, data.valPools, params.clip);
  const comparisons = compareWithAlternatives(sets, params, dropout.alternative, feature.featureScorer);
  const { bytes, parityMaxAbs } = await exportAndCheck(params, sets.testExamples);

  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const totalSeconds = (performance.now() - t0) / 1000;
  const manifest = {
    ...fusionManifest(params, sha256, channel, data),
    ...(args.withDecisions
      ? {
          reviewerDecisions: {
            file: args.withDecisions,
            rows: decisions.length / args.decisionWeight,
            weight: args.decisionWeight,
          },
        }
      : {}),
  };
  const metrics = fusionMetrics({
    data,
    sets,
    clipSearch,
    dropout,
    params,
    calibration,
    feature,
    comparisons,
    bytes,
    sha256,
    parityMaxAbs,
    trainSeconds,
    totalSeconds,
  });
  writeModelDir(args.out, bytes, manifest, metrics);
  log(`wrote ${args.out} (${bytes.length} bytes) in ${fmt(totalSeconds, 1)} s`);
}

type Metrics = {
  model: { sha256: string; bytes: number };
  training: { losses: number[] };
  data: {
    validation: { captions: number; images: number; clips: number };
    test: { captions: number; images: number; clips: number };
    ocrEmpty: { validation: number; test: number };
    transcriptEmpty: { validation: number; test: number };
    testExamples: number;
  };
  clip: FusionParams['clip'];
  strong?: number;
  clipSearch: { lo: number; loss: number }[];
  params: Record<string, unknown>[];
  intercepts: Record<string, number>;
  bestSingleChannel: Record<string, string | undefined>;
  test: Record<string, Record<string, MethodReport>>;
  testWithMissingParts: Record<string, Record<string, MethodReport>>;
  aurocDiffs: Record<string, Record<string, { diff: number; lo: number; hi: number }>>;
  dropout: { used: boolean; selectionMeanAuroc: { withDropout: number; withoutDropout: number } };
  testMix: Record<string, Record<string, MethodReport>>;
  calibration: {
    label: string;
    platt?: { scale: number; shift: number };
    eceBefore: number;
    eceAfter: number;
  }[];
  sexualOnTextImages: { images: number; over05: number };
  featureFusion: { features: number; projDim: number };
  onnx: { parityMaxAbs: number };
  timing: { trainSeconds: number; totalSeconds: number };
};

const METHOD_TITLES: Record<string, string> = {
  fused: `**fusion ${MODEL_VERSION} (this model)**`,
  fusedAlt: 'same recipe, the other modality-dropout setting',
  previous: `fusion ${PREVIOUS.version} (trained on simulated OCR/speech noise)`,
  featureFusion: 'feature fusion (scores + projected embeddings)',
  max: 'max rule',
  mean: 'mean rule',
  bestSingle: 'best single channel',
};

export function comparisonTable(
  table: Record<string, Record<string, MethodReport>>,
  best: Record<string, string | undefined>,
): string {
  const rows = [
    '| category | method | AUROC | AP | P / R / F1 @ validation-best-F1 threshold |',
    '|---|---|---:|---:|---|',
  ];
  for (const label of TEXT_CATS) {
    for (const [key, title] of Object.entries(METHOD_TITLES)) {
      const r = table[key]?.[label];
      if (!r) continue;
      const name = key === 'bestSingle' ? `${title} (${best[label]})` : title;
      rows.push(
        `| ${label} | ${name} | ${fmt(r.auroc)} | ${fmt(r.ap)} | ${fmt(r.tuned.precision)} / ${fmt(r.tuned.recall)} / ${fmt(r.tuned.f1)} |`,
      );
    }
  }
  return rows.join('\n');
}

function modelCard(m: Metrics): string {
  const weightRows = m.params.map((p) => {
    const cell = (label: string): string => {
      const v = p[label] as { w: number; beta: number } | null;
      return v === null ? '–' : `w ${fmt(v.w, 2)}, β ${fmt(v.beta, 2)}`;
    };
    return `| ${String(p.channel)} | ${FUSION_LABELS.map(cell).join(' | ')} |`;
  });
  const f = (key: string, label: string): MethodReport | undefined => m.test[key]?.[label];
  const aucGain = TEXT_CATS.map(
    (l) => `${l} ${fmt(f('fused', l)?.auroc ?? Number.NaN)} vs max ${fmt(f('max', l)?.auroc ?? Number.NaN)}`,
  ).join(', ');
  return `# Model card: fusion ${MODEL_VERSION}

Generated by \`npm run train:fusion\` (model-artifacts/fusion/train.ts); figures also in \`metrics.json\`.
The full evaluation (per channel, fused, calibration, policy presets) is \`reports/EVALUATION.md\`
(\`npm run eval\`). sha256 of model.onnx: \`${m.model.sha256}\` (${m.model.bytes} bytes).

## What it is

Late fusion of per-channel model outputs into one probability per category
(\`${FUSION_LABELS.join(', ')}\`; since 2.0 every text channel scores violence and sexual harassment
too). Input \`${FUSION_INPUT}\` float32 [batch, 4, ${NUM_LABELS}] = channels
(${CHANNELS.join(', ')}) × categories, 0 where absent; \`present\` float32 [batch, 4] (1/0). For category c
and present channels S:

    p_c = sigmoid(b_c + Σ_{k∈S} (w_kc · logit(clip(p_kc, ${m.clip.lo}, ${m.clip.hi})) + β_kc)),   w_kc ≥ 0
    p_c ← max(p_c, max_{k∈S, p_kc ≥ ${m.strong ?? 'none'}} p_kc)      (a strong channel is never silenced)

The second line is a floor: fusion learns how far to trust each channel on average, and a clearly
spoken or written threat that recognition mangled must still reach review or block when its channel
alone is confident. Every figure below includes it. Recalibration (Platt) is at ${PREVALENCE * 100}% prevalence, the
text model's stated production base rate.

w_kc is the channel weighting (how much each channel's evidence counts, learnt per category), β_kc the
shift for channel k being present. w ≥ 0 (projected during training) keeps the output monotone in
every present channel; the floor ${m.clip.lo} was chosen among ${m.clipSearch.map((c) => c.lo).join(', ')} by loss on a second
composition of validation posts (${m.clipSearch.map((c) => `${c.lo}: ${fmt(c.loss, 4)}`).join(', ')}). The graph selects present channels
with \`Where\`, so an absent channel's values (even NaN) never reach the output. Pairs where a
channel's model does not score a category are fixed at w = β = 0:

| channel | scores |
|---|---|
${CHANNELS.map((ch) => `| ${ch} | ${(CHANNEL_CATEGORIES[ch] ?? []).join(', ')} |`).join('\n')}

The ONNX contract (inputs, outputs, labels) is unchanged from 1.0.0.

## Training data: real OCR and speech channels

Posts composed from the multimodal evaluation set (docs/EVALUATION.md, \`npm run eval:data\`):
a caption (text channel: the text model on a corpus text), and media — a picture of another text
(image channel: the image model; ocr channel: the text model on what tesseract.js read, **absent
when OCR read nothing**), a spoken text (speech channel: the text model on the pocketsphinx
transcript, absent when nothing was recognised), or both. The scenario — harm in the caption, the
media, both or neither — is drawn uniformly. A post's label is the OR of its parts' labels, including
media whose words OCR or speech recognition lost. Training posts use only the text model's
**validation** split (${m.data.validation.captions} captions, ${m.data.validation.images} pictures, ${m.data.validation.clips} clips); the results below use posts
from its **test** split (${m.data.test.captions} captions, ${m.data.test.images} pictures, ${m.data.test.clips} clips; ${m.data.testExamples} posts).
OCR read nothing from ${m.data.ocrEmpty.validation} validation and ${m.data.ocrEmpty.test} test pictures; speech recognition returned nothing for
${m.data.transcriptEmpty.validation} validation and ${m.data.transcriptEmpty.test} test clips.

- **Modality dropout**: every epoch, half the posts keep all their parts and the others keep each part
  with probability ${KEEP_PART} (at least one), and the label is recomputed from what remains. The same model
  was also trained without it; the one with the better mean AUROC on a validation mix like the
  pipeline's input (texts, pictures and clips alone, and posts) is shipped: with dropout
  ${fmt(m.dropout.selectionMeanAuroc.withDropout, 4)}, without ${fmt(m.dropout.selectionMeanAuroc.withoutDropout, 4)} → **${m.dropout.used ? 'with' : 'without'} modality dropout**.
  The other is the "other modality-dropout setting" row below.
- **image / sexual**: no labelled images exist. In training the image channel's \`sexual\` value is
  drawn from a calibrated-teacher assumption (p ~ Beta(${IMAGE_BETA.a}, ${IMAGE_BETA.b}), label ~ Bernoulli(p)), so the
  \`sexual\` weights encode that assumption only. On the ${m.sexualOnTextImages.images} test posts with a picture (all
  pictures of text, none sexual) the fused \`sexual\` probability was ≥ 0.5 for ${m.sexualOnTextImages.over05}.

Training: ${TRAIN_POSTS} posts, masked binary cross-entropy, Adam (lr ${TRAINING.lr}, batch ${TRAINING.batchSize}, ${TRAINING.epochs} epochs,
L2 ${TRAINING.l2} on w), seed ${SEED}; ${fmt(m.timing.trainSeconds, 1)} s for the clip search (whole script ${fmt(m.timing.totalSeconds, 0)} s).
ONNX vs TypeScript: max |Δp| = ${m.onnx.parityMaxAbs.toExponential(1)} with NaN in every absent channel.

**Recalibration.** The trained logits were Platt-scaled per category on a mix like the pipeline's
input (validation texts, pictures and clips alone, plus a separate composition of validation posts),
and the scale folded into w, β and b. ECE (10 bins) on the matching test mix, before → after:
${m.calibration.map((c) => `${c.label} ${fmt(c.eceBefore)} → ${fmt(c.eceAfter)} (scale ${fmt(c.platt?.scale ?? Number.NaN, 2)}, shift ${fmt(c.platt?.shift ?? Number.NaN, 2)})`).join('; ')}.

Learnt parameters (after recalibration):

| channel | ${FUSION_LABELS.join(' | ')} |
|---|${FUSION_LABELS.map(() => '---').join('|')}|
${weightRows.join('\n')}
| intercept | ${FUSION_LABELS.map((l) => fmt(m.intercepts[l] ?? Number.NaN, 2)).join(' | ')} |

## Held-out results (test-split posts)

Thresholds: each method's best-F1 threshold on the validation posts, applied to the test posts.
"Best single channel" = the channel with the best validation AUROC, 0 where it is absent. AUROC,
fused vs max rule: ${aucGain}.

${comparisonTable(m.test, m.bestSingleChannel)}

On the test mix the pipeline mostly sees (test texts, pictures and clips alone, and the test posts):

${comparisonTable(m.testMix, m.bestSingleChannel)}

Same as the first table, with parts of each test post randomly missing (as modality dropout draws them):

${comparisonTable(m.testWithMissingParts, m.bestSingleChannel)}

AUROC differences on the test posts with 95% paired-bootstrap intervals (${BOOTSTRAP} resamples of posts;
posts share their ${m.data.test.images} pictures and ${m.data.test.clips} clips, so the real uncertainty is larger):

| category | fused − max rule | fused − fusion ${PREVIOUS.version} | feature fusion − fused |
|---|---|---|---|
${TEXT_CATS.map((l) => {
  const cell = (k: string) => {
    const d = m.aurocDiffs[k]?.[l];
    return d ? `${d.diff >= 0 ? '+' : ''}${fmt(d.diff)} [${fmt(d.lo)}, ${fmt(d.hi)}]` : 'n/a';
  };
  return `| ${l} | ${cell('fusedMinusMax')} | ${cell('fusedMinusPrevious')} | ${cell('featureMinusFused')} |`;
}).join('\n')}

**Feature fusion** (${m.featureFusion.features} standardised features: presence, clipped logits, the text model's
embedding per text channel and a ${m.featureFusion.projDim}-d random projection of the image embedding; logistic
regression, trained on the same posts) is compared above. ${
    TEXT_CATS.every((l) => (m.aurocDiffs.featureMinusFused?.[l]?.lo ?? 0) > 0)
      ? 'It measured better on every category, beyond the bootstrap interval; shipping it would need a new fusion contract (embedding inputs), which this version does not make yet.'
      : 'It does not win clearly (see the intervals above: not better on every category beyond noise), and it would need a new fusion contract (embedding inputs) and give up the monotonicity of w ≥ 0, so it is not shipped: the served model stays scores-only with the contract unchanged.'
  }
The speech channel's weights came out at ${TEXT_CATS.map((l) => fmt((m.params.find((p) => p.channel === 'speech')?.[l] as { w: number } | null)?.w ?? Number.NaN, 2)).join(' / ')}
(hate / harassment / offensive): pocketsphinx transcripts of these clips carry almost no signal (see
reports/EVALUATION.md), so the model learnt to use only the fact that a clip is present.

## Limitations

- Composed posts: real model outputs on real texts, but the pairing of caption and media is random,
  so channels are independent given the labels; real posts have correlated channels (a caption about
  its picture) and context that defuses or creates harm across channels, which OR labels ignore.
- Pictures are rendered texts (machine fonts, synthetic backgrounds), speech is flite (synthetic): real
  photos, handwriting and human voices are harder for OCR and recognition.
- \`sexual\` is a pass-through of the image channel by construction (see above).
- Inherits every limitation of the text-toxicity model (English, bags of n-grams, label noise).
`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
