/**
 * `npm run eval`: evaluates the committed models end to end and writes reports/EVALUATION.md with
 * SVG figures under reports/figures/, updates the evaluation block of the model cards and
 * regenerates the policy presets (shared/policy/presets/*.json) from their precision targets.
 *
 * Data: the multimodal set (build-dataset.ts; built on first use, then cached), the text corpora's
 * validation split (threshold and channel choice) and test split (every reported figure), and the
 * project's hand-written non-tweet texts (handwritten-non-tweets.json).
 *
 *   npm run eval [-- --data-dir DIR] [--no-presets]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { charErrors, errorRate, wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { mulberry32 } from '#model-artifacts/fusion/compose.ts';
import { FUSION_INPUT, FUSION_LABELS, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { loadCorpus, type Source } from '#model-artifacts/text-model/data.ts';
import { atThreshold, auroc, bestF1Threshold, ece } from '#model-artifacts/text-model/metrics.ts';
import { CHANNELS } from '#shared/domain/taxonomy.ts';
import { createSession, type InferenceSession } from '#shared/onnx/sessions.ts';
import { applyPolicy, parsePolicy } from '#shared/policy/policy.ts';
import { parseFeaturizerConfig } from '#shared/text/featurize.ts';
import { buildDataset } from './build-dataset.ts';
import { REPO } from './dataset.ts';
import {
  averagePrecision,
  bestSingleChannel,
  column,
  fmt,
  type MethodReport,
  maxRule,
  meanRule,
  methodReport,
  type Scorer,
  singleChannel,
} from './methods.ts';
import { confusion, confusionGrid, lineChart, prCurve, reliability, type Series } from './plot.ts';
import {
  buildPools,
  composePosts,
  type FusionExample,
  postExample,
  scoreTexts,
  singleUploads,
} from './posts.ts';
import { NEVER, precisionAtPrevalence, thresholdForPrecision } from './thresholds.ts';
import { buildVideos, localGateway, scoreVideos, VIDEO_SCENARIOS } from './videos.ts';

const EVAL_SEED = 20_240_620;
const POSTS = { validation: 4_000, test: 4_000 };
const TEXT_CATS = ['hate', 'harassment', 'offensive'] as const;
type TextCat = (typeof TEXT_CATS)[number];
const C = (label: string): number => FUSION_LABELS.indexOf(label as (typeof FUSION_LABELS)[number]);
const REPORT_DIR = join(REPO, 'reports');
const FIG_DIR = join(REPORT_DIR, 'figures');

/** Precision targets of the policy presets: review and block, per preset. */
export const PRESET_TARGETS = {
  strict: { review: 0.4, block: 0.65 },
  balanced: { review: 0.5, block: 0.8 },
  lenient: { review: 0.65, block: 0.9 },
} as const;
/** Categories with no labelled data keep their hand-set thresholds (not data-derived). */
const HAND_SET: Record<
  keyof typeof PRESET_TARGETS,
  Record<'sexual' | 'violence', { review: number; block: number }>
> = {
  strict: { sexual: { review: 0.3, block: 0.7 }, violence: { review: 0.3, block: 0.7 } },
  balanced: { sexual: { review: 0.5, block: 0.85 }, violence: { review: 0.5, block: 0.85 } },
  lenient: { sexual: { review: 0.7, block: 0.95 }, violence: { review: 0.7, block: 0.95 } },
};
/**
 * Share of positives the presets' precision targets assume. The corpora are harm-rich (about two
 * thirds of texts are offensive), so a precision measured on their own mix says little about
 * traffic; targets are met at this reference prevalence instead (recall and false-positive rate
 * re-weighted), and the report gives both.
 */
export const REFERENCE_PREVALENCE = Number(process.env.EVAL_REFERENCE_PREVALENCE ?? 0.1);

/** One operating point of a preset: its threshold and what it gives on the test mix. */
interface Operating {
  target: number | null;
  reached: boolean;
  threshold: number;
  precision: number | null;
  recall: number | null;
  precisionAtReference: number | null;
}
type PresetEval = Record<
  keyof typeof PRESET_TARGETS,
  Record<TextCat, { review: Operating; block: Operating; testItems: number; testPositives: number }>
>;

const log = (msg: string): void => {
  process.stderr.write(`[eval] ${msg}\n`);
};

interface Manifest {
  name: string;
  version: string;
  sha256: string;
  labels: string[];
  preprocess?: Record<string, unknown>;
}
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

/** Fused probabilities from the committed fusion ONNX model, cached per example. */
async function fusedByOnnx(session: InferenceSession, examples: readonly FusionExample[]): Promise<Scorer> {
  const cache = new WeakMap<FusionExample, Float32Array>();
  for (let i = 0; i < examples.length; i += 1024) {
    const batch = examples.slice(i, i + 1024);
    const x = new Float32Array(batch.length * NUM_CHANNELS * NUM_LABELS);
    const present = new Float32Array(batch.length * NUM_CHANNELS);
    batch.forEach((ex, b) => {
      x.set(ex.x, b * NUM_CHANNELS * NUM_LABELS);
      present.set(ex.present, b * NUM_CHANNELS);
    });
    const out = await session.run({
      [FUSION_INPUT]: new ort.Tensor('float32', x, [batch.length, NUM_CHANNELS, NUM_LABELS]),
      present: new ort.Tensor('float32', present, [batch.length, NUM_CHANNELS]),
    });
    const probs = out.probs?.data as Float32Array;
    batch.forEach((ex, b) => {
      cache.set(ex, probs.slice(b * NUM_LABELS, (b + 1) * NUM_LABELS));
    });
  }
  return (ex) => {
    const p = cache.get(ex);
    if (!p) throw new Error('example was not scored by the fusion model');
    return p;
  };
}

/** Short legend names of the per-channel rows in the figures. */
const LEGEND: Record<string, string> = {
  'ocr channel: pictures of test texts (0 where OCR read nothing)': 'OCR of test pictures',
  '  … same texts typed (perfect OCR)': '  same texts typed (perfect OCR)',
  'speech channel: spoken test texts (0 where nothing recognised)': 'transcripts of test clips',
  '  … same texts typed (perfect recognition)': '  same texts typed (perfect ASR)',
  'text channel: typed test texts': 'typed test texts',
};

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const prf = (m: { precision: number; recall: number; f1: number }): string =>
  `${fmt(m.precision)} / ${fmt(m.recall)} / ${fmt(m.f1)}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') },
      'no-presets': { type: 'boolean', default: false },
    },
  });
  const t0 = performance.now();
  const modelsDir = join(REPO, 'model-artifacts/models');
  const textM = readManifest(join(modelsDir, 'text-toxicity'));
  const imageM = readManifest(join(modelsDir, 'image-nsfw'));
  const fusionM = readManifest(join(modelsDir, 'fusion'));
  for (const [m, dir] of [
    [textM, 'text-toxicity'],
    [fusionM, 'fusion'],
  ] as const) {
    const sha = createHash('sha256')
      .update(readFileSync(join(modelsDir, dir, 'model.onnx')))
      .digest('hex');
    if (sha !== m.sha256) throw new Error(`${dir}/model.onnx does not match its manifest`);
  }
  const models = {
    text: await createSession(join(modelsDir, 'text-toxicity/model.onnx')),
    featurizer: parseFeaturizerConfig(textM.preprocess),
    image: await createSession(join(modelsDir, 'image-nsfw/model.onnx')),
    imageLabels: imageM.labels,
  };
  const fusion = await createSession(join(modelsDir, 'fusion/model.onnx'));

  const dataset = await buildDataset({ dataDir: values['data-dir'] });
  const corpus = loadCorpus(values['data-dir']);
  const val = await buildPools('validation', corpus.examples, dataset, models);
  const test = await buildPools('test', corpus.examples, dataset, models);
  log(`scored pools in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  // ---- Posts and single uploads, scored by every method ------------------------------------------
  const valPosts = composePosts(POSTS.validation, val, mulberry32(EVAL_SEED));
  const testPosts = composePosts(POSTS.test, test, mulberry32(EVAL_SEED + 1));
  const valPostEx = valPosts.flatMap((p) => postExample(p) ?? []);
  const testPostEx = testPosts.flatMap((p) => postExample(p) ?? []);
  const valSingles = singleUploads(val);
  const testSingles = singleUploads(test);
  // The policy mix: every kind of upload (texts alone dominate, as they do in the corpora).
  const valMix = [...valSingles.texts, ...valSingles.pictures, ...valSingles.clips, ...valPostEx];
  const testMix = [...testSingles.texts, ...testSingles.pictures, ...testSingles.clips, ...testPostEx];
  const fused = await fusedByOnnx(fusion, [...valMix, ...testMix]);
  const best = Object.fromEntries(TEXT_CATS.map((l) => [l, bestSingleChannel(C(l), valPostEx)])) as Record<
    TextCat,
    string
  >;
  const methods: { key: string; title: string; scorer: (c: TextCat) => Scorer }[] = [
    { key: 'fused', title: `**fusion ${fusionM.version}**`, scorer: () => fused },
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
  const headline = Object.fromEntries(
    TEXT_CATS.map((l) => [
      l,
      Object.fromEntries(methods.map((m) => [m.key, methodReport(m.scorer(l), C(l), valPostEx, testPostEx)])),
    ]),
  ) as Record<TextCat, Record<string, MethodReport>>;

  // ---- Each channel on its own data (test split) --------------------------------------------------
  const textThresholds = Object.fromEntries(
    TEXT_CATS.map((l) => {
      const [s, y] = column(valSingles.texts, singleChannel(0), C(l));
      return [l, bestF1Threshold(s, y)];
    }),
  ) as Record<TextCat, number>;
  type Row = { name: string; scores: number[]; labels: number[] };
  const channelRows = (l: TextCat): Row[] => {
    const c = C(l);
    const rows: Row[] = [];
    const add = (name: string, items: { p: number; y: number; m: number }[]): void => {
      const kept = items.filter((i) => i.m > 0);
      rows.push({ name, scores: kept.map((i) => i.p), labels: kept.map((i) => i.y) });
    };
    add(
      'text channel: typed test texts',
      test.captions.map((t) => ({ p: t.scored.probs[c] ?? 0, y: t.y[c] ?? 0, m: t.mask[c] ?? 0 })),
    );
    for (const source of ['davidson', 'olid'] as Source[]) {
      const idx = corpus.examples.filter((e) => e.split === 'test');
      add(
        `  … ${source} only`,
        test.captions.flatMap((t, i) =>
          idx[i]?.source === source ? [{ p: t.scored.probs[c] ?? 0, y: t.y[c] ?? 0, m: t.mask[c] ?? 0 }] : [],
        ),
      );
    }
    add(
      'ocr channel: pictures of test texts (0 where OCR read nothing)',
      test.images.map((i) => ({ p: i.ocr?.probs[c] ?? 0, y: i.y[c] ?? 0, m: i.mask[c] ?? 0 })),
    );
    add(
      '  … same texts typed (perfect OCR)',
      test.images.map((i) => ({ p: i.oracle.probs[c] ?? 0, y: i.y[c] ?? 0, m: i.mask[c] ?? 0 })),
    );
    add(
      'speech channel: spoken test texts (0 where nothing recognised)',
      test.audio.map((a) => ({ p: a.speech?.probs[c] ?? 0, y: a.y[c] ?? 0, m: a.mask[c] ?? 0 })),
    );
    add(
      '  … same texts typed (perfect recognition)',
      test.audio.map((a) => ({ p: a.oracle.probs[c] ?? 0, y: a.y[c] ?? 0, m: a.mask[c] ?? 0 })),
    );
    return rows;
  };

  // ---- Hand-written non-tweets --------------------------------------------------------------------
  const hand = JSON.parse(
    readFileSync(join(REPO, 'model-artifacts/eval/handwritten-non-tweets.json'), 'utf8'),
  ) as {
    items: ({ kind: string; text: string } & Record<TextCat, number>)[];
  };
  const handScores = await scoreTexts(
    models.text,
    models.featurizer,
    hand.items.map((i) => i.text),
  );
  const handRows = TEXT_CATS.map((l) => {
    const s = handScores.map((h) => h.probs[C(l)] ?? 0);
    const y = hand.items.map((i) => i[l]);
    return {
      label: l,
      s,
      y,
      auroc: auroc(s, y),
      ap: averagePrecision(s, y),
      at: atThreshold(s, y, textThresholds[l]),
    };
  });
  const handWorst = hand.items
    .map((item, i) => {
      const err = Math.max(...TEXT_CATS.map((l) => Math.abs((handScores[i]?.probs[C(l)] ?? 0) - item[l])));
      return { item, probs: handScores[i]?.probs, err };
    })
    .sort((a, b) => b.err - a.err)
    .slice(0, 8);
  const untargetedProfanity = hand.items.flatMap((item, i) =>
    item.offensive === 1 && item.harassment === 0 && item.hate === 0
      ? [handScores[i]?.probs[C('harassment')] ?? 0]
      : [],
  );

  // ---- OCR and speech quality ---------------------------------------------------------------------
  const testImages = dataset.images.filter((r) => r.split === 'test');
  const testClips = dataset.speech.filter((r) => r.split === 'test');
  const ocrQuality = {
    cer: errorRate(testImages.map((r) => charErrors(r.shown, r.ocr.text))),
    wer: errorRate(testImages.map((r) => wordErrors(r.shown, r.ocr.text))),
    empty: testImages.filter((r) => r.ocr.text.trim() === '').length,
    meanMs: testImages.reduce((s, r) => s + r.ocr.ms, 0) / Math.max(1, testImages.length),
  };
  const speechQuality = {
    wer: errorRate(testClips.map((r) => wordErrors(r.shown, r.transcript))),
    empty: testClips.filter((r) => r.transcript.trim() === '').length,
    meanMs: testClips.reduce((s, r) => s + r.ms, 0) / Math.max(1, testClips.length),
    engine: testClips[0]?.engine ?? 'none',
  };

  // ---- Calibration ----------------------------------------------------------------------------------
  const calibration = TEXT_CATS.map((l) => {
    const [ts, ty] = column(testSingles.texts, singleChannel(0), C(l));
    const [fs, fy] = column(testMix, fused, C(l), true);
    return {
      label: l,
      textEce: ece(ts, ty),
      fusedEce: ece(fs, fy),
      text: reliability(ts, ty),
      fused: reliability(fs, fy),
    };
  });

  // ---- Policy presets from precision targets ------------------------------------------------------
  const presets = Object.fromEntries(
    (Object.keys(PRESET_TARGETS) as (keyof typeof PRESET_TARGETS)[]).map((name) => {
      const targets = PRESET_TARGETS[name];
      const categories = Object.fromEntries(
        TEXT_CATS.map((l) => {
          const [vs, vy] = column(valMix, fused, C(l), true);
          const [ts, ty] = column(testMix, fused, C(l), true);
          const review = thresholdForPrecision(vs, vy, targets.review, { prevalence: REFERENCE_PREVALENCE });
          // Offensive language alone is never blocked (a person decides); only hate/harassment block.
          const block =
            l === 'offensive'
              ? { threshold: NEVER, reached: true }
              : thresholdForPrecision(vs, vy, targets.block, { prevalence: REFERENCE_PREVALENCE });
          const blockT = Math.max(block.threshold, review.threshold);
          const measure = (t: number) => {
            const m = atThreshold(ts, ty, t);
            return {
              threshold: t,
              precision: t >= NEVER ? null : m.precision,
              recall: t >= NEVER ? null : m.recall,
              precisionAtReference:
                t >= NEVER ? null : precisionAtPrevalence(ts, ty, t, REFERENCE_PREVALENCE),
            };
          };
          return [
            l,
            {
              review: { target: targets.review, reached: review.reached, ...measure(review.threshold) },
              block: {
                target: l === 'offensive' ? null : targets.block,
                reached: block.reached,
                ...measure(blockT),
              },
              testItems: ts.length,
              testPositives: ty.filter((v) => v > 0.5).length,
            },
          ];
        }),
      );
      return [name, categories];
    }),
  ) as PresetEval;
  if (!values['no-presets']) writePresets(presets, fusionM.version, textM.version);

  // ---- Videos (test): the pipeline's media path and scoring, end to end ------------------------------
  const videoSet = await buildVideos(dataset);
  const videoScores = await scoreVideos(videoSet, await localGateway(modelsDir));
  // Read back from disk: the presets were just regenerated, and the imported copy predates that.
  const balanced = parsePolicy(
    JSON.parse(readFileSync(join(REPO, 'shared/policy/presets/balanced.json'), 'utf8')),
  );
  const videoRows = VIDEO_SCENARIOS.map((scenario) => {
    const vs = videoScores.filter((v) => v.record.scenario === scenario);
    const flagged = (cats: (v: (typeof vs)[number]) => Record<string, number>) =>
      vs.filter((v) => applyPolicy(balanced, cats(v)).decision !== 'allow').length;
    const maxCats = (v: (typeof vs)[number]) =>
      Object.fromEntries(
        TEXT_CATS.map((l) => [l, Math.max(0, ...['ocr', 'speech'].map((ch) => v.channels[ch]?.[l] ?? 0))]),
      );
    return {
      scenario,
      videos: vs.length,
      offensive: vs.filter((v) => v.record.y[C('offensive')] === 1).length,
      fused: flagged((v) => v.fused),
      max: flagged(maxCats),
      ocrRead: vs.filter((v) => v.record.ocr.length > 0).length,
      speechHeard: vs.filter((v) => v.record.speech.length > 0).length,
    };
  });
  const videoOcr = errorRate(
    videoSet.videos.map((v) => {
      const still = dataset.images.find((r) => r.id === v.imageId);
      return wordErrors(still?.shown ?? '', v.ocr[0]?.text ?? '');
    }),
  );
  const stillOcr = errorRate(
    videoSet.videos.map((v) => {
      const still = dataset.images.find((r) => r.id === v.imageId);
      return wordErrors(still?.shown ?? '', still?.ocr.text ?? '');
    }),
  );
  const videoSummary = {
    rows: videoRows,
    ocrWer: { video: videoOcr, still: stillOcr },
    frames: videoSet.videos.reduce((a, v) => a + v.frames.length, 0) / Math.max(1, videoSet.videos.length),
    extractMs: videoSet.videos.reduce((a, v) => a + v.extractMs, 0) / Math.max(1, videoSet.videos.length),
    buildSeconds: videoSet.seconds,
  };

  // ---- Figures ------------------------------------------------------------------------------------
  mkdirSync(FIG_DIR, { recursive: true });
  const figures: string[] = [];
  const writeFig = (name: string, svg: string): void => {
    writeFileSync(join(FIG_DIR, name), `${svg}\n`);
    figures.push(name);
  };
  for (const l of TEXT_CATS) {
    const series: Series[] = methods
      .filter((m) => m.key !== 'best')
      .map((m) => {
        const [s, y] = column(testPostEx, m.scorer(l), C(l));
        return {
          name: `${m.title.replace(/\*/g, '')} (AP ${fmt(averagePrecision(s, y))})`,
          points: prCurve(s, y),
          dashed: m.key !== 'fused' && m.key !== 'max',
        };
      });
    writeFig(
      `pr-posts-${l}.svg`,
      lineChart(series, {
        title: `${l}: test posts, fused vs channels vs rules`,
        xLabel: 'recall',
        yLabel: 'precision',
      }),
    );
    const rows = channelRows(l).filter(
      (r) => !r.name.startsWith('  … davidson') && !r.name.startsWith('  … olid'),
    );
    rows.push({
      name: 'hand-written non-tweets',
      scores: handRows.find((h) => h.label === l)?.s ?? [],
      labels: handRows.find((h) => h.label === l)?.y ?? [],
    });
    writeFig(
      `pr-channels-${l}.svg`,
      lineChart(
        rows.map((r) => ({
          name: `${(LEGEND[r.name] ?? r.name).trim()} (AP ${fmt(averagePrecision(r.scores, r.labels))})`,
          points: prCurve(r.scores, r.labels),
          dashed: r.name.startsWith('  '),
        })),
        {
          title: `${l}: the text model on each channel's own data`,
          xLabel: 'recall',
          yLabel: 'precision',
          height: 400,
        },
      ),
    );
  }
  writeFig(
    'reliability-text.svg',
    lineChart(
      calibration.map((c) => ({ name: `${c.label} (ECE ${fmt(c.textEce)})`, points: c.text.points })),
      {
        title: 'Text model reliability (test texts)',
        xLabel: 'predicted probability',
        yLabel: 'observed frequency',
        diagonal: true,
        markers: true,
      },
    ),
  );
  writeFig(
    'reliability-fused.svg',
    lineChart(
      calibration.map((c) => ({ name: `${c.label} (ECE ${fmt(c.fusedEce)})`, points: c.fused.points })),
      {
        title: 'Fused reliability (test uploads and posts)',
        xLabel: 'predicted probability',
        yLabel: 'observed frequency',
        diagonal: true,
        markers: true,
      },
    ),
  );
  writeFig(
    'confusion-balanced.svg',
    confusionGrid(
      TEXT_CATS.flatMap((l) => {
        const [s, y] = column(testMix, fused, C(l), true);
        const p = presets.balanced[l];
        return [
          { title: `${l} ≥ review ${fmt(p.review.threshold, 2)}`, c: confusion(s, y, p.review.threshold) },
          ...(p.block.threshold < NEVER
            ? [{ title: `${l} ≥ block ${fmt(p.block.threshold, 2)}`, c: confusion(s, y, p.block.threshold) }]
            : []),
        ];
      }),
      'Balanced preset on test uploads and posts (fused)',
    ),
  );
  writeFig(
    'confusion-text-hand-written.svg',
    confusionGrid(
      handRows.map((h) => ({
        title: `${h.label} ≥ ${fmt(textThresholds[h.label], 2)}`,
        c: confusion(h.s, h.y, textThresholds[h.label]),
      })),
      'Text model on the hand-written non-tweets',
    ),
  );

  // ---- Report -------------------------------------------------------------------------------------
  const textMetrics = JSON.parse(readFileSync(join(modelsDir, 'text-toxicity/metrics.json'), 'utf8')) as {
    crossDataset: {
      train: string;
      test: string;
      inDomain: Record<string, { auroc: number; atTuned: { f1: number } }>;
      crossDomain: Record<string, { auroc: number; at05: { f1: number }; atTuned: { f1: number } }>;
    }[];
  };
  const seconds = (performance.now() - t0) / 1000;
  const report = renderReport({
    fusionVersion: fusionM.version,
    textVersion: textM.version,
    imageVersion: imageM.version,
    dataset,
    counts: {
      valPosts: valPostEx.length,
      testPosts: testPostEx.length,
      testMix: testMix.length,
      testTexts: testSingles.texts.length,
      testPictures: testSingles.pictures.length,
      testClips: testSingles.clips.length,
    },
    scenarioCounts: Object.fromEntries(
      ['neither', 'caption', 'media', 'both'].map((s) => [
        s,
        testPosts.filter((p) => p.scenario === s).length,
      ]),
    ),
    headline,
    best,
    methods: methods.map(({ key, title }) => ({ key, title })),
    channelRows: Object.fromEntries(TEXT_CATS.map((l) => [l, channelRows(l)])) as Record<TextCat, Row[]>,
    textThresholds,
    hand: {
      rows: handRows,
      worst: handWorst,
      n: hand.items.length,
      untargetedProfanity,
      kinds: countKinds(hand.items),
    },
    cross: textMetrics.crossDataset,
    ocrQuality,
    speechQuality,
    videoSummary,
    calibration,
    presets,
    figures,
    seconds,
  });
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(join(REPORT_DIR, 'EVALUATION.md'), report);
  const ownData = Object.fromEntries(
    TEXT_CATS.map((l) => {
      const rows = channelRows(l);
      const a = (prefix: string) => {
        const r = rows.find((x) => x.name.startsWith(prefix));
        return r ? auroc(r.scores, r.labels) : Number.NaN;
      };
      return [l, { ocr: a('ocr channel'), speech: a('speech channel') }];
    }),
  ) as Record<TextCat, { ocr: number; speech: number }>;
  updateCards(headline, handRows, calibration, ownData, fusionM.version);
  log(`wrote reports/EVALUATION.md and ${figures.length} figures in ${seconds.toFixed(0)} s`);
}

function countKinds(items: { kind: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.kind] = (out[i.kind] ?? 0) + 1;
  return out;
}

/** Rewrites the three presets' text-model categories; sexual and violence keep hand-set values. */
function writePresets(presets: PresetEval, fusionVersion: string, textVersion: string): void {
  for (const [name, cats] of Object.entries(presets)) {
    const hand = HAND_SET[name as keyof typeof HAND_SET];
    const thresholds: Record<string, { review: number; block: number }> = {
      sexual: hand.sexual,
      ...Object.fromEntries(
        Object.entries(cats).map(([l, v]) => [l, { review: v.review.threshold, block: v.block.threshold }]),
      ),
      violence: hand.violence,
    };
    const ordered = Object.fromEntries(
      ['sexual', 'hate', 'harassment', 'violence', 'offensive'].map((k) => [k, thresholds[k]]),
    );
    const hash = createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 8);
    const targets = PRESET_TARGETS[name as keyof typeof PRESET_TARGETS];
    const r3 = (x: number | null): number | null =>
      x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000;
    const preset = {
      name,
      version: `${name}-2.${hash}`,
      description:
        `Per-category thresholds on calibrated fused probabilities: at or above review → review, at or above block → block. ` +
        `hate/harassment/offensive chosen by \`npm run eval\` on validation data for precision ≥ ${targets.review} (review) and ≥ ${targets.block} (block) at ${REFERENCE_PREVALENCE * 100}% prevalence; ` +
        `offensive alone never blocks; sexual and violence are hand-set (no labelled data).`,
      thresholds: ordered,
      reviewWhenPartial: true,
      expected: {
        measuredOn: `test split: text-only uploads, pictures, clips and composed posts (reports/EVALUATION.md); fusion ${fusionVersion}, text-toxicity ${textVersion}`,
        targets: { review: targets.review, block: targets.block, atPrevalence: REFERENCE_PREVALENCE },
        categories: Object.fromEntries(
          Object.entries(cats).map(([l, v]) => [
            l,
            {
              review: {
                precision: r3(v.review.precision),
                recall: r3(v.review.recall),
                precisionAtReference: r3(v.review.precisionAtReference),
              },
              block: {
                precision: r3(v.block.precision),
                recall: r3(v.block.recall),
                precisionAtReference: r3(v.block.precisionAtReference),
              },
            },
          ]),
        ),
      },
    };
    writeFileSync(join(REPO, `shared/policy/presets/${name}.json`), `${JSON.stringify(preset, null, 2)}\n`);
  }
}

interface ReportInput {
  fusionVersion: string;
  textVersion: string;
  imageVersion: string;
  dataset: Awaited<ReturnType<typeof buildDataset>>;
  counts: Record<string, number>;
  scenarioCounts: Record<string, number>;
  headline: Record<TextCat, Record<string, MethodReport>>;
  best: Record<TextCat, string>;
  methods: { key: string; title: string }[];
  channelRows: Record<TextCat, { name: string; scores: number[]; labels: number[] }[]>;
  textThresholds: Record<TextCat, number>;
  hand: {
    rows: {
      label: TextCat;
      auroc: number;
      ap: number;
      at: { precision: number; recall: number; f1: number; positives: number };
    }[];
    worst: {
      item: { kind: string; text: string } & Record<TextCat, number>;
      probs: Float32Array | undefined;
    }[];
    n: number;
    untargetedProfanity: number[];
    kinds: Record<string, number>;
  };
  cross: {
    train: string;
    test: string;
    inDomain: Record<string, { auroc: number; atTuned: { f1: number } }>;
    crossDomain: Record<string, { auroc: number; at05: { f1: number }; atTuned: { f1: number } }>;
  }[];
  ocrQuality: { cer: number; wer: number; empty: number; meanMs: number };
  videoSummary: {
    rows: {
      scenario: string;
      videos: number;
      offensive: number;
      fused: number;
      max: number;
      ocrRead: number;
      speechHeard: number;
    }[];
    ocrWer: { video: number; still: number };
    frames: number;
    extractMs: number;
    buildSeconds: number;
  };
  speechQuality: { wer: number; empty: number; meanMs: number; engine: string };
  calibration: { label: string; textEce: number; fusedEce: number }[];
  presets: PresetEval;
  figures: string[];
  seconds: number;
}

function renderReport(r: ReportInput): string {
  const d = r.dataset;
  const testImages = d.images.filter((i) => i.split === 'test').length;
  const testClips = d.speech.filter((i) => i.split === 'test').length;
  const headlineRows = TEXT_CATS.flatMap((l) =>
    r.methods.map(({ key, title }) => {
      const m = r.headline[l][key];
      if (!m) return '';
      const name = key === 'best' ? `${title} (${r.best[l]})` : title;
      return `| ${l} | ${name} | ${fmt(m.auroc)} | ${fmt(m.ap)} | ${prf(m.tuned)} | ${fmt(m.ece)} |`;
    }),
  ).filter(Boolean);
  const channelTable = TEXT_CATS.flatMap((l) =>
    r.channelRows[l].map((row) => {
      const at = atThreshold(row.scores, row.labels, r.textThresholds[l]);
      return `| ${l} | ${row.name} | ${row.scores.length} | ${at.positives} | ${fmt(auroc(row.scores, row.labels))} | ${fmt(averagePrecision(row.scores, row.labels))} | ${prf(at)} |`;
    }),
  );
  const crossRows = r.cross.flatMap((x) =>
    Object.keys(x.crossDomain).map(
      (l) =>
        `| ${x.train} → ${x.test} | ${l} | ${fmt(x.inDomain[l]?.auroc ?? Number.NaN)} | ${fmt(x.crossDomain[l]?.auroc ?? Number.NaN)} | ${fmt(x.inDomain[l]?.atTuned.f1 ?? Number.NaN)} | ${fmt(x.crossDomain[l]?.atTuned.f1 ?? Number.NaN)} |`,
    ),
  );
  const presetRows = Object.entries(r.presets).flatMap(([name, cats]) =>
    Object.entries(cats).map(([l, v]) => {
      const cell = (x: Operating): string =>
        x.threshold >= NEVER
          ? x.target === null
            ? 'never (offensive alone does not block)'
            : `never (precision ${x.target} not reached on validation)`
          : `${fmt(x.threshold, 3)} → P ${fmt(x.precision ?? Number.NaN)}, R ${fmt(x.recall ?? Number.NaN)} (P at ${pct(REFERENCE_PREVALENCE)} prevalence ${fmt(x.precisionAtReference ?? Number.NaN)})`;
      return `| ${name} | ${l} | ${v.review.target} | ${cell(v.review)} | ${v.block.target ?? '–'} | ${cell(v.block)} |`;
    }),
  );
  const fig = (name: string, alt: string): string => `![${alt}](figures/${name})`;
  const maxWins = TEXT_CATS.map((l) => {
    const f = r.headline[l].fused;
    const m = r.headline[l].max;
    return `${l}: AUROC ${fmt(f?.auroc ?? Number.NaN)} vs ${fmt(m?.auroc ?? Number.NaN)}, F1 ${fmt(f?.tuned.f1 ?? Number.NaN)} vs ${fmt(m?.tuned.f1 ?? Number.NaN)}`;
  }).join('; ');
  return `# Evaluation report

Generated by \`npm run eval\` (model-artifacts/eval/run.ts) in ${r.seconds.toFixed(0)} s; do not edit by hand.
Models: text-toxicity ${r.textVersion}, image-nsfw ${r.imageVersion}, fusion ${r.fusionVersion}. How the data is made
and what each number means: [docs/EVALUATION.md](../docs/EVALUATION.md).

Every figure here is on data no model was trained, calibrated or tuned on: the **test** split of the
text corpora (split by source text, so no rendering or recording of a test text is ever used for
training), and ${r.hand.n} hand-written non-tweet texts. Thresholds are chosen on the validation split.

## Headline: fused vs each channel vs the rules (test posts)

${r.counts.testPosts} posts composed from test-split parts (harm in neither ${r.scenarioCounts.neither}, caption ${r.scenarioCounts.caption}, media
${r.scenarioCounts.media}, both ${r.scenarioCounts.both}): a caption, a picture of text read by OCR and/or a spoken clip
transcribed by speech recognition. The label is the OR of the parts' labels, including words the
OCR or the recogniser lost. P / R / F1 at each method's best-F1 threshold on validation posts; a
single channel scores 0 where it is absent. ECE = 10-bin expected calibration error.

| category | method | AUROC | AP | P / R / F1 | ECE |
|---|---|---:|---:|---|---:|
${headlineRows.join('\n')}

Fused vs max rule — ${maxWins}.

${TEXT_CATS.map((l) => fig(`pr-posts-${l}.svg`, `precision-recall, ${l}, test posts`)).join('\n')}

${fusionDecisions()}

## Each channel on its own data (test split)

The text model on typed texts, on what OCR read from pictures of texts and on what speech
recognition heard from spoken texts, each next to the same texts typed (what a perfect reader would
give). P / R / F1 at the text model's best-F1 validation thresholds (hate ${fmt(r.textThresholds.hate, 3)},
harassment ${fmt(r.textThresholds.harassment, 3)}, offensive ${fmt(r.textThresholds.offensive, 3)}).

| category | data | n | positives | AUROC | AP | P / R / F1 |
|---|---|---:|---:|---:|---:|---|
${channelTable.join('\n')}

OCR (${d.images[0]?.ocr ? 'tesseract.js via shared/extract/ocr.ts' : 'n/a'}) on the ${testImages} test pictures: character error rate
${pct(r.ocrQuality.cer)}, word error rate ${pct(r.ocrQuality.wer)}, nothing read from ${r.ocrQuality.empty}, mean ${r.ocrQuality.meanMs.toFixed(0)} ms per
picture. Speech (${r.speechQuality.engine}) on the ${testClips} test clips: word error rate ${pct(r.speechQuality.wer)},
nothing recognised in ${r.speechQuality.empty}, mean ${r.speechQuality.meanMs.toFixed(0)} ms per clip. The image channel scores only
\`sexual\`; all pictures here are of text, none sexual (see the fusion model card for its false-positive count).

${TEXT_CATS.map((l) => fig(`pr-channels-${l}.svg`, `precision-recall, ${l}, per channel`)).join('\n')}

## Video uploads (test)

${r.videoSummary.rows.reduce((a, x) => a + x.videos, 0)} short MP4 videos (H.264 + AAC): a picture of a test text shown for the length of a spoken test
clip, harm (offensive) in neither half, the picture, the sound track or both. Each goes through the
pipeline's own media path (\`collectMedia\`: ffmpeg frame sampling, OCR on frames, the sound track
through VAD + speech recognition; ${r.videoSummary.frames.toFixed(1)} frames and ${(r.videoSummary.extractMs / 1000).toFixed(1)} s per video) and its own scoring
(\`score\`: per-channel models, then the fusion model). "Flagged" = the balanced preset says review or
block. The max rule applies the same preset to the highest OCR/speech channel score.

| harm in | videos | offensive-labelled | flagged (fused) | flagged (max rule) | OCR read text | speech recognised |
|---|---:|---:|---:|---:|---:|---:|
${r.videoSummary.rows.map((x) => `| ${x.scenario} | ${x.videos} | ${x.offensive} | ${x.fused} | ${x.max} | ${x.ocrRead} | ${x.speechHeard} |`).join('\n')}

OCR word error rate on the first text read from the video frames ${pct(r.videoSummary.ocrWer.video)}, vs ${pct(r.videoSummary.ocrWer.still)} on the same
pictures as stills (H.264 at CRF 30). Harm carried only by the sound track is rarely caught: the
recogniser's transcripts carry almost no signal (above). Too few videos for AUROC; the counts are the result.

## Text unlike tweets, and across sources

**Hand-written non-tweets** (model-artifacts/eval/handwritten-non-tweets.json, written by this project:
${Object.entries(r.hand.kinds)
  .map(([k, n]) => `${n} ${k}`)
  .join(', ')}), same thresholds:

| category | positives | AUROC | AP | P / R / F1 |
|---|---:|---:|---:|---|
${r.hand.rows.map((h) => `| ${h.label} | ${h.at.positives} | ${fmt(h.auroc)} | ${fmt(h.ap)} | ${prf(h.at)} |`).join('\n')}

Untargeted profanity (offensive, neither hate nor harassment; ${r.hand.untargetedProfanity.length} texts): harassment probability
median ${fmt(median(r.hand.untargetedProfanity))}, ${r.hand.untargetedProfanity.filter((p) => p >= r.textThresholds.harassment).length} of them at or above the harassment threshold.

Largest errors (label → probability):

| kind | text | hate | harassment | offensive |
|---|---|---|---|---|
${r.hand.worst
  .map(
    (w) =>
      `| ${w.item.kind} | ${w.item.text.replace(/\|/g, '/')} | ${TEXT_CATS.map((l) => `${w.item[l]} → ${fmt(w.probs?.[C(l)] ?? Number.NaN, 2)}`).join(' | ')} |`,
  )
  .join('\n')}

${fig('confusion-text-hand-written.svg', 'confusion matrices, hand-written non-tweets')}

**Cross-dataset transfer** (text model recipe trained on one corpus, tested on the other's test split;
from model-artifacts/models/text-toxicity/metrics.json):

| train → test | category | in-domain AUROC | cross AUROC | in-domain F1 | cross F1 |
|---|---|---:|---:|---:|---:|
${crossRows.join('\n')}

**Text-model variants tried** (\`npx tsx model-artifacts/text-model/experiments.ts\`; validation AUROC
only — the test split and the hand-written set were not used to choose). "Harassment among offensive"
is the harassment AUROC among OLID's offensive validation tweets (a person targeted vs not): the
card's "untargeted profanity scores high on harassment" weakness, measured. No pretrained encoder
could be tried: no transformer weights can be downloaded here (docs/STRONGER_MODELS.md is the path
for a deployment that can).

${experimentsTable()}

## Calibration

| category | text model ECE (test texts) | fused ECE (test uploads and posts) |
|---|---:|---:|
${r.calibration.map((c) => `| ${c.label} | ${fmt(c.textEce)} | ${fmt(c.fusedEce)} |`).join('\n')}

Both are calibrated to the corpora's mix, where most texts are offensive; on traffic where harm is
rare the same probability means less (see "P at ${pct(REFERENCE_PREVALENCE)} prevalence" below).

${fig('reliability-text.svg', 'reliability, text model')}
${fig('reliability-fused.svg', 'reliability, fused')}

## Policy presets

\`shared/policy/presets/*.json\` are regenerated by this run: for hate, harassment and offensive the
lowest fused-probability threshold whose **validation** precision, re-weighted to ${pct(REFERENCE_PREVALENCE)} positives
(the corpora's own mix is far richer in harm than traffic), reaches the preset's target (review,
block); offensive alone never blocks; sexual and violence keep hand-set thresholds (no labelled
data). Expected precision / recall on the **test** mix (${r.counts.testMix} items: ${r.counts.testTexts} texts, ${r.counts.testPictures}
pictures, ${r.counts.testClips} clips, ${r.counts.testPosts} posts), also recorded in each preset's \`expected\` field, and the
test precision re-weighted to ${pct(REFERENCE_PREVALENCE)} positives — the quantity the targets are set on. Where
that is below the target, the validation-chosen threshold did not carry over to the test split: the
validation split also served the text model's early stopping and calibration and the fusion model's
training, so it flatters both a little, and thresholds chosen on it are optimistic.

| preset | category | review target | review threshold → test | block target | block threshold → test |
|---|---|---:|---|---:|---|
${presetRows.join('\n')}

${fig('confusion-balanced.svg', 'confusion matrices, balanced preset')}

## Data

- ${d.images.length} pictures (${d.config.imagesPerSplit} per split), fonts: ${d.config.fonts.join(', ')}; ${d.speech.length} clips (${d.config.speechPerSplit} per split), flite voices;
  built in ${d.timing.totalSeconds.toFixed(0)} s (OCR ${d.timing.ocrSeconds.toFixed(0)} s, speech ${d.timing.speechSeconds.toFixed(0)} s, in parallel); ${r.videoSummary.rows.reduce((a, x) => a + x.videos, 0)} test videos in ${r.videoSummary.buildSeconds.toFixed(0)} s.
- Posts: ${r.counts.valPosts} validation posts (thresholds, best channel) and ${r.counts.testPosts} test posts, seed ${EVAL_SEED}.
`;
}

/** What the fusion trainer measured (model-artifacts/models/fusion/metrics.json) to choose the model. */
function fusionDecisions(): string {
  const path = join(REPO, 'model-artifacts/models/fusion/metrics.json');
  if (!existsSync(path)) return '';
  const m = JSON.parse(readFileSync(path, 'utf8')) as {
    aurocDiffs?: Record<string, Record<string, { diff: number; lo: number; hi: number }>>;
    test?: Record<string, Record<string, MethodReport>>;
    testWithMissingParts?: Record<string, Record<string, MethodReport>>;
    dropout?: { used: boolean };
  };
  if (!m.aurocDiffs || !m.test || !m.testWithMissingParts) return '';
  const d = (key: string, l: string): string => {
    const x = m.aurocDiffs?.[key]?.[l];
    return x ? `${x.diff >= 0 ? '+' : ''}${fmt(x.diff)} [${fmt(x.lo)}, ${fmt(x.hi)}]` : 'n/a';
  };
  const a = (t: Record<string, Record<string, MethodReport>> | undefined, key: string, l: string): string =>
    fmt(t?.[key]?.[l]?.auroc ?? Number.NaN);
  return `**How the fusion model was chosen** (the trainer's own test composition, model-artifacts/models/fusion/MODEL_CARD.md;
AUROC differences with 95% paired-bootstrap intervals over posts):

| category | fused − max rule | fused − fusion 1.0.0 (simulated noise) | feature fusion − fused | AUROC shipped / other dropout setting (posts as composed) | same, parts missing at random |
|---|---|---|---|---|---|
${TEXT_CATS.map(
  (l) =>
    `| ${l} | ${d('fusedMinusMax', l)} | ${d('fusedMinusPrevious', l)} | ${d('featureMinusFused', l)} | ${a(m.test, 'fused', l)} / ${a(m.test, 'fusedAlt', l)} | ${a(m.testWithMissingParts, 'fused', l)} / ${a(m.testWithMissingParts, 'fusedAlt', l)} |`,
).join('\n')}

Feature fusion (embeddings + scores) is better for hate but worse for offensive: no clear win, so the
scores-only model and its ONNX contract are kept. The shipped model is trained **${m.dropout?.used ? 'with' : 'without'}**
modality dropout, chosen on validation data (the fusion card gives the selection figures).`;
}

function experimentsTable(): string {
  const path = join(REPO, 'model-artifacts/text-model/experiments.json');
  if (!existsSync(path)) return '(not run)';
  const rows = JSON.parse(readFileSync(path, 'utf8')) as {
    name: string;
    validation: Record<string, number>;
    davidsonToOlidValidation: Record<string, number>;
    olidToDavidsonValidation: Record<string, number>;
    harassmentAmongOffensive?: number;
  }[];
  return [
    '| variant | hate | harassment | offensive | harassment among offensive (OLID) | Davidson → OLID hate | Davidson → OLID offensive | OLID → Davidson hate | OLID → Davidson offensive |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.validation.hate ?? Number.NaN)} | ${fmt(r.validation.harassment ?? Number.NaN)} | ${fmt(r.validation.offensive ?? Number.NaN)} | ${fmt(r.harassmentAmongOffensive ?? Number.NaN)} | ${fmt(r.davidsonToOlidValidation.hate ?? Number.NaN)} | ${fmt(r.davidsonToOlidValidation.offensive ?? Number.NaN)} | ${fmt(r.olidToDavidsonValidation.hate ?? Number.NaN)} | ${fmt(r.olidToDavidsonValidation.offensive ?? Number.NaN)} |`,
    ),
  ].join('\n');
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const BEGIN = '<!-- eval:begin (written by npm run eval) -->';
const END = '<!-- eval:end -->';

/** Replaces (or appends) the evaluation block of the text and fusion model cards. */
function updateCards(
  headline: Record<TextCat, Record<string, MethodReport>>,
  hand: { label: TextCat; auroc: number; at: { precision: number; recall: number; f1: number } }[],
  calibration: { label: string; textEce: number; fusedEce: number }[],
  ownData: Record<TextCat, { ocr: number; speech: number }>,
  fusionVersion: string,
): void {
  const blocks: Record<string, string> = {
    'text-toxicity': `## Evaluation beyond the test split (npm run eval)

Full report: [reports/EVALUATION.md](../../../reports/EVALUATION.md).

| category | hand-written non-tweets AUROC | P / R / F1 there | on OCR of test pictures (AUROC) | on transcripts of test clips (AUROC) | ECE (test texts) |
|---|---:|---|---:|---:|---:|
${TEXT_CATS.map((l) => {
  const h = hand.find((x) => x.label === l);
  const cal = calibration.find((x) => x.label === l);
  return `| ${l} | ${fmt(h?.auroc ?? Number.NaN)} | ${h ? prf(h.at) : 'n/a'} | ${fmt(ownData[l].ocr)} | ${fmt(ownData[l].speech)} | ${fmt(cal?.textEce ?? Number.NaN)} |`;
}).join('\n')}

Benign sentences unlike tweets can still score high on \`offensive\` (see the largest errors in the
report): the probabilities are calibrated to the tweet corpora's mix, not to other text. Variants tried
to improve it (validation data only) are in \`model-artifacts/text-model/experiments.json\` and the report:
feature dropout raised cross-source offensive AUROC (Davidson → OLID) but lowered in-domain hate AUROC;
weighting untargeted offence ×3 in the harassment loss raised harassment AUROC among offensive tweets
(the untargeted-profanity weakness) from 0.683 to 0.723 with in-domain AUROC within seed noise, but
lowered cross-source offensive AUROC (OLID → Davidson 0.812 → 0.793). No variant improved without a
cost elsewhere, so the model was not retrained.`,
    fusion: `## Evaluation (npm run eval)

Full report: [reports/EVALUATION.md](../../../reports/EVALUATION.md). Test posts, fusion ${fusionVersion}:

| category | fused AUROC | max rule | mean rule | best single channel | fused F1 | max-rule F1 | fused ECE (posts) | fused ECE (test mix) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${TEXT_CATS.map((l) => {
  const h = headline[l];
  const cal = calibration.find((x) => x.label === l);
  return `| ${l} | ${fmt(h.fused?.auroc ?? Number.NaN)} | ${fmt(h.max?.auroc ?? Number.NaN)} | ${fmt(h.mean?.auroc ?? Number.NaN)} | ${fmt(h.best?.auroc ?? Number.NaN)} | ${fmt(h.fused?.tuned.f1 ?? Number.NaN)} | ${fmt(h.max?.tuned.f1 ?? Number.NaN)} | ${fmt(h.fused?.ece ?? Number.NaN)} | ${fmt(cal?.fusedEce ?? Number.NaN)} |`;
}).join('\n')}`,
  };
  for (const [name, block] of Object.entries(blocks)) {
    const path = join(REPO, 'model-artifacts/models', name, 'MODEL_CARD.md');
    if (!existsSync(path)) continue;
    const card = readFileSync(path, 'utf8');
    const text = `${BEGIN}\n${block}\n${END}`;
    const start = card.indexOf(BEGIN);
    const end = card.indexOf(END);
    const next =
      start >= 0 && end > start
        ? `${card.slice(0, start)}${text}${card.slice(end + END.length)}`
        : `${card.trimEnd()}\n\n${text}\n`;
    writeFileSync(path, next);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
