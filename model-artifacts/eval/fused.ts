/**
 * The headline comparison of `npm run eval`: the committed fusion model against the rules it must
 * beat (max, mean, best single channel, each channel alone) on composed test posts, and the
 * calibration of the text model and of the fused output. Thresholds and the best channel are
 * always chosen on validation data.
 */
import ort from 'onnxruntime-node';
import { mulberry32 } from '#model-artifacts/fusion/compose.ts';
import { FUSION_INPUT, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { ece } from '#model-artifacts/text-model/metrics.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { categoryIndex, TEXT_CATS, type TextCat } from './common.ts';
import {
  bestSingleChannel,
  column,
  type MethodReport,
  maxRule,
  meanRule,
  methodReport,
  type Scorer,
  singleChannel,
} from './methods.ts';
import { reliability } from './plot.ts';
import {
  composePosts,
  type FusionExample,
  type Pools,
  type Post,
  postExample,
  singleUploads,
} from './posts.ts';

/** Every kind of upload of one split, as the pipeline would receive them. */
export interface SplitUploads {
  posts: Post[];
  /** The posts as fusion examples (posts with nothing scorable dropped). */
  postExamples: FusionExample[];
  singles: ReturnType<typeof singleUploads>;
  /** The policy mix: every kind of upload (texts alone dominate, as they do in the corpora). */
  mix: FusionExample[];
}

/** Composes `postCount` posts from a split's pools (seeded) and adds its single-part uploads. */
export function composeUploads(pools: Pools, postCount: number, seed: number): SplitUploads {
  const posts = composePosts(postCount, pools, mulberry32(seed));
  const postExamples = posts.flatMap((p) => postExample(p) ?? []);
  const singles = singleUploads(pools);
  const mix = [...singles.texts, ...singles.pictures, ...singles.clips, ...postExamples];
  return { posts, postExamples, singles, mix };
}

/** Fused probabilities from a fusion ONNX session for [channel, category] rows, in order, 1,024 rows per run. */
export async function fusionProbabilities(
  session: InferenceSession,
  rows: readonly { x: Float32Array; present: Float32Array }[],
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < rows.length; i += 1024) {
    const batch = rows.slice(i, i + 1024);
    const x = new Float32Array(batch.length * NUM_CHANNELS * NUM_LABELS);
    const present = new Float32Array(batch.length * NUM_CHANNELS);
    batch.forEach((r, b) => {
      x.set(r.x, b * NUM_CHANNELS * NUM_LABELS);
      present.set(r.present, b * NUM_CHANNELS);
    });
    const res = await session.run({
      [FUSION_INPUT]: new ort.Tensor('float32', x, [batch.length, NUM_CHANNELS, NUM_LABELS]),
      present: new ort.Tensor('float32', present, [batch.length, NUM_CHANNELS]),
    });
    const probs = res.probs?.data as Float32Array;
    batch.forEach((_, b) => {
      out.push(probs.slice(b * NUM_LABELS, (b + 1) * NUM_LABELS));
    });
  }
  return out;
}

/**
 * Fused probabilities from the committed fusion ONNX model, computed once for all examples: the
 * same examples are scored again by every section, and the session is the slow part.
 */
export async function fusedByOnnx(
  session: InferenceSession,
  examples: readonly FusionExample[],
): Promise<Scorer> {
  const probs = await fusionProbabilities(session, examples);
  const cache = new WeakMap<FusionExample, Float32Array>(
    examples.map((ex, i) => [ex, probs[i] as Float32Array]),
  );
  return (ex) => {
    const p = cache.get(ex);
    if (!p) throw new Error('example was not scored by the fusion model');
    return p;
  };
}

/** One way of scoring uploads, per category (the best single channel differs by category). */
export interface EvalMethod {
  key: string;
  title: string;
  scorer: (c: TextCat) => Scorer;
}

/** Per category, the single channel with the best AUROC on the validation posts. */
export function bestChannels(validationPosts: readonly FusionExample[]): Record<TextCat, string> {
  return Object.fromEntries(
    TEXT_CATS.map((l) => [l, bestSingleChannel(categoryIndex(l), validationPosts)]),
  ) as Record<TextCat, string>;
}

/** The fusion model and the rules it is compared with, in the order the report lists them. */
export function evalMethods(
  fusionVersion: string,
  fused: Scorer,
  best: Record<TextCat, string>,
): EvalMethod[] {
  return [
    { key: 'fused', title: `**fusion ${fusionVersion}**`, scorer: () => fused },
    { key: 'max', title: 'max rule', scorer: () => maxRule },
    { key: 'mean', title: 'mean rule', scorer: () => meanRule },
    {
      key: 'best',
      title: 'best single channel',
      scorer: (c) => singleChannel(CHANNELS.indexOf(best[c] as (typeof CHANNELS)[number])),
    },
    ...(['text', 'ocr', 'speech'] as const).map((ch) => ({
      key: ch,
      title: `${ch} channel alone`,
      scorer: () => singleChannel(CHANNELS.indexOf(ch)),
    })),
  ];
}

/** Per category and method: AUROC, AP, ECE and P/R/F1 at the validation-best-F1 threshold. */
export function headlineReports(
  methods: readonly EvalMethod[],
  validationPosts: readonly FusionExample[],
  testPosts: readonly FusionExample[],
): Record<TextCat, Record<string, MethodReport>> {
  return Object.fromEntries(
    TEXT_CATS.map((l) => [
      l,
      Object.fromEntries(
        methods.map((m) => [m.key, methodReport(m.scorer(l), categoryIndex(l), validationPosts, testPosts)]),
      ),
    ]),
  ) as Record<TextCat, Record<string, MethodReport>>;
}

export interface CalibrationRow {
  label: TextCat;
  textEce: number;
  fusedEce: number;
  text: ReturnType<typeof reliability>;
  fused: ReturnType<typeof reliability>;
}

/**
 * ECE and reliability of the text model on test texts alone, and of the fused output on the test
 * mix (only the uploads where some present channel scores the category).
 */
export function calibrationRows(
  testTexts: readonly FusionExample[],
  testMix: readonly FusionExample[],
  fused: Scorer,
): CalibrationRow[] {
  return TEXT_CATS.map((l) => {
    const [ts, ty] = column(testTexts, singleChannel(0), categoryIndex(l));
    const [fs, fy] = column(testMix, fused, categoryIndex(l), true);
    return {
      label: l,
      textEce: ece(ts, ty),
      fusedEce: ece(fs, fy),
      text: reliability(ts, ty),
      fused: reliability(fs, fy),
    };
  });
}
