/**
 * `npm run eval`: evaluates the committed models end to end and writes reports/EVALUATION.md with
 * SVG figures under reports/figures/, updates the evaluation block of the model cards and
 * regenerates the policy presets (shared/policy/presets/*.json) from their precision targets.
 *
 * Data: the multimodal set (build-dataset.ts; built on first use, then cached), the text corpora's
 * validation split (threshold and channel choice) and test split (every reported figure), and the
 * project's hand-written non-tweet texts (handwritten-non-tweets.json).
 *
 * This file is the command line and the order of the steps; each section of the evaluation lives
 * in its own module (fused.ts, channels.ts, handwritten.ts, presets.ts, video-summary.ts) and the
 * outputs in figures.ts, report.ts and cards.ts.
 *
 *   npm run eval [-- --data-dir DIR] [--no-presets] [--reference-prevalence P]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Corpus, loadCorpus } from '#model-artifacts/text-model/data.ts';
import { createSession, type InferenceSession } from '#shared/onnx/sessions.ts';
import { parseFeaturizerConfig } from '#shared/text/featurize.ts';
import { type BenignEval, evaluateBenign, renderBenign } from './benign.ts';
import { buildDataset } from './build-dataset.ts';
import { updateCards } from './cards.ts';
import {
  type ChannelRow,
  channelRows,
  type OcrQuality,
  ocrQuality,
  ownDataAuroc,
  type SpeechQuality,
  speechQuality,
  textThresholds,
} from './channels.ts';
import { EVAL_SEED, log, MODELS_DIR, POSTS, REPORT_DIR, TEXT_CATS, type TextCat } from './common.ts';
import { type EvalDataset, REPO } from './dataset.ts';
import { writeFigures } from './figures.ts';
import {
  bestChannels,
  type CalibrationRow,
  calibrationRows,
  composeUploads,
  type EvalMethod,
  evalMethods,
  fusedByOnnx,
  headlineReports,
  type SplitUploads,
} from './fused.ts';
import { evaluateHandWritten, type HandWrittenEval } from './handwritten.ts';
import type { MethodReport, Scorer } from './methods.ts';
import { buildPools, type Models, type Pools } from './posts.ts';
import { choosePresets, DEFAULT_REFERENCE_PREVALENCE, type PresetEval, writePresets } from './presets.ts';
import { type CrossDataset, renderReport } from './report.ts';
import { evaluateVideos, type VideoSummary } from './video-summary.ts';

const USAGE = `Usage: npm run eval [-- options]

Evaluates the committed models; writes reports/EVALUATION.md, reports/figures/*.svg, the evaluation
block of the model cards and shared/policy/presets/*.json.

Options:
  --data-dir DIR              the text corpora (default: ../shared/data beside the repository)
  --no-presets                do not rewrite shared/policy/presets/*.json
  --reference-prevalence P    share of positives (0 < P < 1) at which the presets' precision
                              targets are met (default: ${DEFAULT_REFERENCE_PREVALENCE})
  -h, --help                  print this help and exit
`;

export interface EvalArgs {
  dataDir: string;
  /** False with --no-presets: presets are chosen and reported but not written. */
  writePresets: boolean;
  referencePrevalence: number;
  help: boolean;
}

/** Parses the command line; throws on unknown flags and on a prevalence outside (0, 1). */
export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      'no-presets': { type: 'boolean', default: false },
      'reference-prevalence': { type: 'string', default: String(DEFAULT_REFERENCE_PREVALENCE) },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const referencePrevalence = Number(values['reference-prevalence']);
  if (!(referencePrevalence > 0 && referencePrevalence < 1)) {
    throw new Error(
      `--reference-prevalence must be a number between 0 and 1 (exclusive), got ${JSON.stringify(values['reference-prevalence'])}`,
    );
  }
  return {
    dataDir: values['data-dir'],
    writePresets: !values['no-presets'],
    referencePrevalence,
    help: values.help,
  };
}

interface Manifest {
  name: string;
  version: string;
  sha256: string;
  labels: string[];
  preprocess?: Record<string, unknown>;
}
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

interface CommittedModels {
  manifests: { text: Manifest; image: Manifest; fusion: Manifest };
  /** The per-channel models (text and image). */
  models: Models;
  fusion: InferenceSession;
}

/**
 * Opens sessions of the committed models, after checking that the text and fusion ONNX files are
 * the ones their manifests describe (the report quotes the manifests' versions).
 */
async function loadCommittedModels(modelsDir: string): Promise<CommittedModels> {
  const manifests = {
    text: readManifest(join(modelsDir, 'text-toxicity')),
    image: readManifest(join(modelsDir, 'image-nsfw')),
    fusion: readManifest(join(modelsDir, 'fusion')),
  };
  for (const [m, dir] of [
    [manifests.text, 'text-toxicity'],
    [manifests.fusion, 'fusion'],
  ] as const) {
    const sha = createHash('sha256')
      .update(readFileSync(join(modelsDir, dir, 'model.onnx')))
      .digest('hex');
    if (sha !== m.sha256) throw new Error(`${dir}/model.onnx does not match its manifest`);
  }
  const models: Models = {
    text: await createSession(join(modelsDir, 'text-toxicity/model.onnx')),
    featurizer: parseFeaturizerConfig(manifests.text.preprocess),
    image: await createSession(join(modelsDir, 'image-nsfw/model.onnx')),
    imageLabels: manifests.image.labels,
  };
  const fusion = await createSession(join(modelsDir, 'fusion/model.onnx'));
  return { manifests, models, fusion };
}

interface ScoredSplits {
  dataset: EvalDataset;
  corpus: Corpus;
  validation: Pools;
  test: Pools;
}

/** Builds (or reads the cached) multimodal set and scores every part of both splits once. */
async function scoreSplits(dataDir: string, models: Models): Promise<ScoredSplits> {
  const dataset = await buildDataset({ dataDir });
  // Real sources only: generated text (templated threats, idioms, identity statements) trains the
  // text model but would set thresholds and report figures on its own easy templates.
  const loaded = loadCorpus(dataDir);
  const corpus = { ...loaded, examples: loaded.examples.filter((e) => e.source !== 'generated') };
  const validation = await buildPools('validation', corpus.examples, dataset, models);
  const test = await buildPools('test', corpus.examples, dataset, models);
  return { dataset, corpus, validation, test };
}

/** Everything the evaluation measured, as the outputs (figures, report, cards) need it. */
interface Evaluation {
  manifests: CommittedModels['manifests'];
  dataset: EvalDataset;
  validation: SplitUploads;
  test: SplitUploads;
  fused: Scorer;
  best: Record<TextCat, string>;
  methods: EvalMethod[];
  headline: Record<TextCat, Record<string, MethodReport>>;
  textThresholds: Record<TextCat, number>;
  channelRows: Record<TextCat, ChannelRow[]>;
  hand: HandWrittenEval;
  ocrQuality: OcrQuality;
  speechQuality: SpeechQuality;
  calibration: CalibrationRow[];
  presets: PresetEval;
  referencePrevalence: number;
  videoSummary: VideoSummary;
  benign: BenignEval;
}

/** Cross-dataset transfer, as the text trainer measured it. */
function readCrossDataset(modelsDir: string): CrossDataset[] {
  const path = join(modelsDir, 'text-toxicity/metrics.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { crossDataset: CrossDataset[] }).crossDataset;
}

/** Writes the figures, reports/EVALUATION.md and the model cards' evaluation blocks. */
function writeOutputs(e: Evaluation, t0: number): void {
  const figures = writeFigures({
    methods: e.methods,
    testPosts: e.test.postExamples,
    testMix: e.test.mix,
    fused: e.fused,
    channelRows: e.channelRows,
    handRows: e.hand.rows,
    textThresholds: e.textThresholds,
    calibration: e.calibration,
    presets: e.presets,
  });
  const cross = readCrossDataset(MODELS_DIR);
  const seconds = (performance.now() - t0) / 1000;
  const report = renderReport({
    fusionVersion: e.manifests.fusion.version,
    textVersion: e.manifests.text.version,
    imageVersion: e.manifests.image.version,
    dataset: e.dataset,
    counts: {
      valPosts: e.validation.postExamples.length,
      testPosts: e.test.postExamples.length,
      testMix: e.test.mix.length,
      testTexts: e.test.singles.texts.length,
      testPictures: e.test.singles.pictures.length,
      testClips: e.test.singles.clips.length,
    },
    scenarioCounts: Object.fromEntries(
      ['neither', 'caption', 'media', 'both'].map((s) => [
        s,
        e.test.posts.filter((p) => p.scenario === s).length,
      ]),
    ),
    headline: e.headline,
    best: e.best,
    methods: e.methods.map(({ key, title }) => ({ key, title })),
    channelRows: e.channelRows,
    textThresholds: e.textThresholds,
    hand: e.hand,
    cross,
    ocrQuality: e.ocrQuality,
    speechQuality: e.speechQuality,
    videoSummary: e.videoSummary,
    calibration: e.calibration,
    presets: e.presets,
    referencePrevalence: e.referencePrevalence,
    figures,
    seconds,
  });
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(
    join(REPORT_DIR, 'EVALUATION.md'),
    `${report.trimEnd()}\n${renderBenign(e.benign, e.referencePrevalence)}`,
  );
  updateCards({
    headline: e.headline,
    hand: e.hand.rows,
    calibration: e.calibration,
    ownData: ownDataAuroc(e.channelRows),
    fusionVersion: e.manifests.fusion.version,
  });
  log(`wrote reports/EVALUATION.md and ${figures.length} figures in ${seconds.toFixed(0)} s`);
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseEvalArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const t0 = performance.now();
  const { manifests, models, fusion } = await loadCommittedModels(MODELS_DIR);
  const { dataset, corpus, validation: valPools, test: testPools } = await scoreSplits(args.dataDir, models);
  log(`scored pools in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const validation = composeUploads(valPools, POSTS.validation, EVAL_SEED);
  const test = composeUploads(testPools, POSTS.test, EVAL_SEED + 1);
  const fused = await fusedByOnnx(fusion, [...validation.mix, ...test.mix]);
  const best = bestChannels(validation.postExamples);
  const methods = evalMethods(manifests.fusion.version, fused, best);
  const headline = headlineReports(methods, validation.postExamples, test.postExamples);
  const thresholds = textThresholds(validation.singles.texts);
  const rowsByCat = Object.fromEntries(
    TEXT_CATS.map((l) => [l, channelRows(testPools, corpus.examples, l)]),
  ) as Record<TextCat, ChannelRow[]>;
  const hand = await evaluateHandWritten(models, thresholds);
  const calibration = calibrationRows(test.singles.texts, test.mix, fused);
  const presets = choosePresets(validation.mix, test.mix, fused, args.referencePrevalence);
  // Before the videos: they are judged by the balanced preset as written to disk.
  if (args.writePresets) {
    writePresets(presets, manifests.fusion.version, manifests.text.version, args.referencePrevalence);
  }
  const videoSummary = await evaluateVideos(dataset, MODELS_DIR);
  // After the presets are written: benign text is judged by the presets as shipped.
  const benign = await evaluateBenign(corpus.examples, models, fusion);
  const evaluation: Evaluation = {
    manifests,
    dataset,
    validation,
    test,
    fused,
    best,
    methods,
    headline,
    textThresholds: thresholds,
    channelRows: rowsByCat,
    hand,
    ocrQuality: ocrQuality(dataset),
    speechQuality: speechQuality(dataset),
    calibration,
    presets,
    referencePrevalence: args.referencePrevalence,
    videoSummary,
    benign,
  };
  writeOutputs(evaluation, t0);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2))
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
