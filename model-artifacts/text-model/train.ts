/**
 * Trains the `text-toxicity` model on the thirteen labelled sources of ../shared/data plus the
 * project's generated text (data.ts, generated.ts), compares two architectures leave-one-source-out
 * and keeps the one that wins out of source, calibrates it for a stated production prevalence,
 * evaluates it per source (held-out test split) against the previous model, exports it to ONNX,
 * checks the graph against the TypeScript forward pass and writes
 * model-artifacts/models/text-toxicity/{model.onnx, manifest.json, metrics.json, MODEL_CARD.md}.
 *
 *   npm run train:text [-- --data-dir DIR] [--out DIR] [--loso-epochs N] [--no-loso]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSession } from '#shared/onnx/sessions.ts';
import {
  DEFAULT_FEATURIZER_CONFIG,
  type FeaturizerConfig,
  featurize,
  fnv1a32,
  parseFeaturizerConfig,
} from '#shared/text/featurize.ts';
import { modelCard } from './card.ts';
import {
  type Corpus,
  type LabelledText,
  loadCorpus,
  SOURCES,
  type Source,
  TEXT_LABELS,
  type TextLabel,
} from './data.ts';
import {
  type IdentityFigures,
  identityFigures,
  meanAuroc,
  meanBenignFlagged,
  paramsScorer,
  type Row,
  type SourceFigures,
  sourceFigures,
} from './evaluate.ts';
import { bestF1ThresholdAt, ece } from './metrics.ts';
import { forward, type TextModelParams } from './model.ts';
import { exportTextModel, paramsFromOnnx, runTextModel } from './onnx.ts';
import { fitPlatt, type TrainOptions, trainTextModel } from './trainer.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const MODEL_VERSION = '2.1.0';
export const SEED = 20_240_601;

/** The production base rate the probabilities and thresholds are calibrated for: 5% of texts harmful. */
export const PREVALENCE = 0.05;

/** The two architectures compared (hashed n-gram bags, exported by onnx.ts). */
export const ARCHITECTURES = {
  /** fastText-style: hashed n-grams → 32-dim weighted-mean embedding → ReLU layer of 32 → 5 sigmoids. */
  'bag-mlp': {
    dim: 32,
    hidden: 32,
    epochs: 3,
    batchSize: 32,
    lr: 0.003,
    featureDropout: 0.1,
    pooling: 'mean',
  },
  /**
   * The same rows pooled by mean and element-wise max side by side (64 wide) → ReLU 32 → 5 sigmoids:
   * one strong n-gram is not diluted by a long text around it.
   */
  'bag-max-mlp': {
    dim: 32,
    hidden: 32,
    epochs: 3,
    batchSize: 32,
    lr: 0.003,
    featureDropout: 0.1,
    pooling: 'mean-max',
  },
} as const;
export type Architecture = keyof typeof ARCHITECTURES;

/** Hyperparameters of the MLP architecture (model-artifacts/text-model/experiments.ts varies them). */
export const HYPERPARAMETERS = ARCHITECTURES['bag-mlp'];

/** The featurizer: 2^16 buckets, evasion folding on (shared/extract/normalise.ts). */
export const FEATURIZER: FeaturizerConfig = { ...DEFAULT_FEATURIZER_CONFIG, buckets: 2 ** 16, evasion: true };

/**
 * Loss weight per source: small sources that carry what the big ones lack (implicit hate and its
 * neutral counterweight, news comments, chatbot abuse, identity mentions) count more, so 160,000
 * rows of tweets and everyday text do not drown them.
 */
export const SOURCE_WEIGHTS: Partial<Record<Source, number>> = {
  toxigen: 3,
  'fox-news': 2,
  convabuse: 2,
  'wikipedia-identity': 2,
};

const log = (msg: string): void => {
  process.stderr.write(`[train:text] ${msg}\n`);
};
const secondsSince = (t: number): number => (performance.now() - t) / 1000;

function featurizeAll(examples: readonly LabelledText[], config: FeaturizerConfig): Row[] {
  return examples.map((e) => ({
    e,
    f: featurize(e.text, config),
    y: e.y,
    mask: e.mask,
    weight: (SOURCE_WEIGHTS[e.source] ?? 1) * (e.weight ?? 1),
  }));
}

const pick = (
  rows: readonly Row[],
  split: LabelledText['split'],
  keep: (s: Source) => boolean = () => true,
) => rows.filter((r) => r.e.split === split && keep(r.e.source));

/** Masked (value, label) columns of output k. */
function column(rows: readonly Row[], values: readonly ArrayLike<number>[], k: number): [number[], number[]] {
  const s: number[] = [];
  const y: number[] = [];
  rows.forEach((r, i) => {
    if ((r.mask[k] ?? 0) === 0) return;
    s.push(values[i]?.[k] ?? 0);
    y.push(r.y[k] ?? 0);
  });
  return [s, y];
}

export interface Fitted {
  params: TextModelParams;
  thresholds: number[];
  platt: { label: TextLabel; scale: number; shift: number }[];
  bestEpoch: number;
  history: ReturnType<typeof trainTextModel>['history'];
  seconds: number;
}

/**
 * Trains one architecture, then per output: Platt scaling on validation logits reweighted to
 * PREVALENCE, and the threshold that maximises F1 at that prevalence on validation.
 */
function fitArchitecture(
  arch: Architecture,
  train: Row[],
  validation: Row[],
  overrides: Partial<TrainOptions> = {},
): Fitted {
  const t = performance.now();
  const result = trainTextModel(train, {
    buckets: FEATURIZER.buckets,
    ...ARCHITECTURES[arch],
    outputs: TEXT_LABELS.length,
    seed: SEED,
    validation,
    ...overrides,
  });
  const params = result.params;
  const logits = validation.map((r) => forward(params, r.f).rawLogits);
  const platt = TEXT_LABELS.map((label, k) => {
    const [z, y] = column(validation, logits, k);
    const ok = y.some((v) => v > 0.5) && y.some((v) => v < 0.5);
    const p = ok ? fitPlatt(z, y, PREVALENCE) : { scale: 1, shift: 0 };
    params.calibScale[k] = p.scale;
    params.calibShift[k] = p.shift;
    return { label, ...p };
  });
  const probs = validation.map((r) => forward(params, r.f).probs);
  const thresholds = TEXT_LABELS.map((_, k) => {
    const [s, y] = column(validation, probs, k);
    return bestF1ThresholdAt(s, y, PREVALENCE);
  });
  return {
    params,
    thresholds,
    platt,
    bestEpoch: result.bestEpoch,
    history: result.history,
    seconds: secondsSince(t),
  };
}

type Report = Partial<Record<Source, SourceFigures>>;

function perSource(
  scorer: Parameters<typeof sourceFigures>[0],
  rows: readonly Row[],
  split: LabelledText['split'],
): Report {
  return Object.fromEntries(
    SOURCES.map(
      (s) =>
        [
          s,
          sourceFigures(
            scorer,
            pick(rows, split, (x) => x === s),
          ),
        ] as const,
    ).filter(([, f]) => f.n > 0),
  );
}

/**
 * LOSO: for each source, train without it (its rows in no split) and test on its test split. Cheap
 * by design (26 fits must fit the time budget on 2 shared cores): `epochs` epochs on a fixed `sample`
 * share of the other sources' training rows (chosen by a hash of the text).
 */
function leaveOneSourceOut(
  arch: Architecture,
  rows: Row[],
  epochs: number,
  sample: number,
): { report: Report; seconds: number } {
  const t = performance.now();
  const report: Report = {};
  const kept = (r: Row) => sample >= 1 || fnv1a32(`loso|${r.e.normalised}`) % 1000 < sample * 1000;
  for (const held of SOURCES) {
    if (held === 'generated') continue;
    const others = (s: Source) => s !== held;
    const train = pick(rows, 'train', others).filter(kept);
    const m = fitArchitecture(arch, train, pick(rows, 'validation', others), { epochs });
    report[held] = sourceFigures(
      paramsScorer(m.params, m.thresholds),
      pick(rows, 'test', (s) => s === held),
    );
    log(`loso ${arch} without ${held}: ${m.seconds.toFixed(0)} s`);
  }
  return { report, seconds: secondsSince(t) };
}

/** Cross-dataset transfer between the two tweet sets (reports/EVALUATION.md quotes it). */
function crossDatasetTransfer(rows: Row[], arch: Architecture) {
  const pairs = [
    ['davidson', 'olid'],
    ['olid', 'davidson'],
  ] as const;
  return pairs.map(([from, to]) => {
    const only = (s: Source) => s === from;
    const m = fitArchitecture(arch, pick(rows, 'train', only), pick(rows, 'validation', only));
    const scorer = paramsScorer(m.params, m.thresholds);
    const report = (source: Source) => {
      const f = sourceFigures(
        scorer,
        pick(rows, 'test', (s) => s === source),
      );
      return Object.fromEntries(
        (['hate', 'offensive'] as const).map((l) => [
          l,
          {
            auroc: f.labels[l]?.auroc ?? Number.NaN,
            atTuned: { f1: f.labels[l]?.f1 ?? Number.NaN },
            at05: { f1: Number.NaN },
          },
        ]),
      );
    };
    log(`cross ${from} → ${to} done`);
    return { train: from, test: to, inDomain: report(from), crossDomain: report(to), bestEpoch: m.bestEpoch };
  });
}

/**
 * The committed model this run replaces, scored on the new splits with its own featurizer and
 * thresholds, with the leave-one-source-out figures its own run measured (the same sources and splits).
 */
interface Previous {
  version: string;
  testBySource: Report;
  identity: IdentityFigures;
  losoBySource?: Report;
  losoMeanAuroc?: number;
}

function previousModel(outDir: string, corpus: Corpus): Previous | undefined {
  const manifestPath = join(outDir, 'manifest.json');
  const metricsPath = join(outDir, 'metrics.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    version: string;
    labels: TextLabel[];
    preprocess: unknown;
  };
  const metrics = existsSync(metricsPath)
    ? (JSON.parse(readFileSync(metricsPath, 'utf8')) as Partial<
        Pick<TextMetrics, 'previous' | 'thresholds' | 'architecture' | 'architectures'>
      >)
    : {};
  // A retrain of this version compares with what its first run measured for the one before.
  if (manifest.version === MODEL_VERSION) return metrics.previous;
  const kept = metrics.architecture ? metrics.architectures?.[metrics.architecture] : undefined;
  const config = parseFeaturizerConfig(manifest.preprocess);
  const params = paramsFromOnnx(readFileSync(join(outDir, 'model.onnx')));
  const thresholds = manifest.labels.map((l) => metrics.thresholds?.[l] ?? 0.5);
  const rows = featurizeAll(
    corpus.examples.filter((e) => e.split === 'test'),
    config,
  );
  const scorer = paramsScorer(params, thresholds, manifest.labels);
  log(`scored previous model ${manifest.version} on the new test splits`);
  return {
    version: manifest.version,
    testBySource: perSource(scorer, rows, 'test'),
    identity: identityFigures(scorer, rows),
    ...(kept?.loso && { losoBySource: kept.loso, losoMeanAuroc: kept.losoMeanAuroc }),
  };
}

/** Checks the ONNX graph against the TypeScript forward pass, and that padding changes nothing. */
async function exportAndCheck(params: TextModelParams, probe: Row[]) {
  const bytes = exportTextModel(params, {
    name: 'text-toxicity',
    version: MODEL_VERSION,
    labels: TEXT_LABELS.join(','),
    featurizer: JSON.stringify(FEATURIZER),
  });
  const session = await createSession(bytes);
  const feats = probe.map((r) => r.f);
  const onnx = await runTextModel(session, feats);
  const padded = await runTextModel(session, feats, FEATURIZER.maxFeatures + 7);
  let parityMaxAbs = 0;
  let paddingMaxAbs = 0;
  probe.forEach((r, i) => {
    const ts = forward(params, r.f).probs;
    for (let k = 0; k < TEXT_LABELS.length; k++) {
      parityMaxAbs = Math.max(parityMaxAbs, Math.abs((onnx.probs[i]?.[k] ?? 0) - (ts[k] ?? 0)));
      paddingMaxAbs = Math.max(
        paddingMaxAbs,
        Math.abs((onnx.probs[i]?.[k] ?? 0) - (padded.probs[i]?.[k] ?? 0)),
      );
    }
  });
  if (parityMaxAbs > 1e-4 || paddingMaxAbs > 1e-5) {
    throw new Error(`onnx check failed: parity ${parityMaxAbs}, padding ${paddingMaxAbs}`);
  }
  // Scoring cost: featurize + one ONNX run per text, batch 1, on this CPU.
  const sample = probe.slice(0, 500);
  const t = performance.now();
  for (const r of sample) await runTextModel(session, [featurize(r.e.text, FEATURIZER)]);
  const msPerText = (performance.now() - t) / sample.length;
  log(
    `onnx parity ${parityMaxAbs.toExponential(2)}, padding ${paddingMaxAbs.toExponential(2)}, ${msPerText.toFixed(3)} ms/text`,
  );
  return { bytes, parityMaxAbs, paddingMaxAbs, msPerText };
}

function textManifest(sha256: string, corpus: Corpus, inner: number) {
  const files = corpus.files.map((f) => `${f.file} (sha256 ${f.sha256})`).join(', ');
  return {
    name: 'text-toxicity',
    version: MODEL_VERSION,
    modality: 'text',
    file: 'model.onnx',
    sha256,
    inputs: [
      { name: 'ids', dtype: 'int64', shape: ['batch', 'tokens'], padValue: 0 },
      { name: 'weights', dtype: 'float32', shape: ['batch', 'tokens'], padValue: 0 },
    ],
    outputs: [
      { name: 'probs', dtype: 'float32', shape: ['batch', TEXT_LABELS.length] },
      { name: 'embedding', dtype: 'float32', shape: ['batch', inner] },
    ],
    labels: [...TEXT_LABELS],
    preprocess: parseFeaturizerConfig(FEATURIZER),
    calibratedFor: { prevalence: PREVALENCE },
    source: `Trained by model-artifacts/text-model/train.ts (seed ${SEED}) on ${files} from the project's shared/data folder, and on text the project generates (model-artifacts/text-model/generated.ts).`,
    license:
      'Weights: Apache-2.0 (this project). Derived from sources under MIT, CC0, CC BY 3.0/4.0, CC BY-SA 3.0 ES, ' +
      'Apache-2.0, CDLA-Permissive-2.0 and research-only terms (OLID v1.0): see the model card before commercial use; ' +
      'CC BY-SA (Stormfront) may require share-alike for derived data.',
  };
}

interface TrainArgs {
  dataDir: string;
  outDir: string;
  loso: boolean;
  losoEpochs: number;
  losoSample: number;
}

function parseTrainArgs(): TrainArgs {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      out: { type: 'string', default: join(REPO, 'model-artifacts/models/text-toxicity') },
      'no-loso': { type: 'boolean', default: false },
      'loso-epochs': { type: 'string', default: '1' },
      'loso-sample': { type: 'string', default: '0.4' },
    },
  });
  return {
    dataDir: values['data-dir'],
    outDir: values.out,
    loso: !values['no-loso'],
    losoEpochs: Number(values['loso-epochs']),
    losoSample: Number(values['loso-sample']),
  };
}

export interface TextMetrics {
  model: { name: string; version: string; sha256: string; bytes: number };
  architecture: Architecture;
  hyperparameters: (typeof ARCHITECTURES)[Architecture] & { seed: number; bestEpoch: number };
  featurizer: FeaturizerConfig;
  prevalence: number;
  sourceWeights: Partial<Record<Source, number>>;
  data: Corpus['stats'] & { files: Corpus['files'] };
  history: Fitted['history'];
  thresholds: Record<string, number>;
  platt: Fitted['platt'];
  calibration: { label: string; eceBefore: number; eceAfter: number }[];
  testBySource: Report;
  identity: IdentityFigures;
  architectures: Record<
    Architecture,
    { validation: Report; loso?: Report; losoMeanAuroc?: number; losoBenignFlagged?: number; seconds: number }
  >;
  losoEpochs: number;
  losoSample: number;
  previous?: Previous;
  crossDataset: ReturnType<typeof crossDatasetTransfer>;
  onnx: { parityMaxAbs: number; paddingMaxAbs: number; msPerText: number };
  timing: {
    hardware: string;
    featurizeSeconds: number;
    mainTrainingSeconds: number;
    losoSeconds: number;
    totalSeconds: number;
  };
}

async function main(): Promise<void> {
  const args = parseTrainArgs();
  const t0 = performance.now();
  const corpus = loadCorpus(args.dataDir);
  log(`corpus: ${corpus.examples.length} texts, ${JSON.stringify(corpus.stats.perSplit)}`);
  const previous = previousModel(args.outDir, corpus);
  const tFeat = performance.now();
  const rows = featurizeAll(corpus.examples, FEATURIZER);
  const featurizeSeconds = secondsSince(tFeat);
  log(`featurized in ${featurizeSeconds.toFixed(1)} s`);
  const train = pick(rows, 'train');
  const validation = pick(rows, 'validation');

  // Both architectures in source first; the outputs are written once with the validation winner (so a
  // failure late in the run costs no model), then again after LOSO, whose mean AUROC chooses.
  const archs = Object.keys(ARCHITECTURES) as Architecture[];
  const compared = {} as TextMetrics['architectures'];
  const fitted = {} as Record<Architecture, Fitted>;
  for (const arch of archs) {
    const m = fitArchitecture(arch, train, validation, {
      onEpoch: (e) => log(`${arch} epoch ${JSON.stringify(e)}`),
    });
    fitted[arch] = m;
    compared[arch] = {
      validation: perSource(paramsScorer(m.params, m.thresholds), rows, 'validation'),
      seconds: m.seconds,
    };
    log(
      `${arch}: trained in ${m.seconds.toFixed(0)} s, validation mean AUROC ${meanAuroc(compared[arch].validation).toFixed(3)}`,
    );
  }
  const choose = (score: (a: Architecture) => number) =>
    archs.reduce((a, b) => (score(b) > score(a) ? b : a));
  const common = { args, corpus, rows, validation, previous, compared, featurizeSeconds, t0 };
  let winner = choose((a) => meanAuroc(compared[a].validation));
  await writeOutputs({ ...common, winner, model: fitted[winner], losoSeconds: 0, loso: false });
  if (!args.loso) return;
  let losoSeconds = 0;
  for (const arch of archs) {
    const loso = leaveOneSourceOut(arch, rows, args.losoEpochs, args.losoSample);
    losoSeconds += loso.seconds;
    compared[arch] = {
      ...compared[arch],
      loso: loso.report,
      losoMeanAuroc: meanAuroc(loso.report),
      losoBenignFlagged: meanBenignFlagged(loso.report),
    };
    log(`${arch}: LOSO mean AUROC ${compared[arch].losoMeanAuroc?.toFixed(3)}`);
  }
  winner = choose((a) => compared[a].losoMeanAuroc ?? 0);
  await writeOutputs({ ...common, winner, model: fitted[winner], losoSeconds, loso: true });
}

interface Outputs {
  args: TrainArgs;
  corpus: Corpus;
  rows: Row[];
  validation: Row[];
  previous: Previous | undefined;
  compared: TextMetrics['architectures'];
  featurizeSeconds: number;
  t0: number;
  winner: Architecture;
  model: Fitted;
  losoSeconds: number;
  loso: boolean;
}

/** Evaluates the kept model on test, exports and checks it, and writes the model directory. */
async function writeOutputs(o: Outputs): Promise<void> {
  const { args, corpus, rows, model, winner } = o;
  log(`keeping ${winner}${o.loso ? ' (chosen out of source)' : ' (provisional: chosen on validation)'}`);
  const scorer = paramsScorer(model.params, model.thresholds);
  const test = pick(rows, 'test');
  const testBySource = perSource(scorer, rows, 'test');
  const identity = identityFigures(scorer, test);
  const uncalibrated = {
    ...model.params,
    calibScale: new Float32Array(TEXT_LABELS.length).fill(1),
    calibShift: new Float32Array(TEXT_LABELS.length),
  };
  const calibration = TEXT_LABELS.map((label, k) => {
    const [before, y] = column(
      test,
      test.map((r) => forward(uncalibrated, r.f).probs),
      k,
    );
    const [after] = column(
      test,
      test.map((r) => forward(model.params, r.f).probs),
      k,
    );
    return { label, eceBefore: ece(before, y), eceAfter: ece(after, y) };
  });
  const crossDataset = crossDatasetTransfer(rows, winner);
  const onnx = await exportAndCheck(model.params, o.validation.slice(0, 1000));
  const sha256 = createHash('sha256').update(onnx.bytes).digest('hex');
  const inner = model.params.hidden > 0 ? model.params.hidden : model.params.dim;
  const metrics: TextMetrics = {
    model: { name: 'text-toxicity', version: MODEL_VERSION, sha256, bytes: onnx.bytes.length },
    architecture: winner,
    hyperparameters: { ...ARCHITECTURES[winner], seed: SEED, bestEpoch: model.bestEpoch },
    featurizer: FEATURIZER,
    prevalence: PREVALENCE,
    sourceWeights: SOURCE_WEIGHTS,
    data: { ...corpus.stats, files: corpus.files },
    history: model.history,
    thresholds: Object.fromEntries(TEXT_LABELS.map((l, k) => [l, model.thresholds[k] ?? 0.5])),
    platt: model.platt,
    calibration,
    testBySource,
    identity,
    architectures: o.compared,
    losoEpochs: args.losoEpochs,
    losoSample: args.losoSample,
    ...(o.previous ? { previous: o.previous } : {}),
    crossDataset,
    onnx: { parityMaxAbs: onnx.parityMaxAbs, paddingMaxAbs: onnx.paddingMaxAbs, msPerText: onnx.msPerText },
    timing: {
      hardware: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.versions.node}`,
      featurizeSeconds: o.featurizeSeconds,
      mainTrainingSeconds: model.seconds,
      losoSeconds: o.losoSeconds,
      totalSeconds: secondsSince(o.t0),
    },
  };
  mkdirSync(args.outDir, { recursive: true });
  writeFileSync(join(args.outDir, 'model.onnx'), onnx.bytes);
  writeFileSync(
    join(args.outDir, 'manifest.json'),
    `${JSON.stringify(textManifest(sha256, corpus, inner), null, 2)}\n`,
  );
  writeFileSync(join(args.outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(join(args.outDir, 'MODEL_CARD.md'), modelCard(metrics, MODEL_VERSION));
  log(
    `wrote ${args.outDir} (${(onnx.bytes.length / 2 ** 20).toFixed(1)} MiB) at ${secondsSince(o.t0).toFixed(0)} s`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
