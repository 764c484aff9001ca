import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '#model-artifacts/clip/clip-bpe.ts';
import { buildZeroShotHead, PromptsSchema } from '#model-artifacts/clip/zero-shot-head.ts';
import { BERT, BERT_LABELS, CLIP, FIXTURE_PACK_DIR, VOCAB } from '#model-artifacts/fixtures/make-fixtures.ts';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';
import type { InferenceClient } from '#shared/inference/client.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { UnknownModelPackError } from '#shared/moderation/model-pack.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { imageProcessor, textProcessor, UnknownProcessorError } from '#shared/moderation/processors.ts';
import { basicTokenize, WordPieceTokenizer } from '#shared/text/wordpiece.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const tokenizer = new WordPieceTokenizer(new Map(VOCAB.map((t, i) => [t, i])), { maxLength: 12 });

describe('WordPiece tokenizer (BERT BasicTokenizer + WordPiece)', () => {
  it('lower-cases, strips accents, splits punctuation and CJK ideographs, drops control characters', () => {
    expect(basicTokenize('Café,  RUNNING!\u0000 你好')).toEqual(['cafe', ',', 'running', '!', '你', '好']);
    expect(basicTokenize('Café', false)).toEqual(['Café']);
  });

  it('takes the longest vocabulary prefix, then ## continuations, and [UNK] for what it cannot cover', () => {
    expect(tokenizer.tokenize('Playing dogs unplayable')).toEqual(['play', '##ing', 'dog', '##s', '[UNK]']);
    // 'un' matches, but no '##p…' piece continues it: the whole word is unknown, as in BERT.
    expect(tokenizer.wordPieces('unplayable')).toEqual(['[UNK]']);
    expect(tokenizer.wordPieces('playable')).toEqual(['play', '##able']);
    expect(tokenizer.wordPieces('zebra')).toEqual(['[UNK]']);
    expect(tokenizer.wordPieces('x'.repeat(101))).toEqual(['[UNK]']);
  });

  it('wraps in [CLS] … [SEP], truncates to maxLength and pads a batch with an attention mask', () => {
    expect(tokenizer.encode('you are an idiot').tokens).toEqual([
      '[CLS]',
      'you',
      'are',
      'an',
      'idiot',
      '[SEP]',
    ]);
    const long = tokenizer.encode('you '.repeat(30));
    expect(long.ids).toHaveLength(12);
    expect(long.tokens.at(-1)).toBe('[SEP]');
    const b = tokenizer.encodeBatch(['nice day', 'you are a stupid idiot']);
    expect(b.length).toBe(7);
    expect(Array.from(b.attentionMask.slice(0, 7), Number)).toEqual([1, 1, 1, 1, 0, 0, 0]);
    expect(Number(b.inputIds[4])).toBe(tokenizer.padId);
  });

  it('refuses a vocabulary without the special tokens', () => {
    expect(() => WordPieceTokenizer.fromVocabText('a\nb\n')).toThrow(/\[UNK\]/);
  });
});

/** Float initializers of an ONNX file by name. */
function weights(path: string): Map<string, Float32Array> {
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(path));
  const out = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== onnxProto.onnx.TensorProto.DataType.FLOAT) continue;
    out.set(t.name ?? '', new Float32Array(new Uint8Array(t.rawData ?? new Uint8Array()).buffer));
  }
  return out;
}

type Mat = number[][];
const dense = (x: Mat, w: Float32Array, b: Float32Array | undefined, dOut: number): Mat =>
  x.map((row) =>
    Array.from({ length: dOut }, (_, j) =>
      row.reduce((s, v, i) => s + v * (w[i * dOut + j] ?? 0), b?.[j] ?? 0),
    ),
  );
const layerNorm = (x: Mat, gamma: Float32Array, beta: Float32Array, eps: number): Mat =>
  x.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    return row.map(
      (v, i) => ((v - mean) / Math.sqrt(variance + eps)) * ((gamma[i] ?? 0) + 1) + (beta[i] ?? 0),
    );
  });
const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is only 1e-7 accurate; a series is exact enough here.
  let sum = x;
  let term = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const add = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((v, j) => v + (b[i]?.[j] ?? 0)));

function attentionRef(
  x: Mat,
  W: Map<string, Float32Array>,
  name: string,
  d: number,
  heads: number,
  mask: number[],
): Mat {
  const g = (n: string) => W.get(`${name}.${n}`) as Float32Array;
  const q = dense(x, g('query.weight'), g('query.bias'), d);
  const k = dense(x, g('key.weight'), g('key.bias'), d);
  const v = dense(x, g('value.weight'), g('value.bias'), d);
  const dh = d / heads;
  const ctx: Mat = x.map(() => new Array<number>(d).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < x.length; i++) {
      const scores = x.map((_, j) => {
        let s = 0;
        for (let e = 0; e < dh; e++) s += (q[i]?.[h * dh + e] ?? 0) * (k[j]?.[h * dh + e] ?? 0);
        return s / Math.sqrt(dh) + (1 - (mask[j] ?? 0)) * -10000;
      });
      const m = Math.max(...scores);
      const p = scores.map((s) => Math.exp(s - m));
      const z = p.reduce((a, b) => a + b, 0);
      for (let e = 0; e < dh; e++) {
        (ctx[i] as number[])[h * dh + e] = p.reduce(
          (s, pj, j) => s + (pj / z) * (v[j]?.[h * dh + e] ?? 0),
          0,
        );
      }
    }
  }
  return dense(ctx, g('output.weight'), g('output.bias'), d);
}

/** BertForSequenceClassification in plain TypeScript, on the fixture's own weights. */
function bertRef(W: Map<string, Float32Array>, ids: number[], mask: number[]): number[] {
  const { hidden: d, heads, ff, eps } = BERT;
  const w = (n: string) => W.get(n) as Float32Array;
  const rowOf = (m: Float32Array, r: number) => Array.from(m.slice(r * d, (r + 1) * d));
  const emb = ids.map((id, t) =>
    rowOf(w('embeddings.word_embeddings'), id).map(
      (v, i) =>
        v +
        (rowOf(w('embeddings.position_embeddings'), t)[i] ?? 0) +
        (rowOf(w('embeddings.token_type_embeddings'), 0)[i] ?? 0),
    ),
  );
  const x0 = layerNorm(emb, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), eps);
  const p = 'encoder.layer.0';
  const x1 = layerNorm(
    add(attentionRef(x0, W, `${p}.attention`, d, heads, mask), x0),
    w(`${p}.attention.LayerNorm.weight`),
    w(`${p}.attention.LayerNorm.bias`),
    eps,
  );
  const inter = dense(x1, w(`${p}.intermediate.weight`), w(`${p}.intermediate.bias`), ff).map((r) =>
    r.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
  );
  const x2 = layerNorm(
    add(dense(inter, w(`${p}.output.weight`), w(`${p}.output.bias`), d), x1),
    w(`${p}.output.LayerNorm.weight`),
    w(`${p}.output.LayerNorm.bias`),
    eps,
  );
  const pooled = dense([x2[0] as number[]], w('pooler.dense.weight'), w('pooler.dense.bias'), d).map((r) =>
    r.map(Math.tanh),
  );
  return dense(pooled, w('classifier.weight'), w('classifier.bias'), BERT_LABELS.length)[0] as number[];
}

describe('tiny BERT fixture (model-artifacts/fixtures/strong-tiny/text-bert)', () => {
  const dir = join(FIXTURE_PACK_DIR, 'text-bert');
  let session: ort.InferenceSession;
  beforeAll(async () => {
    // The registry's loader checks the sha256 and that the graph's signature matches the manifest.
    session = (await loadModel(dir)).session;
  });

  async function logits(texts: string[]): Promise<number[][]> {
    const b = tokenizer.encodeBatch(texts);
    const dims = [texts.length, b.length];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', b.inputIds, dims),
      attention_mask: new ort.Tensor('int64', b.attentionMask, dims),
      token_type_ids: new ort.Tensor('int64', b.tokenTypeIds, dims),
    });
    const data = Array.from(out.logits?.data as Float32Array);
    return texts.map((_, i) => data.slice(i * BERT_LABELS.length, (i + 1) * BERT_LABELS.length));
  }

  it('computes what a BERT encoder layer, pooler and classifier compute', async () => {
    const W = weights(join(dir, 'model.onnx'));
    for (const text of ['you are a stupid idiot!', 'nice day at the cafe', 'we will run']) {
      const e = tokenizer.encode(text);
      const [onnx] = await logits([text]);
      const ref = bertRef(
        W,
        e.ids,
        e.ids.map(() => 1),
      );
      for (let k = 0; k < BERT_LABELS.length; k++)
        expect(Math.abs((onnx?.[k] ?? 0) - (ref[k] ?? 0))).toBeLessThan(1e-4);
    }
  });

  it('ignores padding through the attention mask (batched = alone)', async () => {
    const short = 'nice day';
    const [alone] = await logits([short]);
    const [batched] = await logits([short, 'you are a stupid idiot and this is not a nice day at all']);
    for (let k = 0; k < BERT_LABELS.length; k++)
      expect(Math.abs((alone?.[k] ?? 0) - (batched?.[k] ?? 0))).toBeLessThan(1e-5);
  });
});

describe('tiny CLIP vision fixture (model-artifacts/fixtures/strong-tiny/image-clip)', () => {
  it('loads through the registry, embeds a batch as it embeds each image, and fits in well under 1 MB', async () => {
    const dir = join(FIXTURE_PACK_DIR, 'image-clip');
    const { session, manifest } = await loadModel(dir);
    expect(readFileSync(join(dir, 'model.onnx')).length).toBeLessThan(1024 * 1024);
    const size = CLIP.size;
    const img = (seed: number) =>
      Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.001 * seed));
    const run = async (xs: Float32Array[]) => {
      const data = new Float32Array(xs.length * 3 * size * size);
      xs.forEach((x, b) => {
        data.set(x, b * 3 * size * size);
      });
      const out = await session.run({
        pixel_values: new ort.Tensor('float32', data, [xs.length, 3, size, size]),
      });
      return Array.from(out.image_embeds?.data as Float32Array);
    };
    const both = await run([img(1), img(7)]);
    const one = await run([img(1)]);
    const two = await run([img(7)]);
    expect(both).toHaveLength(2 * CLIP.embed);
    both.forEach((v, i) => {
      expect(Math.abs(v - ([...one, ...two][i] ?? 0))).toBeLessThan(1e-4);
    });
    // Different images, different embeddings: the patch embedding and attention see the pixels.
    expect(one.some((v, i) => Math.abs(v - (two[i] ?? 0)) > 1e-3)).toBe(true);
    expect(manifest.preprocess?.kind).toBe('clip');
  });
});

describe('model packs (MODEL_PACK)', () => {
  it('default: the project models, with the hashed featurizer', () => {
    const pack = loadPack('default');
    expect(pack.text.processor.kind).toBe('hashed-ngrams');
    expect(pack.image.processor.kind).toBe('nsfw');
    expect(pack.text.featurizer.kind).toBe('hashed-ngrams');
  });

  it('a pack directory picks processors from each manifest, with no code change', () => {
    const pack = loadPack(FIXTURE_PACK_DIR);
    expect(pack.name).toBe('strong-tiny');
    expect(pack.text.processor.kind).toBe('wordpiece');
    expect(pack.text.processor.labels).toEqual(['hate', 'harassment', 'offensive']);
    expect(pack.image.processor.kind).toBe('clip');
    expect(pack.image.size).toBe(224);
    expect(pack.fusion.name).toBe('fusion');
    expect(() => pack.text.featurizer).toThrow(UnknownModelPackError);
  });

  it('rejects an unknown pack and an unknown preprocess kind, naming the known ones', () => {
    expect(() => loadPack('/nonexistent/pack')).toThrow(/known packs: default, strong/);
    const manifest = { ...loadPack('default').text, preprocess: { kind: 'sentencepiece' } };
    expect(() => textProcessor(manifest, () => '')).toThrow(UnknownProcessorError);
    expect(() => textProcessor(manifest, () => '')).toThrow(/hashed-ngrams, wordpiece/);
  });

  it('scores texts and images end to end through the gateway with the fixture models', async () => {
    const pack = loadPack(FIXTURE_PACK_DIR);
    const sessions = {
      'text-bert': (await loadModel(join(FIXTURE_PACK_DIR, 'text-bert'))).session,
      'image-clip': (await loadModel(join(FIXTURE_PACK_DIR, 'image-clip'))).session,
    };
    const calls: string[] = [];
    const client: InferenceClient = {
      async invoke(model, inputs) {
        calls.push(`${model}:${Object.keys(inputs).sort().join(',')}`);
        const session = sessions[model as keyof typeof sessions];
        const feeds = Object.fromEntries(
          Object.entries(inputs).map(([k, t]) => [
            k,
            new ort.Tensor(t.dtype, t.data as Float32Array, t.dims),
          ]),
        );
        const out = await session.run(feeds);
        const outputs: Record<string, Tensor> = Object.fromEntries(
          Object.entries(out).map(([k, t]) => [
            k,
            { dtype: 'float32', dims: [...t.dims], data: t.data as Float32Array },
          ]),
        );
        return { model: { name: model, version: 'tiny-random-1' }, outputs };
      },
    } as InferenceClient;
    const gateway = createModelGateway(client, pack);
    const texts = await gateway.scoreTexts(['you are a stupid idiot', 'nice day']);
    expect(texts.scores).toHaveLength(2);
    for (const s of texts.scores) {
      expect(Object.keys(s)).toEqual(['hate', 'harassment', 'offensive']);
      for (const v of Object.values(s)) expect(v).toBeGreaterThanOrEqual(0);
    }
    const pixels = new Uint8Array(224 * 224 * 3).map((_, i) => (i * 7) % 256);
    const images = await gateway.scoreImages([pixels]);
    expect(Object.keys(images.scores[0] ?? {})).toEqual(['sexual']);
    expect(images.scores[0]?.sexual).toBeGreaterThanOrEqual(0);
    expect(images.scores[0]?.sexual).toBeLessThanOrEqual(1);
    expect(calls).toEqual(['text-bert:attention_mask,input_ids,token_type_ids', 'image-clip:pixel_values']);
  });

  it('CLIP linear head and normalisation: sigmoid(W·e/|e| + b) on (x/255 − mean)/std', () => {
    const base = loadPack(FIXTURE_PACK_DIR).image;
    const p = imageProcessor(
      {
        ...base,
        labels: ['sexual', 'violence'],
        preprocess: {
          kind: 'clip',
          size: 2,
          mean: [0.5, 0.5, 0.5],
          std: [0.5, 0.5, 0.5],
          head: {
            kind: 'linear',
            weights: [
              [1, 0],
              [0, -1],
            ],
            bias: [0, 0],
          },
        },
      },
      () => '',
    );
    const enc = p.encode([Uint8Array.of(255, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0)]).pixel_values;
    expect(enc?.dims).toEqual([1, 3, 2, 2]);
    expect(Array.from(enc?.data as Float32Array).slice(0, 2)).toEqual([1, -1]);
    const [scores] = p.decode(
      { image_embeds: { dtype: 'float32', dims: [1, 2], data: Float32Array.of(3, 4) } },
      1,
    );
    expect(scores?.[0]).toBeCloseTo(1 / (1 + Math.exp(-0.6)), 6);
    expect(scores?.[1]).toBeCloseTo(1 / (1 + Math.exp(0.8)), 6);
    expect(p.labels).toEqual(['sexual', 'violence']);
  });
});

describe('CLIP text tower and zero-shot head (model-artifacts/fixtures/strong-tiny/clip-text)', () => {
  const dir = join(FIXTURE_PACK_DIR, 'clip-text');
  const clipTokenizer = ClipTokenizer.fromFiles(
    readFileSync(join(dir, 'vocab.json'), 'utf8'),
    readFileSync(join(dir, 'merges.txt'), 'utf8'),
  );

  it('tokenizes as CLIP does: lower case, byte-level BPE with </w>, start/end tokens, end-token padding', () => {
    expect(clipTokenizer.tokenize('A  photo of a NAKED person!! &amp; zebra')).toEqual([
      'a</w>',
      'photo</w>',
      'of</w>',
      'a</w>',
      'naked</w>',
      'person</w>',
      '!',
      '!</w>',
      '&</w>',
      'z',
      'e',
      'b',
      'r',
      'a</w>',
    ]);
    // Non-ASCII goes through the byte alphabet: "é" is two bytes, the second one ends the word.
    expect(clipTokenizer.tokenize('é')).toHaveLength(2);
    const ids = clipTokenizer.encode('a photo', 5);
    expect(ids).toEqual([clipTokenizer.bosId, ...ids.slice(1, 3), clipTokenizer.eosId]);
    expect(clipTokenizer.encode('a photo of a person of a person', 5)).toHaveLength(5);
    const b = clipTokenizer.encodeBatch(['a photo'], 8);
    expect(Array.from(b.inputIds, Number).slice(4)).toEqual([
      clipTokenizer.eosId,
      clipTokenizer.eosId,
      clipTokenizer.eosId,
      clipTokenizer.eosId,
    ]);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('pools at the end token under a causal mask: padding and batch partners change nothing', async () => {
    const { session } = await loadModel(dir);
    const embed = async (texts: string[], context: number) => {
      const b = clipTokenizer.encodeBatch(texts, context);
      const dims = [texts.length, context];
      const out = await session.run({
        input_ids: new ort.Tensor('int64', b.inputIds, dims),
        attention_mask: new ort.Tensor('int64', b.attentionMask, dims),
      });
      return Array.from(out.text_embeds?.data as Float32Array);
    };
    const short = await embed(['a photo'], 6);
    const padded = await embed(['a photo', 'a photo of a naked person'], 77);
    short.forEach((v, i) => {
      expect(Math.abs(v - (padded[i] ?? 0))).toBeLessThan(1e-5);
    });
    const other = padded.slice(short.length);
    expect(other.some((v, i) => Math.abs(v - (short[i] ?? 0)) > 1e-3)).toBe(true);
  });

  it('builds the image model head from prompts, reproducing the committed head.json', async () => {
    const prompts = PromptsSchema.parse(
      JSON.parse(readFileSync(join(REPO_ROOT, 'model-artifacts/clip/prompts.json'), 'utf8')),
    );
    const head = await buildZeroShotHead(dir, prompts);
    const committed = JSON.parse(readFileSync(join(FIXTURE_PACK_DIR, 'image-clip/head.json'), 'utf8'));
    expect(head).toEqual(committed);
    expect(head.prompts.sexual).toHaveLength(prompts.prompts.sexual?.length ?? -1);
    expect(head.negatives[0]).toHaveLength(CLIP.embed);
  });
});
