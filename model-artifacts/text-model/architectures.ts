/**
 * The architectures train.ts compares, each behind one interface: fit on rows → uncalibrated logits
 * of the rows it was told about → Platt scaling folded in → an exported ONNX graph checked against
 * those logits. So the in-source fit, leave-one-source-out, the choice, the outputs and the card treat
 * the hashed n-gram bags (trained in TypeScript, trainer.ts) and the subword CNN (trained in PyTorch,
 * cnn-train.ts) alike.
 */
import type { InputSpec } from '#shared/inference/manifest.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import {
  DEFAULT_FEATURIZER_CONFIG,
  type FeaturizerConfig,
  featurize,
  featurizeSubwords,
  parseFeaturizerConfig,
  parseSubwordFeaturizerConfig,
  type SubwordFeaturizerConfig,
} from '#shared/text/featurize.ts';
import { cnnEmbeddingWidth, exportCnnModel, runCnnModel } from './cnn.ts';
import { type CnnHyperparameters, SubwordVocabulary, torchUnavailable, trainCnn } from './cnn-train.ts';
import type { Row } from './evaluate.ts';
import { forward, sigmoid } from './model.ts';
import { exportTextModel, runTextModel, type TextModelOutput } from './onnx.ts';
import { type EpochSummary, trainTextModel } from './trainer.ts';

/** The bags' featurizer: 2^16 buckets, evasion folding on (shared/extract/normalise.ts). */
export const FEATURIZER: FeaturizerConfig = { ...DEFAULT_FEATURIZER_CONFIG, buckets: 2 ** 16, evasion: true };

/**
 * The CNN's featurizer: the same folding and tokens as the bag, 2^16 buckets, the first 128 words
 * (99.4% of the texts are shorter) and up to 12 character 3–5-grams per word (77% of words have no more).
 */
export const SUBWORD_FEATURIZER: SubwordFeaturizerConfig = {
  kind: 'hashed-subword-cnn',
  version: 1,
  hash: 'fnv1a32',
  buckets: 2 ** 16,
  maxWords: 128,
  maxSubwords: 12,
  charNgrams: [3, 5],
  deleet: true,
  evasion: true,
};

/** Hashed n-gram bags (onnx.ts exports them). */
export const BAG_ARCHITECTURES = {
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

/** Convolutional encoders trained from scratch (cnn.ts exports them). */
export const CNN_ARCHITECTURES = {
  /**
   * Word vectors from subwords (so misspellings and unseen words still land near their stems) → 160
   * filters over 3-word windows → max over the text → ReLU 64 → 5 sigmoids: word order inside a
   * window counts, so "not lazy" and "lazy" are different evidence.
   */
  'subword-cnn': {
    dim: 48,
    filters: 160,
    width: 3,
    hidden: 64,
    epochs: 3,
    batchSize: 128,
    lr: 0.002,
    dropout: 0.2,
  },
} as const satisfies Record<string, CnnHyperparameters>;

export const ARCHITECTURES = { ...BAG_ARCHITECTURES, ...CNN_ARCHITECTURES } as const;
export type Architecture = keyof typeof ARCHITECTURES;
type BagArchitecture = keyof typeof BAG_ARCHITECTURES;

const isBag = (a: Architecture): a is BagArchitecture => a in BAG_ARCHITECTURES;

/** Hyperparameters of a trained model, with the epochs it actually ran. */
export type ArchitectureHyperparameters =
  | (Omit<(typeof BAG_ARCHITECTURES)[BagArchitecture], 'epochs'> & { epochs: number })
  | CnnHyperparameters;

export interface FitOptions {
  seed: number;
  outputs: number;
  /** Rows whose logits will be asked for besides validation's (the CNN scores them as it trains). */
  score: readonly Row[];
  /** Overrides the architecture's epochs (the cheap leave-one-source-out runs). */
  epochs?: number;
  onEpoch?: (e: EpochSummary) => void;
}

/** The exported graph and what checking it measured. */
export interface OnnxCheck {
  bytes: Uint8Array;
  /** Max |Δp| between the graph and the trained model's own probabilities. */
  parityMaxAbs: number;
  /** Max |Δp| between a tight batch and one padded far beyond it. */
  paddingMaxAbs: number;
  /** Featurize + one ONNX run per text, batch 1, on this CPU. */
  msPerText: number;
}

/** One trained architecture. */
export interface Trained {
  bestEpoch: number;
  history: EpochSummary[];
  seconds: number;
  /** Output logits before calibration (the CNN knows only validation and `score` rows). */
  logits(rows: readonly Row[]): ArrayLike<number>[];
  /** Folds per-output Platt scaling in: `probs` and the export are calibrated from then on. */
  calibrate(scale: Float32Array, shift: Float32Array): void;
  /** Calibrated probabilities, what the graph's `probs` output gives. */
  probs(rows: readonly Row[]): ArrayLike<number>[];
  /** Exports the graph and checks it on `probe` rows (a subset of validation); throws when it disagrees. */
  exportAndCheck(probe: readonly Row[], metadata: Record<string, string>): Promise<OnnxCheck>;
  /** Manifest inputs and `preprocess`, and the width of the `embedding` output. */
  io: { inputs: InputSpec[]; preprocess: Record<string, unknown>; embeddingWidth: number };
  /** Hyperparameters as trained (with the epochs actually run). */
  hyperparameters: ArchitectureHyperparameters;
}

export interface ArchitectureTrainer {
  /** Why it cannot be trained on this machine; undefined when it can. */
  unavailable: string | undefined;
  /** The featurizer configuration it reads texts with (the manifest's `preprocess`). */
  featurizer: FeaturizerConfig | SubwordFeaturizerConfig;
  train(train: readonly Row[], validation: readonly Row[], o: FitOptions): Trained;
}

const PARITY_LIMIT = 1e-4;
const PADDING_LIMIT = 1e-5;

function maxAbsDiff(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[], width: number): number {
  let m = 0;
  a.forEach((row, i) => {
    for (let k = 0; k < width; k++) m = Math.max(m, Math.abs((row[k] ?? 0) - (b[i]?.[k] ?? 0)));
  });
  return m;
}

/**
 * Milliseconds per text of `run`, one text at a time: the median of three passes after a warm-up one,
 * because on cores shared with other jobs a single pass measures their load spikes as much as the model.
 */
async function timed(texts: readonly string[], run: (text: string) => Promise<unknown>): Promise<number> {
  const pass = async (): Promise<number> => {
    const t = performance.now();
    for (const text of texts) await run(text);
    return (performance.now() - t) / Math.max(1, texts.length);
  };
  await pass();
  const passes = [await pass(), await pass(), await pass()].sort((a, b) => a - b);
  return passes[1] ?? Number.NaN;
}

/**
 * An export's checks, the same for every architecture: ONNX against the reference probabilities of
 * the same rows, padding changes nothing, and the scoring cost of `scoreOne` (featurize + ONNX, batch 1).
 */
async function checkExport(c: {
  bytes: Uint8Array;
  onnx: TextModelOutput;
  padded: TextModelOutput;
  reference: readonly ArrayLike<number>[];
  outputs: number;
  probe: readonly Row[];
  scoreOne: (text: string) => Promise<unknown>;
}): Promise<OnnxCheck> {
  const check = {
    bytes: c.bytes,
    parityMaxAbs: maxAbsDiff(c.onnx.probs, c.reference, c.outputs),
    paddingMaxAbs: maxAbsDiff(c.onnx.probs, c.padded.probs, c.outputs),
    msPerText: await timed(
      c.probe.slice(0, 500).map((r) => r.e.text),
      c.scoreOne,
    ),
  };
  if (check.parityMaxAbs > PARITY_LIMIT || check.paddingMaxAbs > PADDING_LIMIT) {
    throw new Error(`onnx check failed: parity ${check.parityMaxAbs}, padding ${check.paddingMaxAbs}`);
  }
  return check;
}

function bagTrainer(arch: BagArchitecture): ArchitectureTrainer {
  return {
    unavailable: undefined,
    featurizer: FEATURIZER,
    train(train, validation, o) {
      const result = trainTextModel(train, {
        buckets: FEATURIZER.buckets,
        ...BAG_ARCHITECTURES[arch],
        outputs: o.outputs,
        seed: o.seed,
        validation,
        ...(o.epochs !== undefined && { epochs: o.epochs }),
        ...(o.onEpoch && { onEpoch: o.onEpoch }),
      });
      const { params } = result;
      const outputs = params.b2.length;
      return {
        bestEpoch: result.bestEpoch,
        history: result.history,
        seconds: result.seconds,
        logits: (rows) => rows.map((r) => forward(params, r.f).rawLogits),
        calibrate(scale, shift) {
          params.calibScale.set(scale);
          params.calibShift.set(shift);
        },
        probs: (rows) => rows.map((r) => forward(params, r.f).probs),
        async exportAndCheck(probe, metadata) {
          const bytes = exportTextModel(params, { ...metadata, featurizer: JSON.stringify(FEATURIZER) });
          const session = await createSession(bytes);
          const feats = probe.map((r) => r.f);
          const onnx = await runTextModel(session, feats);
          const padded = await runTextModel(session, feats, FEATURIZER.maxFeatures + 7);
          return checkExport({
            bytes,
            onnx,
            padded,
            reference: probe.map((r) => forward(params, r.f).probs),
            outputs,
            probe,
            scoreOne: (t) => runTextModel(session, [featurize(t, FEATURIZER)]),
          });
        },
        io: {
          inputs: [
            { name: 'ids', dtype: 'int64', shape: ['batch', 'tokens'], padValue: 0 },
            { name: 'weights', dtype: 'float32', shape: ['batch', 'tokens'], padValue: 0 },
          ],
          preprocess: parseFeaturizerConfig(FEATURIZER),
          embeddingWidth: params.hidden > 0 ? params.hidden : params.dim,
        },
        hyperparameters: { ...BAG_ARCHITECTURES[arch], epochs: o.epochs ?? BAG_ARCHITECTURES[arch].epochs },
      };
    },
  };
}

function cnnTrainer(arch: keyof typeof CNN_ARCHITECTURES, python: string): ArchitectureTrainer {
  const unavailable = torchUnavailable(python);
  const vocabulary = new SubwordVocabulary(SUBWORD_FEATURIZER);
  return {
    unavailable,
    featurizer: SUBWORD_FEATURIZER,
    train(train, validation, o) {
      const hyper = { ...CNN_ARCHITECTURES[arch], epochs: o.epochs ?? CNN_ARCHITECTURES[arch].epochs };
      const result = trainCnn({
        python,
        vocabulary,
        hyper,
        seed: o.seed,
        outputs: o.outputs,
        train,
        validation,
        score: o.score,
      });
      for (const e of result.history) o.onEpoch?.(e);
      const { params } = result;
      const outputs = params.outB.length;
      const logits = (rows: readonly Row[]) =>
        rows.map((r) => {
          const z = result.logits.get(r);
          if (z === undefined) throw new Error(`${arch} did not score this row: pass it in FitOptions.score`);
          return z;
        });
      // As model.ts's forward and the graph: sigmoid(scale · z + shift) with float32 scale and shift.
      const probs = (rows: readonly Row[]) =>
        logits(rows).map((z) =>
          Float64Array.from(z, (v, k) =>
            sigmoid((params.calibScale[k] ?? 1) * v + (params.calibShift[k] ?? 0)),
          ),
        );
      return {
        bestEpoch: result.bestEpoch,
        history: result.history,
        seconds: result.seconds,
        logits,
        calibrate(scale, shift) {
          params.calibScale.set(scale);
          params.calibShift.set(shift);
        },
        probs,
        async exportAndCheck(probe, metadata) {
          const bytes = exportCnnModel(params, {
            ...metadata,
            featurizer: JSON.stringify(SUBWORD_FEATURIZER),
          });
          const session = await createSession(bytes);
          const seqs = probe.map((r) => featurizeSubwords(r.e.text, SUBWORD_FEATURIZER));
          const onnx = await runCnnModel(session, seqs);
          const padded = await runCnnModel(session, seqs, {
            words: SUBWORD_FEATURIZER.maxWords + 7,
            slots: SUBWORD_FEATURIZER.maxSubwords + 1 + 3,
          });
          return checkExport({
            bytes,
            onnx,
            padded,
            // Against PyTorch's own logits of the same rows, calibrated as above.
            reference: probs(probe),
            outputs,
            probe,
            scoreOne: (t) => runCnnModel(session, [featurizeSubwords(t, SUBWORD_FEATURIZER)]),
          });
        },
        io: {
          inputs: [{ name: 'ids', dtype: 'int64', shape: ['batch', 'words', 'subwords'], padValue: 0 }],
          preprocess: parseSubwordFeaturizerConfig(SUBWORD_FEATURIZER),
          embeddingWidth: cnnEmbeddingWidth(params),
        },
        hyperparameters: hyper,
      };
    },
  };
}

/** One trainer per architecture; `python` is the interpreter with PyTorch the CNN trains in. */
export function architectureTrainers(o: { python: string }): Record<Architecture, ArchitectureTrainer> {
  return Object.fromEntries(
    (Object.keys(ARCHITECTURES) as Architecture[]).map((a) => [
      a,
      isBag(a) ? bagTrainer(a) : cnnTrainer(a, o.python),
    ]),
  ) as Record<Architecture, ArchitectureTrainer>;
}
