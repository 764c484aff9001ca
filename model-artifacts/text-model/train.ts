/**
 * Trains the `text-toxicity` model on the thirteen labelled sources of ../shared/data plus the
 * project's generated text (data.ts, generated.ts), compares the architectures of architectures.ts
 * (two hashed n-gram bags trained in TypeScript, a subword CNN trained in PyTorch when
 * `--python` can import torch) leave-one-source-out and keeps the one that wins out of source,
 * calibrates it for a stated production prevalence, evaluates it per source (held-out test split)
 * against the previous model, exports it to ONNX, checks the graph against the trained model and writes
 * model-artifacts/models/text-toxicity/{model.onnx, manifest.json, metrics.json, MODEL_CARD.md}.
 *
 *   npm run train:text [-- --data-dir DIR] [--out DIR] [--loso-epochs N] [--loso-sample F] [--no-loso]
 *                         [--python PATH] [--architectures NAME,NAME]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type FeaturizerConfig,
  featurize,
  featurizeSubwords,
  fnv1a32,
  parseFeaturizerConfig,
  parseSubwordFeaturizerConfig,
  type SubwordFeaturizerConfig,
} from '#shared/text/featurize.ts';
import {
  ARCHITECTURES,
  type Architecture,
  type ArchitectureTrainer,
  architectureTrainers,
  FEATURIZER,
  type OnnxCheck,
  type Trained,
} from './architectures.ts';
import { modelCard } from './card.ts';
import { cnnForward, cnnParamsFromOnnx } from './cnn.ts';
import { DEFAULT_PYTHON } from './cnn-train.ts';
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
  type Scorer,
  type SourceFigures,
  sourceFigures,
} from './evaluate.ts';
import { bestF1ThresholdAt, ece } from './metrics.ts';
import { sigmoid } from './model.ts';
import { paramsFromOnnx } from './onnx.ts';
import { type EpochSummary, fitPlatt } from './trainer.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const MODEL_VERSION = '2.1.0';
export const SEED = 20_240_601;

/** The production base rate the probabilities and thresholds are calibrated for: 5% of texts harmful. */
export const PREVALENCE = 0.05;

export { ARCHITECTURES, type Architecture, FEATURIZER };

/** Hyperparameters of the MLP architecture (model-artifacts/text-model/experiments.ts varies them). */
export const HYPERPARAMETERS = ARCHITECTURES['bag-mlp'];

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
  arch: Architecture;
  model: Trained;
  thresholds: number[];
  platt: { label: TextLabel; scale: number; shift: number }[];
  bestEpoch: number;
  history: EpochSummary[];
  seconds: number;
  /** The exported graph and its checks, once made (main makes it for every in-source fit). */
  onnx?: OnnxCheck;
}

/**
 * Trains one architecture, then per output: Platt scaling on validation logits reweighted to
 * PREVALENCE, and the threshold that maximises F1 at that prevalence on validation. `score`: the rows
 * besides validation that the result will be asked to score.
 */
function fitArchitecture(
  trainers: Record<Architecture, ArchitectureTrainer>,
  arch: Architecture,
  train: Row[],
  validation: Row[],
  options: { score: readonly Row[]; epochs?: number; onEpoch?: (e: EpochSummary) => void },
): Fitted {
  const t = performance.now();
  const model = trainers[arch].train(train, validation, {
    ...options,
    outputs: TEXT_LABELS.length,
    seed: SEED,
  });
  const logits = model.logits(validation);
  const scale = new Float32Array(TEXT_LABELS.length).fill(1);
  const shift = new Float32Array(TEXT_LABELS.length);
  const platt = TEXT_LABELS.map((label, k) => {
    const [z, y] = column(validation, logits, k);
    const ok = y.some((v) => v > 0.5) && y.some((v) => v < 0.5);
    const p = ok ? fitPlatt(z, y, PREVALENCE) : { scale: 1, shift: 0 };
    scale[k] = p.scale;
    shift[k] = p.shift;
    return { label, ...p };
  });
  model.calibrate(scale, shift);
  const probs = model.probs(validation);
  const thresholds = TEXT_LABELS.map((_, k) => {
    const [s, y] = column(validation, probs, k);
    return bestF1ThresholdAt(s, y, PREVALENCE);
  });
  return {
    arch,
    model,
    thresholds,
    platt,
    bestEpoch: model.bestEpoch,
    history: model.history,
    seconds: secondsSince(t),
  };
}

/** A fitted architecture as evaluate.ts scores models. */
const fittedScorer = (m: Fitted): Scorer => ({
  labels: TEXT_LABELS,
  thresholds: m.thresholds,
  probs: (rows) => m.model.probs(rows),
});

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
  trainers: Record<Architecture, ArchitectureTrainer>,
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
    const test = pick(rows, 'test', (s) => s === held);
    const m = fitArchitecture(trainers, arch, train, pick(rows, 'validation', others), {
      epochs,
      score: test,
    });
    report[held] = sourceFigures(fittedScorer(m), test);
    log(`loso ${arch} without ${held}: ${m.seconds.toFixed(0)} s`);
  }
  return { report, seconds: secondsSince(t) };
}

/** Cross-dataset transfer between the two tweet sets (reports/EVALUATION.md quotes it). */
function crossDatasetTransfer(
  trainers: Record<Architecture, ArchitectureTrainer>,
  rows: Row[],
  arch: Architecture,
) {
  const pairs = [
    ['davidson', 'olid'],
    ['olid', 'davidson'],
  ] as const;
  return pairs.map(([from, to]) => {
    const only = (s: Source) => s === from;
    const score = pick(rows, 'test', (s) => s === from || s === to);
    const m = fitArchitecture(trainers, arch, pick(rows, 'train', only), pick(rows, 'validation', only), {
      score,
    });
    const scorer = fittedScorer(m);
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
  const thresholds = manifest.labels.map((l) => metrics.thresholds?.[l] ?? 0.5);
  const bytes = readFileSync(join(outDir, 'model.onnx'));
  const test = corpus.examples.filter((e) => e.split === 'test');
  let rows: Row[];
  let scorer: Scorer;
  if ((manifest.preprocess as { kind?: unknown } | undefined)?.kind === 'hashed-subword-cnn') {
    // A CNN replaced by this run: scored by the TypeScript forward pass of its own weights.
    const config = parseSubwordFeaturizerConfig(manifest.preprocess);
    const params = cnnParamsFromOnnx(bytes);
    rows = featurizeAll(test, FEATURIZER);
    scorer = {
      labels: manifest.labels,
      thresholds,
      probs: (rs) => rs.map((r) => cnnForward(params, featurizeSubwords(r.e.text, config)).probs),
    };
  } else {
    rows = featurizeAll(test, parseFeaturizerConfig(manifest.preprocess));
    scorer = paramsScorer(paramsFromOnnx(bytes), thresholds, manifest.labels);
  }
  log(`scored previous model ${manifest.version} on the new test splits`);
  return {
    version: manifest.version,
    testBySource: perSource(scorer, rows, 'test'),
    identity: identityFigures(scorer, rows),
    ...(kept?.loso && { losoBySource: kept.loso, losoMeanAuroc: kept.losoMeanAuroc }),
  };
}

function textManifest(sha256: string, corpus: Corpus, io: Trained['io']) {
  const files = corpus.files.map((f) => `${f.file} (sha256 ${f.sha256})`).join(', ');
  return {
    name: 'text-toxicity',
    version: MODEL_VERSION,
    modality: 'text',
    file: 'model.onnx',
    sha256,
    inputs: io.inputs,
    outputs: [
      { name: 'probs', dtype: 'float32', shape: ['batch', TEXT_LABELS.length] },
      { name: 'embedding', dtype: 'float32', shape: ['batch', io.embeddingWidth] },
    ],
    labels: [...TEXT_LABELS],
    preprocess: io.preprocess,
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
  /** The interpreter the CNN trains in (it needs torch and numpy; without them the CNN is skipped). */
  python: string;
  /** The architectures to compare (default: all of ARCHITECTURES). */
  architectures: Architecture[];
}

function parseTrainArgs(): TrainArgs {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      out: { type: 'string', default: join(REPO, 'model-artifacts/models/text-toxicity') },
      'no-loso': { type: 'boolean', default: false },
      'loso-epochs': { type: 'string', default: '1' },
      'loso-sample': { type: 'string', default: '0.4' },
      python: { type: 'string', default: DEFAULT_PYTHON },
      architectures: { type: 'string', default: Object.keys(ARCHITECTURES).join(',') },
    },
  });
  const known = Object.keys(ARCHITECTURES);
  const architectures = values.architectures.split(',').filter((a) => a !== '');
  const unknown = architectures.filter((a) => !known.includes(a));
  if (architectures.length === 0 || unknown.length > 0) {
    process.stderr.write(
      `train:text: unknown architecture ${JSON.stringify(unknown[0] ?? '')}; known: ${known.join(', ')}\n`,
    );
    process.exit(2);
  }
  return {
    dataDir: values['data-dir'],
    outDir: values.out,
    loso: !values['no-loso'],
    losoEpochs: Number(values['loso-epochs']),
    losoSample: Number(values['loso-sample']),
    python: values.python,
    architectures: architectures as Architecture[],
  };
}

/** What the comparison measured of one architecture. */
export interface ArchitectureFigures {
  validation: Report;
  loso?: Report;
  losoMeanAuroc?: number;
  losoBenignFlagged?: number;
  /** The in-source fit, calibration included. */
  seconds: number;
  /** Featurize + ONNX, batch 1, of its in-source fit. */
  msPerText?: number;
  /** Seconds of its leave-one-source-out runs, all sources together. */
  losoSeconds?: number;
}

export interface TextMetrics {
  model: { name: string; version: string; sha256: string; bytes: number };
  architecture: Architecture;
  hyperparameters: Trained['hyperparameters'] & { seed: number; bestEpoch: number };
  featurizer: FeaturizerConfig | SubwordFeaturizerConfig;
  prevalence: number;
  sourceWeights: Partial<Record<Source, number>>;
  data: Corpus['stats'] & { files: Corpus['files'] };
  history: Fitted['history'];
  thresholds: Record<string, number>;
  platt: Fitted['platt'];
  calibration: { label: string; eceBefore: number; eceAfter: number }[];
  testBySource: Report;
  identity: IdentityFigures;
  /** The architectures trained in this run. */
  architectures: Partial<Record<Architecture, ArchitectureFigures>>;
  /** Architectures this run could not train, and why (PyTorch missing for the CNN). */
  notTrained: Partial<Record<Architecture, string>>;
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

/** The first rows of validation, on which every exported graph is checked and timed. */
const probeOf = (validation: readonly Row[]): Row[] => validation.slice(0, 1000);

const onnxMetadata = (): Record<string, string> => ({
  name: 'text-toxicity',
  version: MODEL_VERSION,
  labels: TEXT_LABELS.join(','),
});

async function main(): Promise<void> {
  const args = parseTrainArgs();
  const t0 = performance.now();
  const trainers = architectureTrainers({ python: args.python });
  const notTrained: TextMetrics['notTrained'] = {};
  const archs = args.architectures.filter((a) => {
    const why = trainers[a].unavailable;
    if (why !== undefined) {
      notTrained[a] = why;
      log(`${a}: skipped, not trained: ${why}`);
    }
    return why === undefined;
  });
  if (archs.length === 0)
    throw new Error('no architecture can be trained on this machine (see the lines above)');
  const corpus = loadCorpus(args.dataDir);
  log(`corpus: ${corpus.examples.length} texts, ${JSON.stringify(corpus.stats.perSplit)}`);
  const previous = previousModel(args.outDir, corpus);
  const tFeat = performance.now();
  const rows = featurizeAll(corpus.examples, FEATURIZER);
  const featurizeSeconds = secondsSince(tFeat);
  log(`featurized in ${featurizeSeconds.toFixed(1)} s`);
  const train = pick(rows, 'train');
  const validation = pick(rows, 'validation');
  const inSourceScored = [...validation, ...pick(rows, 'test')];

  // Every architecture in source first; the outputs are written once with the validation winner (so a
  // failure late in the run costs no model), then again after LOSO, whose mean AUROC chooses.
  const compared: Partial<Record<Architecture, ArchitectureFigures>> = {};
  const fitted = {} as Record<Architecture, Fitted>;
  for (const arch of archs) {
    const m = fitArchitecture(trainers, arch, train, validation, {
      score: inSourceScored,
      onEpoch: (e) => log(`${arch} epoch ${JSON.stringify(e)}`),
    });
    m.onnx = await m.model.exportAndCheck(probeOf(validation), onnxMetadata());
    log(
      `${arch} onnx parity ${m.onnx.parityMaxAbs.toExponential(2)}, padding ${m.onnx.paddingMaxAbs.toExponential(2)}, ${m.onnx.msPerText.toFixed(3)} ms/text`,
    );
    fitted[arch] = m;
    compared[arch] = {
      validation: perSource(fittedScorer(m), rows, 'validation'),
      seconds: m.seconds,
      msPerText: m.onnx.msPerText,
    };
    log(
      `${arch}: trained in ${m.seconds.toFixed(0)} s, validation mean AUROC ${meanAuroc(compared[arch]?.validation ?? {}).toFixed(3)}`,
    );
  }
  const choose = (score: (a: Architecture) => number) =>
    archs.reduce((a, b) => (score(b) > score(a) ? b : a));
  const common = { args, corpus, rows, trainers, previous, compared, notTrained, featurizeSeconds, t0 };
  let winner = choose((a) => meanAuroc(compared[a]?.validation ?? {}));
  await writeOutputs({ ...common, winner, model: fitted[winner], losoSeconds: 0, loso: false });
  if (!args.loso) return;
  let losoSeconds = 0;
  for (const arch of archs) {
    const loso = leaveOneSourceOut(trainers, arch, rows, args.losoEpochs, args.losoSample);
    losoSeconds += loso.seconds;
    compared[arch] = {
      ...(compared[arch] as ArchitectureFigures),
      loso: loso.report,
      losoMeanAuroc: meanAuroc(loso.report),
      losoBenignFlagged: meanBenignFlagged(loso.report),
      losoSeconds: loso.seconds,
    };
    log(
      `${arch}: LOSO mean AUROC ${compared[arch]?.losoMeanAuroc?.toFixed(3)} in ${loso.seconds.toFixed(0)} s`,
    );
  }
  winner = choose((a) => compared[a]?.losoMeanAuroc ?? 0);
  await writeOutputs({ ...common, winner, model: fitted[winner], losoSeconds, loso: true });
}

interface Outputs {
  args: TrainArgs;
  corpus: Corpus;
  rows: Row[];
  trainers: Record<Architecture, ArchitectureTrainer>;
  previous: Previous | undefined;
  compared: Partial<Record<Architecture, ArchitectureFigures>>;
  notTrained: TextMetrics['notTrained'];
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
  const scorer = fittedScorer(model);
  const test = pick(rows, 'test');
  const testBySource = perSource(scorer, rows, 'test');
  const identity = identityFigures(scorer, test);
  const calibration = TEXT_LABELS.map((label, k) => {
    const [before, y] = column(
      test,
      model.model.logits(test).map((z) => Array.from(z, sigmoid)),
      k,
    );
    const [after] = column(test, model.model.probs(test), k);
    return { label, eceBefore: ece(before, y), eceAfter: ece(after, y) };
  });
  const crossDataset = crossDatasetTransfer(o.trainers, rows, winner);
  const onnx =
    model.onnx ?? (await model.model.exportAndCheck(probeOf(pick(rows, 'validation')), onnxMetadata()));
  const sha256 = createHash('sha256').update(onnx.bytes).digest('hex');
  const metrics: TextMetrics = {
    model: { name: 'text-toxicity', version: MODEL_VERSION, sha256, bytes: onnx.bytes.length },
    architecture: winner,
    hyperparameters: { ...model.model.hyperparameters, seed: SEED, bestEpoch: model.bestEpoch },
    featurizer: o.trainers[winner].featurizer,
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
    notTrained: o.notTrained,
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
    `${JSON.stringify(textManifest(sha256, corpus, model.model.io), null, 2)}\n`,
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
