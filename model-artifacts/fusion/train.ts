/**
 * Trains the late-fusion classifier on items composed from the text model's real predictions
 * (validation split), evaluates it against max/mean/single-channel rules on items composed from
 * the text test split, exports it to ONNX and writes model-artifacts/models/fusion/.
 *
 *   npm run train:fusion [-- --data-dir DIR] [--text-model DIR] [--out DIR]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { type LabelledText, loadCorpus, TEXT_LABELS } from '#model-artifacts/text-model/data.ts';
import {
  auroc,
  bestF1Threshold,
  type CategoryReport,
  categoryReport,
  ece,
} from '#model-artifacts/text-model/metrics.ts';
import { runTextModel } from '#model-artifacts/text-model/onnx.ts';
import { CATEGORIES, CHANNELS } from '#shared/domain/taxonomy.ts';
import { featurize, parseFeaturizerConfig } from '#shared/text/featurize.ts';
import {
  drawPresence,
  IMAGE_BETA,
  type Item,
  imagePart,
  itemInput,
  itemLabels,
  mulberry32,
  ocrNoise,
  type Part,
  type Rng,
  speechNoise,
} from './compose.ts';
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
} from './model.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const MODEL_VERSION = '1.0.0';
const SEED = 20_240_602;
const TRAIN_ITEMS = 20_000;
const TEST_ITEMS = 10_000;
const TRAINING = { epochs: 60, batchSize: 512, lr: 0.05, l2: 1e-4 };
/** Probability that a text-like part is drawn from the benign pool (offensive = 0). */
const BENIGN_SHARE = 0.5;
const SEXUAL = FUSION_LABELS.indexOf('sexual');
/** Candidate probability floors before the logit, and the fixed ceiling. */
const CLIP_FLOORS = [1e-4, 0.01, 0.05, 0.1, 0.2];
const CLIP_CEILING = 1 - 1e-4;

const log = (msg: string): void => {
  process.stderr.write(`[train:fusion] ${msg}\n`);
};

/** The three text-channel renderings of one labelled text, scored by the real text model. */
interface TextVariants {
  clean: Part;
  ocr: Part;
  speech: Part;
}

/** Text-model probabilities [hate, harassment, offensive] → fusion order, with the text's labels. */
function textPart(probs: ArrayLike<number>, e: LabelledText): Part {
  const p = new Float32Array(NUM_LABELS);
  const y = new Float32Array(NUM_LABELS);
  const mask = new Float32Array(NUM_LABELS);
  // Texts carry no `sexual` annotation; they are taken as non-sexual (only images decide it).
  mask[SEXUAL] = 1;
  TEXT_LABELS.forEach((label, k) => {
    const c = FUSION_LABELS.indexOf(label);
    p[c] = probs[k] ?? 0;
    y[c] = e.y[k] ?? 0;
    mask[c] = e.mask[k] ?? 0;
  });
  return { probs: p, y, mask };
}

async function scoreVariants(
  session: ort.InferenceSession,
  config: ReturnType<typeof parseFeaturizerConfig>,
  texts: LabelledText[],
  rnd: Rng,
): Promise<{ variants: TextVariants[]; samples: { clean: string; ocr: string; speech: string }[] }> {
  const renderings = texts.map((e) => ({
    clean: e.text,
    ocr: ocrNoise(e.text, rnd),
    speech: speechNoise(e.text, rnd),
  }));
  const score = async (key: 'clean' | 'ocr' | 'speech'): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (let i = 0; i < renderings.length; i += 256) {
      const batch = renderings.slice(i, i + 256).map((r) => featurize(r[key], config));
      out.push(...(await runTextModel(session, batch)).probs);
    }
    return out;
  };
  const [clean, ocr, speech] = [await score('clean'), await score('ocr'), await score('speech')];
  const variants = texts.map((e, i) => ({
    clean: textPart(clean[i] ?? [], e),
    ocr: textPart(ocr[i] ?? [], e),
    speech: textPart(speech[i] ?? [], e),
  }));
  // Card examples come from benign texts: the corpora are full of slurs by design.
  const off = TEXT_LABELS.indexOf('offensive');
  // OLID's are used because its user names are already masked as @USER.
  const samples = renderings
    .filter(
      (_, i) => texts[i]?.source === 'olid' && texts[i]?.y[off] === 0 && (texts[i]?.text.length ?? 0) > 60,
    )
    .slice(0, 3);
  return { variants, samples };
}

/** Items whose text-like parts are drawn half from benign and half from offensive texts. */
function composeItems(n: number, texts: LabelledText[], variants: TextVariants[], rnd: Rng): Item[] {
  const off = TEXT_LABELS.indexOf('offensive');
  const benign = texts.flatMap((e, i) => (e.y[off] === 0 ? [i] : []));
  const harmful = texts.flatMap((e, i) => (e.y[off] === 1 ? [i] : []));
  const draw = (): TextVariants => {
    const pool = rnd() < BENIGN_SHARE ? benign : harmful;
    const v = variants[pool[Math.floor(rnd() * pool.length)] ?? 0];
    if (v === undefined) throw new Error('empty text pool');
    return v;
  };
  return Array.from({ length: n }, () => {
    const parts: Record<(typeof CHANNELS)[number], Part> = {
      text: draw().clean,
      image: imagePart(rnd, SEXUAL),
      ocr: draw().ocr,
      speech: draw().speech,
    };
    return { parts: CHANNELS.map((ch) => parts[ch]) };
  });
}

interface Example {
  x: Float32Array;
  present: Float32Array;
  y: Float32Array;
  mask: Float32Array;
}

const realise = (items: Item[], presences: Float32Array[]): Example[] =>
  items.map((item, i) => {
    const present = presences[i] ?? new Float32Array(NUM_CHANNELS).fill(1);
    return { x: itemInput(item, present), present, ...itemLabels(item, present) };
  });

/**
 * Masked logistic regression per category with Adam; weights projected onto w ≥ 0. Modality
 * dropout: every epoch draws a fresh non-empty set of present channels per item and recomputes
 * the item's labels from the parts that remain (an absent channel is absent, not hidden harm).
 */
function trainFusion(
  items: Item[],
  rnd: Rng,
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
    const examples = realise(
      items,
      items.map(() => drawPresence(rnd)),
    );
    let lossSum = 0;
    for (let start = 0; start < examples.length; start += TRAINING.batchSize) {
      const batch = examples.slice(start, start + TRAINING.batchSize);
      for (const g of grads) g.fill(0);
      for (const ex of batch) {
        const z = fusedLogits(params, ex.x, ex.present);
        for (let c = 0; c < NUM_LABELS; c++) {
          const mk = ex.mask[c] ?? 0;
          if (mk === 0) continue;
          const zc = z[c] ?? 0;
          const y = ex.y[c] ?? 0;
          lossSum += Math.max(zc, 0) - zc * y + Math.log1p(Math.exp(-Math.abs(zc)));
          const d = 1 / (1 + Math.exp(-zc)) - y;
          const [gw, gb, gi] = grads as [Float64Array, Float64Array, Float64Array];
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
          const gi = (g[i] ?? 0) / batch.length + (j === 0 ? TRAINING.l2 * (param[i] ?? 0) : 0);
          mj[i] = 0.9 * (mj[i] ?? 0) + 0.1 * gi;
          vj[i] = 0.999 * (vj[i] ?? 0) + 0.001 * gi * gi;
          const upd =
            (TRAINING.lr * ((mj[i] ?? 0) / (1 - 0.9 ** t))) /
            (Math.sqrt((vj[i] ?? 0) / (1 - 0.999 ** t)) + 1e-8);
          param[i] = (param[i] ?? 0) - upd;
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

/** Mean masked cross-entropy of the fused model on fixed examples. */
function meanLoss(params: FusionParams, examples: Example[]): number {
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

type Scorer = (ex: Example) => number[];

function channelsScoring(c: number): number[] {
  return CHANNELS.flatMap((_, k) => ((SCORED[k * NUM_LABELS + c] ?? 0) > 0 ? [k] : []));
}

const maxRule: Scorer = (ex) =>
  FUSION_LABELS.map((_, c) =>
    Math.max(
      0,
      ...channelsScoring(c).map((k) => ((ex.present[k] ?? 0) > 0.5 ? (ex.x[k * NUM_LABELS + c] ?? 0) : 0)),
    ),
  );

const meanRule: Scorer = (ex) =>
  FUSION_LABELS.map((_, c) => {
    const ks = channelsScoring(c).filter((k) => (ex.present[k] ?? 0) > 0.5);
    return ks.length === 0 ? 0 : ks.reduce((s, k) => s + (ex.x[k * NUM_LABELS + c] ?? 0), 0) / ks.length;
  });

/** One channel alone: its probability where present, 0 (nothing to flag) where absent. */
const single =
  (k: number): Scorer =>
  (ex) =>
    FUSION_LABELS.map((_, c) => ((ex.present[k] ?? 0) > 0.5 ? (ex.x[k * NUM_LABELS + c] ?? 0) : 0));

function column(examples: Example[], scorer: Scorer, c: number): [number[], number[]] {
  const s: number[] = [];
  const y: number[] = [];
  for (const ex of examples) {
    if ((ex.mask[c] ?? 0) === 0) continue;
    s.push(scorer(ex)[c] ?? 0);
    y.push(ex.y[c] ?? 0);
  }
  return [s, y];
}

/** Test report of a scorer; its tuned thresholds come from the composed training items. */
function report(scorer: Scorer, tuneOn: Example[], test: Example[]): Record<string, CategoryReport> {
  return Object.fromEntries(
    FUSION_LABELS.map((label, c) => {
      const [ts, ty] = column(tuneOn, scorer, c);
      const [s, y] = column(test, scorer, c);
      return [label, categoryReport(s, y, bestF1Threshold(ts, ty))];
    }),
  );
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      'text-model': { type: 'string', default: join(REPO, 'model-artifacts/models/text-toxicity') },
      out: { type: 'string', default: join(REPO, 'model-artifacts/models/fusion') },
    },
  });
  const t0 = performance.now();
  const textDir = values['text-model'];
  const textManifest = JSON.parse(readFileSync(join(textDir, 'manifest.json'), 'utf8')) as {
    name: string;
    version: string;
    sha256: string;
    preprocess: unknown;
  };
  const textBytes = readFileSync(join(textDir, 'model.onnx'));
  const textSha = createHash('sha256').update(textBytes).digest('hex');
  if (textSha !== textManifest.sha256) throw new Error(`text model sha256 mismatch: ${textSha}`);
  const featurizer = parseFeaturizerConfig(textManifest.preprocess);
  const textSession = await ort.InferenceSession.create(textBytes);

  const corpus = loadCorpus(values['data-dir']);
  const validation = corpus.examples.filter((e) => e.split === 'validation');
  const testTexts = corpus.examples.filter((e) => e.split === 'test');
  const rnd = mulberry32(SEED);
  const trainScored = await scoreVariants(textSession, featurizer, validation, rnd);
  const testScored = await scoreVariants(textSession, featurizer, testTexts, mulberry32(SEED + 1));
  log(`scored ${validation.length} validation and ${testTexts.length} test texts (clean, OCR, speech)`);

  // How much the simulated recognition noise costs the text model itself (test texts).
  const degradation = TEXT_LABELS.map((label) => {
    const c = FUSION_LABELS.indexOf(label);
    const col = (key: keyof TextVariants): number => {
      const rows = testScored.variants.filter((v) => (v.clean.mask[c] ?? 0) > 0);
      return auroc(
        rows.map((v) => v[key].probs[c] ?? 0),
        rows.map((v) => v.clean.y[c] ?? 0),
      );
    };
    return { label, clean: col('clean'), ocr: col('ocr'), speech: col('speech') };
  });

  const trainItems = composeItems(TRAIN_ITEMS, validation, trainScored.variants, rnd);
  const testRnd = mulberry32(SEED + 2);
  const testItems = composeItems(TEST_ITEMS, testTexts, testScored.variants, testRnd);
  // The clip floor is chosen by loss on a second composition of validation texts.
  const selRnd = mulberry32(SEED + 3);
  const selItems = composeItems(TRAIN_ITEMS / 2, validation, trainScored.variants, selRnd);
  const selExamples = realise(
    selItems,
    selItems.map(() => drawPresence(selRnd)),
  );
  const tTrain = performance.now();
  const clipSearch = CLIP_FLOORS.map((lo) => {
    const fit = trainFusion(trainItems, mulberry32(SEED + 4), { lo, hi: CLIP_CEILING });
    const loss = meanLoss(fit.params, selExamples);
    log(`clip floor ${lo}: selection loss ${fmt(loss, 4)}`);
    return { lo, loss, ...fit };
  });
  const chosen = clipSearch.reduce((a, b) => (b.loss < a.loss ? b : a));
  const { params, losses } = chosen;
  const trainSeconds = (performance.now() - tTrain) / 1000;
  log(
    `trained in ${fmt(trainSeconds, 1)} s, clip floor ${chosen.lo}, final loss ${fmt(losses.at(-1) ?? Number.NaN, 4)}`,
  );

  // Fixed presence draws for threshold tuning (train items) and for the held-out test items.
  const tuneExamples = realise(
    trainItems,
    trainItems.map(() => drawPresence(rnd)),
  );
  const testExamples = realise(
    testItems,
    testItems.map(() => drawPresence(testRnd)),
  );
  const fused: Scorer = (ex) => Array.from(fuse(params, ex.x, ex.present));
  const singles = CHANNELS.map((ch, k) => ({ ch, scorer: single(k) }));
  const bestSingle = FUSION_LABELS.map((_, c) => {
    const candidates = singles.filter((s) => (SCORED[CHANNELS.indexOf(s.ch) * NUM_LABELS + c] ?? 0) > 0);
    let best = candidates[0];
    let bestAuc = -1;
    for (const cand of candidates) {
      const a = auroc(...column(tuneExamples, cand.scorer, c));
      if (a > bestAuc) {
        bestAuc = a;
        best = cand;
      }
    }
    return best?.ch ?? 'text';
  });
  const bestSingleScorer: Scorer = (ex) =>
    FUSION_LABELS.map((_, c) => single(CHANNELS.indexOf(bestSingle[c] ?? 'text'))(ex)[c] ?? 0);
  const comparison = {
    fused: report(fused, tuneExamples, testExamples),
    max: report(maxRule, tuneExamples, testExamples),
    mean: report(meanRule, tuneExamples, testExamples),
    bestSingle: report(bestSingleScorer, tuneExamples, testExamples),
  };
  const byPresentCount = [1, 2, 3, 4].map((n) => {
    const subset = testExamples.filter((ex) => ex.present.reduce((a, b) => a + b, 0) === n);
    return {
      channels: n,
      items: subset.length,
      auroc: Object.fromEntries(
        (['fused', 'max', 'mean'] as const).map((name) => [
          name,
          Object.fromEntries(
            FUSION_LABELS.map((label, c) => [
              label,
              auroc(...column(subset, { fused, max: maxRule, mean: meanRule }[name], c)),
            ]),
          ),
        ]),
      ),
    };
  });
  const fusedEce = Object.fromEntries(
    FUSION_LABELS.map((label, c) => [label, ece(...column(testExamples, fused, c))]),
  );

  // Export and check against the TypeScript forward pass, with garbage in absent channels.
  const bytes = exportFusionModel(params, {
    name: 'fusion',
    version: MODEL_VERSION,
    labels: FUSION_LABELS.join(','),
    channels: CHANNELS.join(','),
  });
  const session = await ort.InferenceSession.create(bytes);
  const probe = testExamples.slice(0, 2000);
  const x = new Float32Array(probe.length * NUM_CHANNELS * NUM_LABELS);
  const present = new Float32Array(probe.length * NUM_CHANNELS);
  probe.forEach((ex, b) => {
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

  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const totalSeconds = (performance.now() - t0) / 1000;
  const weights = CHANNELS.map((ch, k) => ({
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
  const manifest = {
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
      textModel: { name: textManifest.name, version: textManifest.version, sha256: textSha },
    },
    source:
      `Trained by model-artifacts/fusion/train.ts (seed ${SEED}) on items composed from the ` +
      `text-toxicity ${textManifest.version} model's predictions on the validation split of ` +
      corpus.files.map((f) => `${f.file} (sha256 ${f.sha256})`).join(' and ') +
      `; image channel simulated (Beta(${IMAGE_BETA.a}, ${IMAGE_BETA.b}) teacher, no labelled images).`,
    license: 'Apache-2.0 (this project). Derived from the text-toxicity model; see its licence note.',
  };
  const metrics = {
    model: { name: 'fusion', version: MODEL_VERSION, sha256, bytes: bytes.length },
    training: {
      ...TRAINING,
      seed: SEED,
      trainItems: TRAIN_ITEMS,
      testItems: TEST_ITEMS,
      benignShare: BENIGN_SHARE,
      losses,
    },
    clip: params.clip,
    clipSearch: clipSearch.map(({ lo, loss }) => ({ lo, loss })),
    params: weights,
    intercepts: Object.fromEntries(FUSION_LABELS.map((l, c) => [l, params.bias[c] ?? 0])),
    textModelUnderNoise: degradation,
    noiseSamples: testScored.samples,
    bestSingleChannel: Object.fromEntries(FUSION_LABELS.map((l, c) => [l, bestSingle[c]])),
    test: comparison,
    testByPresentCount: byPresentCount,
    fusedEce,
    onnx: { parityMaxAbs },
    timing: { trainSeconds, totalSeconds },
  };
  const outDir = values.out;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), bytes);
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(join(outDir, 'MODEL_CARD.md'), modelCard(metrics, bestSingle));
  log(`wrote ${outDir} (${bytes.length} bytes) in ${fmt(totalSeconds, 1)} s`);
}

function modelCard(
  m: {
    model: { sha256: string; bytes: number };
    clip: FusionParams['clip'];
    clipSearch: { lo: number; loss: number }[];
    params: Record<string, unknown>[];
    intercepts: Record<string, number>;
    textModelUnderNoise: { label: string; clean: number; ocr: number; speech: number }[];
    noiseSamples: { clean: string; ocr: string; speech: string }[];
    test: Record<'fused' | 'max' | 'mean' | 'bestSingle', Record<string, CategoryReport>>;
    testByPresentCount: { channels: number; items: number; auroc: Record<string, Record<string, number>> }[];
    fusedEce: Record<string, number>;
    onnx: { parityMaxAbs: number };
    timing: { trainSeconds: number; totalSeconds: number };
  },
  bestSingle: string[],
): string {
  const methods = [
    ['fused (this model)', 'fused'],
    ['max rule', 'max'],
    ['mean rule', 'mean'],
    ['best single channel', 'bestSingle'],
  ] as const;
  const rows = FUSION_LABELS.flatMap((label, c) =>
    methods.map(([title, key]) => {
      const r = m.test[key][label];
      const name = key === 'bestSingle' ? `${title} (${bestSingle[c]})` : title;
      return r === undefined
        ? ''
        : `| ${label} | ${name} | ${fmt(r.auroc)} | ${fmt(r.at05.f1)} | ${fmt(r.atTuned.f1)} | ${fmt(r.atTuned.precision)} / ${fmt(r.atTuned.recall)} |`;
    }),
  );
  const weightRows = m.params.map((p) => {
    const cell = (label: string): string => {
      const v = p[label] as { w: number; beta: number } | null;
      return v === null ? '–' : `w ${fmt(v.w, 2)}, β ${fmt(v.beta, 2)}`;
    };
    return `| ${String(p.channel)} | ${FUSION_LABELS.map(cell).join(' | ')} |`;
  });
  const posByCount = m.testByPresentCount.map(
    (r) =>
      `| ${r.channels} | ${r.items} | ${(['hate', 'harassment', 'offensive'] as const).map((l) => `${fmt(r.auroc.fused?.[l] ?? Number.NaN)} / ${fmt(r.auroc.max?.[l] ?? Number.NaN)} / ${fmt(r.auroc.mean?.[l] ?? Number.NaN)}`).join(' | ')} |`,
  );
  return `# Model card: fusion ${MODEL_VERSION}

Generated by \`npm run train:fusion\` (model-artifacts/fusion/train.ts); figures also in \`metrics.json\`.
sha256 of model.onnx: \`${m.model.sha256}\` (${m.model.bytes} bytes).

## What it is

Late fusion of per-channel model outputs into one probability per category
(\`${FUSION_LABELS.join(', ')}\`; \`violence\` has no trained model anywhere and is not fused: the
pipeline reports it as unscored). Input \`${FUSION_INPUT}\` float32 [batch, 4, 4] = channels
(${CHANNELS.join(', ')}) × categories, 0 where absent; \`present\` float32 [batch, 4] (1/0). For category c
and present channels S:

    p_c = sigmoid(b_c + Σ_{k∈S} (w_kc · logit(clip(p_kc, ${m.clip.lo}, ${m.clip.hi})) + β_kc)),   w_kc ≥ 0

w ≥ 0 (projected during training) makes the output monotone in every present channel's probability;
the floor ${m.clip.lo} was chosen among ${m.clipSearch.map((c) => c.lo).join(', ')} by loss on a second composition of
validation items (${m.clipSearch.map((c) => `${c.lo}: ${fmt(c.loss, 4)}`).join(', ')}): with OR labels, a floor bounds how far one
clearly benign channel can cancel a harmful one. The graph selects present channels with \`Where\`, so an absent channel's values (even NaN) never reach
the output. Pairs where a channel's model does not score a category are fixed at w = β = 0:

| channel | scores |
|---|---|
${CHANNELS.map((ch) => `| ${ch} | ${CHANNEL_CATEGORIES[ch].join(', ')} |`).join('\n')}

If no present channel scores a category, its output is the learnt prior for that presence pattern
(e.g. \`sexual\` for a text-only post); the pipeline should report such a category as unscored for
that item rather than trust the prior. The \`image\` channel's \`sexual\` entry is expected to be a
calibrated probability derived from the image model's classes by the pipeline.

> **Contract note.** docs/CONTRACTS.md names both the input and the output \`probs\`. ONNX cannot
> define one name twice (onnxruntime: "Duplicate definition of name (probs)"), so the input is
> \`${FUSION_INPUT}\`; the output is \`probs\` as agreed. The manifest records the names.

## Training data (composed, and what that means)

There is no labelled multimodal data. Items are composed from parts:

- **text / ocr / speech** parts: texts of the text model's **validation** split (never used to train
  the text model), scored by the committed \`text-toxicity\` ONNX model through the real featurizer.
  OCR parts are the same kind of text with simulated recognition noise (dropped and confused
  characters such as l→1, o→0, m→rn, lost/spurious spaces, emoji lost); speech parts with simulated
  speech-recognition noise (only spoken words: no URLs, mentions, emoji or punctuation; lowercase;
  12% of words dropped and 12% replaced by common short words). Each text-like part is drawn from
  the benign pool (offensive = 0) with probability ${BENIGN_SHARE}, else from the offensive pool, independently per
  channel, so harm sits in one, several or no channel.
- **image** part: **no labelled images exist here.** For \`sexual\` the image model is treated as a
  calibrated teacher: its probability p ~ Beta(${IMAGE_BETA.a}, ${IMAGE_BETA.b}) and the label ~ Bernoulli(p). The
  fusion weights for \`sexual\` therefore only encode that assumption (they come out as a near
  pass-through); they are not evidence about the real image model. Images carry no
  hate/harassment/offensive labels and texts are taken as non-sexual (neither dataset annotates it).
- **item label** per category = OR of the labels of its present parts (unknown if none is positive
  and some present part's label is unknown, e.g. Davidson harassment).
- **modality dropout**: every epoch draws a fresh non-empty set of present channels per item (each
  channel with probability 0.5) and recomputes the label from the parts that remain, so the model
  sees every subset and learns that an absent channel is absent, not hidden harm.

Example renderings of benign test texts:

${m.noiseSamples.map((s) => `- clean: \`${s.clean.replace(/`/g, "'")}\`\n  - ocr: \`${s.ocr.replace(/`/g, "'")}\`\n  - speech: \`${s.speech.replace(/`/g, "'")}\``).join('\n')}

Text model AUROC on the test texts by rendering (how much the simulated noise costs):

| category | clean | OCR noise | speech noise |
|---|---:|---:|---:|
${m.textModelUnderNoise.map((d) => `| ${d.label} | ${fmt(d.clean)} | ${fmt(d.ocr)} | ${fmt(d.speech)} |`).join('\n')}

Training: ${TRAIN_ITEMS} items, masked binary cross-entropy, Adam (lr ${TRAINING.lr}, batch ${TRAINING.batchSize}, ${TRAINING.epochs}
epochs, L2 ${TRAINING.l2} on w), seed ${SEED}; ${fmt(m.timing.trainSeconds, 1)} s (whole script ${fmt(m.timing.totalSeconds, 0)} s including scoring
the texts). ONNX vs TypeScript: max |Δp| = ${m.onnx.parityMaxAbs.toExponential(1)} with NaN in every absent channel.

Learnt parameters:

| channel | ${FUSION_LABELS.join(' | ')} |
|---|${FUSION_LABELS.map(() => '---').join('|')}|
${weightRows.join('\n')}
| intercept | ${FUSION_LABELS.map((l) => fmt(m.intercepts[l] ?? Number.NaN, 2)).join(' | ')} |

## Held-out results

${TEST_ITEMS} items composed the same way from the text model's **test** split (present channels drawn
once, uniformly over non-empty subsets). Thresholds for "tuned" are each method's best-F1 threshold
on the composed training items. "Best single channel" = the channel with the best AUROC on the
training items, using 0 where it is absent.

| category | method | AUROC | F1 @ 0.5 | F1 @ tuned | P / R @ tuned |
|---|---|---:|---:|---:|---|
${rows.filter((r) => r !== '').join('\n')}

Fused ECE (10 bins) on the test items: ${FUSION_LABELS.map((l) => `${l} ${fmt(m.fusedEce[l] ?? Number.NaN)}`).join(', ')}.

AUROC by number of present channels (fused / max / mean):

| present channels | items | hate | harassment | offensive |
|---:|---:|---|---|---|
${posByCount.join('\n')}

## Limitations

- Everything here is composed: real text-model predictions on real tweets, but simulated OCR and
  speech noise, independent parts glued into items, and a simulated image channel. Real posts have
  correlated channels (a caption about its image), real OCR/ASR errors (see MODELS.md: pocketsphinx is
  far noisier than simulated here) and real image-model errors. Retrain on real labelled
  multimodal items when they exist.
- The OR labelling assumes harm in any part makes the whole item harmful; context that defuses or
  creates harm across channels (a benign caption on a hateful image) is not modelled.
- \`sexual\` fusion is a pass-through of the image channel by construction (see above); the text
  channels cannot contribute to it because no text data is labelled for sexual content.
- Inherits every limitation of the text-toxicity model (tweets, English, label noise).
`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
