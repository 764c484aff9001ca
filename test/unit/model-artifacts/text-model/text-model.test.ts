import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEXT_LABELS } from '#model-artifacts/text-model/data.ts';
import { auroc, bestF1Threshold } from '#model-artifacts/text-model/metrics.ts';
import {
  forward,
  initParams,
  type Pooling,
  type TextModelParams,
} from '#model-artifacts/text-model/model.ts';
import { exportTextModel, paramsFromOnnx, runTextModel } from '#model-artifacts/text-model/onnx.ts';
import {
  fitPlatt,
  maskedLoss,
  type TrainExample,
  trainTextModel,
} from '#model-artifacts/text-model/trainer.ts';
import {
  DEFAULT_FEATURIZER_CONFIG,
  type FeaturizerConfig,
  featurize,
  featurizerText,
  fnv1a32,
  normaliseText,
  padBatch,
  parseFeaturizerConfig,
  tokenize,
} from '#shared/text/featurize.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const MODEL_DIR = join(REPO_ROOT, 'model-artifacts/models/text-toxicity/');

const BENIGN = [
  'What a lovely sunny day, we are going to the park with the kids.',
  'Thank you so much for your help with the project, really appreciated!',
  'The meeting has moved to Tuesday at 3pm in room 4.',
];
const INSULTS = ['You are a worthless stupid idiot and everybody hates you.', 'Shut up you dumb bitch'];
const HATEFUL = [
  'I hate all immigrants, they are animals and should go back to their country.',
  'All muslims are terrorists and should be banned.',
];
const THREATS = ['I am going to find you and stab you', 'someone should shoot every one of those people'];

describe('normaliseText', () => {
  it('masks URLs and mentions, drops retweet markers and hashtag signs, decodes entities', () => {
    expect(normaliseText('RT @some_one: Look &amp; see http://t.co/x1 #MAGA')).toBe(
      '<user> : look & see <url> maga',
    );
  });

  it('maps OLID placeholders to the same tokens', () => {
    expect(normaliseText('@USER @USER read this URL')).toBe('<user> <user> read this <url>');
  });

  it('applies NFKC, lowercases, shortens character runs and collapses whitespace', () => {
    expect(normaliseText('  ＮＯＯＯＯ   wayyyy\n\tout  ')).toBe('noo wayy out');
  });

  it('undoes leetspeak only between letters', () => {
    expect(normaliseText('sh1t f@gg0t 4u 1st 2020')).toBe('shit faggot 4u 1st 2020');
    expect(normaliseText('sh1t', { deleet: false })).toBe('sh1t');
  });

  it('keeps contractions and emoji as tokens', () => {
    expect(tokenize(normaliseText('Don’t 😂 stop!'))).toEqual(["don't", '😂', 'stop']);
  });
});

describe('featurizerText with evasion folding', () => {
  const on = { deleet: true, evasion: true };

  it('reads look-alikes, marks, bidi controls, masks, spacing, leetspeak and letter runs as the word', () => {
    const clean = featurizerText('you are one stupid idiot, fuck off', on);
    for (const evasive of [
      'yоu аrе оnе ѕtuріd іdіоt, fuck off', // Cyrillic look-alikes
      'y̷o̷u̷ are one stu͎pid id͙iot, fuck off', // combining marks
      'you are one stu\u2066pid id\u202eiot, fu\u200bck off', // isolate, override, zero-width
      'you are one stuuuupid idiooot, fuuuck off', // letter runs
      'you are one s t u p i d idiot, f*ck off', // spaced out, masked
      'you are one 5tup1d 1d10t, fuck off', // leetspeak
    ]) {
      expect(featurizerText(evasive, on), evasive).toBe(clean);
    }
  });

  it('masks URLs and mentions before reading @ as a leetspeak a', () => {
    expect(featurizerText('@some_user look http://t.co/x1', on)).toBe('<user> lok <url>');
  });

  it('leaves text alone when the configuration predates it', () => {
    expect(featurizerText('stuuupid', { deleet: true })).toBe('stuupid');
  });
});

describe('featurize', () => {
  const config = DEFAULT_FEATURIZER_CONFIG;

  it('is deterministic and uses the FNV-1a reference hash', () => {
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(featurize('You are an idiot', config)).toEqual(featurize('You are an idiot', config));
  });

  it('keeps ids in 1..buckets-1 and respects the feature cap', () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const f = featurize(long, config);
    expect(f.ids).toHaveLength(config.maxFeatures);
    expect(Math.min(...f.ids)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...f.ids)).toBeLessThan(config.buckets);
    expect(new Set(f.ids).size).toBe(f.ids.length);
  });

  it('sums the weights of repeated features into one id', () => {
    const once = featurize('idiot', { ...config, charNgrams: null });
    const twice = featurize('idiot idiot', { ...config, charNgrams: null, wordNgrams: 1 });
    expect(twice.ids).toEqual(once.ids);
    expect(twice.weights).toEqual([2]);
  });

  it('gives an empty text no features and pads it to one absent token', () => {
    const f = featurize('   ', config);
    expect(f).toEqual({ ids: [], weights: [] });
    const batch = padBatch([f, featurize('hi', config)]);
    expect(batch.ids.slice(0, batch.tokens)).toEqual(new BigInt64Array(batch.tokens));
  });

  it('rejects a malformed configuration', () => {
    expect(() => parseFeaturizerConfig({ ...config, buckets: 1 })).toThrow();
  });
});

describe('text model export', () => {
  const config: FeaturizerConfig = { ...DEFAULT_FEATURIZER_CONFIG, buckets: 512 };
  const texts = ['hello there', 'you absolute idiot', '', 'a much longer text with many more words in it'];

  function randomModel(hidden: number, pooling: Pooling = 'mean'): TextModelParams {
    const p = initParams(config.buckets, 8, hidden, 7, 5, pooling);
    p.b2.set([0.1, -0.2, 0.3]);
    p.calibScale.set([0.9, 1.1, 1.3]);
    p.calibShift.set([-0.1, 0.2, 0]);
    return p;
  }

  it.each([
    [0, 'mean'],
    [6, 'mean'],
    [0, 'mean-max'],
    [6, 'mean-max'],
  ] as const)('matches the TypeScript forward pass (hidden %i, %s pooling)', async (hidden, pooling) => {
    const p = randomModel(hidden, pooling);
    const session = await ort.InferenceSession.create(exportTextModel(p));
    const feats = texts.map((t) => featurize(t, config));
    const out = await runTextModel(session, feats);
    feats.forEach((f, i) => {
      const ts = forward(p, f);
      expect(Array.from(out.probs[i] ?? [])).toEqual(Array.from(ts.probs).map((v) => expect.closeTo(v, 6)));
      expect(out.embedding[i]).toHaveLength(hidden || (pooling === 'mean-max' ? 16 : 8));
    });
  });

  it('round-trips parameters through paramsFromOnnx', () => {
    const p = randomModel(6, 'mean-max');
    const back = paramsFromOnnx(exportTextModel(p));
    expect(back.hidden).toBe(6);
    expect(back.pooling).toBe('mean-max');
    expect(back.embedding).toEqual(p.embedding);
    expect(back.calibScale).toEqual(p.calibScale);
  });
});

describe('committed text-toxicity model', () => {
  let session: ort.InferenceSession;
  let params: TextModelParams;
  let config: FeaturizerConfig;
  let manifest: { labels: string[]; sha256: string; outputs: { name: string; shape: (number | string)[] }[] };

  beforeAll(async () => {
    const bytes = readFileSync(`${MODEL_DIR}model.onnx`);
    manifest = JSON.parse(readFileSync(`${MODEL_DIR}manifest.json`, 'utf8'));
    config = parseFeaturizerConfig((manifest as unknown as { preprocess: unknown }).preprocess);
    session = await ort.InferenceSession.create(bytes);
    params = paramsFromOnnx(bytes);
  });

  const probs = async (texts: string[]): Promise<Float32Array[]> =>
    (
      await runTextModel(
        session,
        texts.map((t) => featurize(t, config)),
      )
    ).probs;

  it('has the manifest the contract expects', () => {
    expect(manifest.labels).toEqual([...TEXT_LABELS]);
    expect(manifest.outputs.find((o) => o.name === 'probs')?.shape).toEqual(['batch', TEXT_LABELS.length]);
    expect(config.evasion).toBe(true);
    expect(manifest.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(`${MODEL_DIR}model.onnx`))
        .digest('hex'),
    );
    expect(manifest.outputs.find((o) => o.name === 'embedding')?.shape).toEqual(['batch', params.hidden]);
    expect(params.buckets).toBe(config.buckets);
  });

  it('is invariant to padding', async () => {
    const feats = [...BENIGN, ...INSULTS].map((t) => featurize(t, config));
    const tight = await runTextModel(session, feats);
    const padded = await runTextModel(session, feats, 700);
    tight.probs.forEach((row, i) => {
      expect(Array.from(padded.probs[i] ?? [])).toEqual(Array.from(row).map((v) => expect.closeTo(v, 6)));
    });
  });

  it('agrees with the TypeScript forward pass on its own weights', async () => {
    const texts = [...BENIGN, ...INSULTS, ...HATEFUL];
    const onnx = await probs(texts);
    texts.forEach((t, i) => {
      const ts = forward(params, featurize(t, config)).probs;
      expect(Array.from(onnx[i] ?? [])).toEqual(Array.from(ts).map((v) => expect.closeTo(v, 5)));
    });
  });

  it('scores insults, hateful sentences and threats above benign ones', async () => {
    const [benign, insults, hateful, threats] = await Promise.all([
      probs(BENIGN),
      probs(INSULTS),
      probs(HATEFUL),
      probs(THREATS),
    ]);
    const col = (rows: Float32Array[], k: number): number[] => rows.map((r) => r[k] ?? Number.NaN);
    const [hate, harassment, , violence] = [0, 1, 2, 3];
    const maxBenign = (k: number): number => Math.max(...col(benign, k));
    expect(Math.min(...col(hateful, hate))).toBeGreaterThan(maxBenign(hate));
    expect(Math.min(...col(insults, harassment))).toBeGreaterThan(maxBenign(harassment));
    expect(Math.min(...col(threats, violence))).toBeGreaterThan(maxBenign(violence));
    for (const row of [...benign, ...insults, ...hateful, ...threats]) {
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of row) expect(v).toBeLessThanOrEqual(1);
    }
  });
});

describe('trainer', () => {
  const config: FeaturizerConfig = { ...DEFAULT_FEATURIZER_CONFIG, buckets: 4096 };
  const toxic = ['idiot', 'moron', 'stupid', 'loser', 'trash'];
  const kind = ['friend', 'lovely', 'thanks', 'great', 'kind'];
  const nouns = ['day', 'game', 'post', 'team', 'show', 'song'];

  function synthetic(n: number): TrainExample[] {
    return Array.from({ length: n }, (_, i) => {
      const bad = i % 2 === 0;
      const word = (bad ? toxic : kind)[i % 5] ?? '';
      const text = `that ${nouns[i % 6]} was ${word} number ${i}`;
      // Every third row leaves harassment unknown, as Davidson rows do.
      return {
        f: featurize(text, config),
        y: [0, bad ? 1 : 0, bad ? 1 : 0],
        mask: [1, i % 3 === 0 ? 0 : 1, 1],
      };
    });
  }

  /** One short epoch over the synthetic rows. */
  const shortEpoch = {
    buckets: config.buckets,
    dim: 16,
    hidden: 8,
    epochs: 1,
    batchSize: 8,
    lr: 0.03,
    seed: 3,
  };
  /** AUROC of the third output on the rows it was trained on. */
  const thirdOutputAuroc = (params: ReturnType<typeof trainTextModel>['params'], train: TrainExample[]) =>
    auroc(
      train.map((e) => forward(params, e.f).probs[2] ?? 0),
      train.map((e) => e.y[2] ?? 0),
    );

  it('reduces the masked loss in one short epoch', () => {
    const train = synthetic(300);
    const before = maskedLoss(initParams(config.buckets, 16, 8, 3), train);
    const { params, history } = trainTextModel(train, shortEpoch);
    const after = maskedLoss(params, train);
    expect(history).toHaveLength(1);
    expect(after).toBeLessThan(before * 0.8);
    expect(thirdOutputAuroc(params, train)).toBeGreaterThan(0.9);
  });

  it('learns with max pooling too', () => {
    const train = synthetic(300);
    const { params } = trainTextModel(train, { ...shortEpoch, pooling: 'mean-max' });
    expect(params.pooling).toBe('mean-max');
    expect(thirdOutputAuroc(params, train)).toBeGreaterThan(0.9);
  });

  it('is reproducible from its seed', () => {
    const train = synthetic(64);
    const options = { buckets: config.buckets, dim: 4, hidden: 0, epochs: 1, seed: 11 };
    expect(trainTextModel(train, options).params.w2).toEqual(trainTextModel(train, options).params.w2);
  });

  it('fits Platt scaling that recovers a known scale and shift', () => {
    const z = Array.from({ length: 4000 }, (_, i) => (i / 4000) * 8 - 4);
    // Deterministic labels whose frequency follows sigmoid(2z - 1).
    const y = z.map((v, i) => (((i * 7919) % 1000) / 1000 < 1 / (1 + Math.exp(-(2 * v - 1))) ? 1 : 0));
    const { scale, shift } = fitPlatt(z, y);
    expect(scale).toBeCloseTo(2, 0);
    expect(shift).toBeCloseTo(-1, 0);
  });

  it('picks the F1-maximising threshold', () => {
    expect(bestF1Threshold([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0])).toBe(0.8);
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });
});
