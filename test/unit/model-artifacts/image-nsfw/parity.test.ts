/**
 * Parity of the converted image model with nsfwjs itself: same images through nsfwjs (tfjs, pure-JS
 * CPU backend) and through the ONNX graph (onnxruntime-node) must give the same class probabilities
 * and the same 1280-d pooled features.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { load, type NSFWJS } from 'nsfwjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMBEDDING_LAYER,
  EMBEDDING_SIZE,
  ensureImageModel,
  IMAGE_MODEL_DIR,
  IMAGE_SIZE,
} from '#model-artifacts/image-nsfw/convert.ts';
import { convertKerasModel } from '#model-artifacts/image-nsfw/keras-to-onnx.ts';
import {
  decodeWeights,
  type KerasModel,
  type WeightSpec,
} from '#model-artifacts/image-nsfw/nsfwjs-source.ts';
import { buildModel } from '#model-artifacts/onnx/graph.ts';
import { NSFW_CLASSES } from '#shared/domain/taxonomy.ts';
import { readManifest } from '#shared/inference/manifest.ts';

const S = IMAGE_SIZE;
const PIXELS = S * S;

/** mulberry32: a tiny seeded PRNG so the noise images are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function paint(fn: (x: number, y: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(PIXELS * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const [r, g, b] = fn(x, y);
      const i = (y * S + x) * 3;
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
    }
  return out;
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

async function rasterise(svg: string): Promise<Uint8Array> {
  const raw = await sharp(Buffer.from(svg)).resize(S, S).removeAlpha().raw().toBuffer();
  return new Uint8Array(raw);
}

/** Varied, deterministic 224×224 RGB images: gradients, noise, skin tones, a cartoon, a landscape. */
async function makeImages(): Promise<{ name: string; rgb: Uint8Array }[]> {
  const noise = rng(42);
  const speckle = rng(7);
  const blurredNoise = await sharp(
    paint(() => [noise() * 255, noise() * 255, noise() * 255]),
    {
      raw: { width: S, height: S, channels: 3 },
    },
  )
    .blur(3)
    .raw()
    .toBuffer();
  return [
    { name: 'gradient', rgb: paint((x, y) => [x * 1.1, y * 1.1, 255 - (x + y) * 0.55]) },
    { name: 'blurred-noise', rgb: new Uint8Array(blurredNoise) },
    {
      name: 'skin-blobs',
      rgb: paint((x, y) => {
        // two overlapping shaded skin-coloured ellipses on a warm dark background
        const e1 = ((x - 90) / 70) ** 2 + ((y - 120) / 95) ** 2;
        const e2 = ((x - 150) / 55) ** 2 + ((y - 100) / 80) ** 2;
        const e = Math.min(e1, e2);
        if (e < 1) {
          const shade = 1 - 0.35 * e;
          return [clamp(232 * shade), clamp(180 * shade), clamp(150 * shade)];
        }
        return [70 + 10 * speckle(), 40 + 10 * speckle(), 35 + 10 * speckle()];
      }),
    },
    {
      name: 'cartoon',
      rgb: await rasterise(`<svg xmlns="http://www.w3.org/2000/svg" width="224" height="224">
        <rect width="224" height="224" fill="#ffffff"/>
        <circle cx="112" cy="90" r="60" fill="#ffd23f" stroke="#000" stroke-width="6"/>
        <circle cx="90" cy="78" r="9" fill="#000"/><circle cx="134" cy="78" r="9" fill="#000"/>
        <path d="M80 110 Q112 140 144 110" stroke="#000" stroke-width="6" fill="none"/>
        <rect x="60" y="160" width="104" height="50" rx="12" fill="#3fa7ff" stroke="#000" stroke-width="6"/>
      </svg>`),
    },
    {
      name: 'landscape',
      rgb: paint((x, y) => {
        const horizon = 120 + 15 * Math.sin(x / 20);
        if (y < horizon) return [110 + y * 0.4, 160 + y * 0.3, 235];
        const n = speckle() * 30;
        return [40 + n, 120 + n + (y - horizon) * 0.3, 40 + n];
      }),
    },
    {
      name: 'skin-closeup',
      rgb: paint((x, y) => {
        const light = 0.8 + 0.2 * Math.cos((x - 112) / 60) * Math.cos((y - 112) / 60);
        const n = (speckle() - 0.5) * 12;
        return [clamp(225 * light + n), clamp(160 * light + n), clamp(130 * light + n)];
      }),
    },
  ];
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

describe('image-nsfw ONNX conversion', () => {
  let nsfw: NSFWJS;
  let session: ort.InferenceSession;
  let images: { name: string; rgb: Uint8Array }[];
  /** nsfwjs's own outputs per image: classify() probabilities in class order, and the pooled features. */
  let reference: { probs: number[]; embedding: Float32Array }[];

  const runOnnx = async (batch: Uint8Array[]) => {
    const data = new Uint8Array(batch.length * PIXELS * 3);
    batch.forEach((rgb, i) => {
      data.set(rgb, i * PIXELS * 3);
    });
    const out = await session.run({ image: new ort.Tensor('uint8', data, [batch.length, S, S, 3]) });
    return { probs: out.probs?.data as Float32Array, embedding: out.embedding?.data as Float32Array };
  };

  beforeAll(async () => {
    const modelPath = await ensureImageModel();
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2 });
    await tf.setBackend('cpu');
    nsfw = await load('MobileNetV2');
    images = await makeImages();
    reference = [];
    for (const { rgb } of images) {
      const input = tf.tensor3d(Int32Array.from(rgb), [S, S, 3], 'int32');
      const classes = await nsfw.classify(input, NSFW_CLASSES.length);
      const probs = NSFW_CLASSES.map((label) => {
        const hit = classes.find((c) => c.className.toLowerCase() === label);
        if (!hit) throw new Error(`nsfwjs returned no probability for ${label}`);
        return hit.probability;
      });
      const features = nsfw.infer(input, EMBEDDING_LAYER);
      reference.push({ probs, embedding: (await features.data()) as Float32Array });
      features.dispose();
      input.dispose();
    }
  });

  afterAll(async () => {
    // Not nsfw.dispose(): nsfwjs 4.4.0 disposes the shared layers through the intermediate-endpoint
    // model first and then throws "Layer 'Conv1_pad' is already disposed" for the main model.
    tf.disposeVariables();
    await session?.release();
  });

  it('matches the manifest it was built with', async () => {
    const manifest = await readManifest(`${IMAGE_MODEL_DIR}manifest.json`);
    const bytes = await readFile(`${IMAGE_MODEL_DIR}${manifest.file}`);

    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    expect(manifest.labels).toEqual([...NSFW_CLASSES]);
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['probs', 'embedding']);
  });

  it('uses test images that nsfwjs scores differently', () => {
    const top = new Set(reference.map((r) => r.probs.indexOf(Math.max(...r.probs))));
    const spread = Math.max(...reference.flatMap((a) => reference.map((b) => maxAbsDiff(a.probs, b.probs))));

    expect(top.size).toBeGreaterThanOrEqual(2);
    expect(spread).toBeGreaterThan(0.3);
  });

  it('gives nsfwjs classify() probabilities within 1e-3 and its pooled features within 1e-4 relative', async () => {
    const out = await runOnnx(images.map((i) => i.rgb));

    images.forEach(({ name }, i) => {
      const ref = reference[i]!;
      const probs = out.probs.subarray(i * NSFW_CLASSES.length, (i + 1) * NSFW_CLASSES.length);
      const embedding = out.embedding.subarray(i * EMBEDDING_SIZE, (i + 1) * EMBEDDING_SIZE);
      const scale = Math.max(...ref.embedding.map(Math.abs));
      expect(maxAbsDiff(probs, ref.probs), `${name} probs`).toBeLessThanOrEqual(1e-3);
      expect(maxAbsDiff(embedding, ref.embedding) / scale, `${name} embedding`).toBeLessThanOrEqual(1e-4);
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    });
  });

  it('gives the same outputs for a batch as for single images', async () => {
    const batch = await runOnnx(images.map((i) => i.rgb));

    for (const [i, { rgb }] of images.entries()) {
      const single = await runOnnx([rgb]);
      const probs = batch.probs.subarray(i * NSFW_CLASSES.length, (i + 1) * NSFW_CLASSES.length);
      const embedding = batch.embedding.subarray(i * EMBEDDING_SIZE, (i + 1) * EMBEDDING_SIZE);
      expect(maxAbsDiff(single.probs, probs)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(single.embedding, embedding)).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('keras → ONNX converter on a tiny random-weight model', () => {
  /**
   * Exercises the paths MobileNetV2 does not: a ZeroPadding2D that must stay a Pad (two consumers),
   * a BatchNormalization that cannot fold (its conv has two consumers), 'same' max and average
   * pooling, depth_multiplier 2, biases, and a Flatten over a 5×5 map (keras flattens HWC).
   */
  it('matches tfjs layers on the same weights', async () => {
    await tf.setBackend('cpu');
    const sym = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
      l.apply(x) as tf.SymbolicTensor;
    const padding: [[number, number], [number, number]] = [
      [1, 2],
      [0, 1],
    ];
    const input = tf.input({ shape: [16, 16, 3] });
    const padded = sym(tf.layers.zeroPadding2d({ padding }), input);
    const conv = sym(
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
      padded,
    );
    let x = sym(tf.layers.add(), [conv, padded]);
    x = sym(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }), x);
    x = sym(
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      x,
    );
    const dw = sym(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), x);
    x = sym(tf.layers.add(), [sym(tf.layers.batchNormalization(), dw), dw]);
    x = sym(tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false }), x);
    x = sym(tf.layers.batchNormalization(), x);
    x = sym(tf.layers.reLU({ maxValue: 6 }), x);
    x = sym(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
    const features = sym(tf.layers.flatten(), x);
    const out = sym(tf.layers.dense({ units: 5, activation: 'softmax' }), features);
    const model = tf.model({ inputs: input, outputs: [out, features] });
    model.setWeights(
      model.weights.map((w, i) =>
        w.originalName.endsWith('moving_variance')
          ? tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', i)
          : tf.randomUniform(w.shape as number[], -1, 1, 'float32', i),
      ),
    );
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = artifacts?.modelTopology as { config: { layers: KerasModel['layers'] } };
    const keras: KerasModel = {
      layers: topology.config.layers,
      inputLayers: [],
      outputLayers: [],
      kerasVersion: 'tfjs',
    };
    const weights = decodeWeights(
      artifacts?.weightSpecs as WeightSpec[],
      new Uint8Array(artifacts?.weightData as ArrayBuffer),
    );
    const [outLayer, featLayer] = model.outputs.map((t) => t.sourceLayer.name) as [string, string];
    const graph = convertKerasModel(keras, weights, {
      inputName: 'image',
      inputDivisor: 255,
      outputs: { probs: outLayer, embedding: featLayer },
    });
    const onnx = buildModel({
      name: 'tiny',
      inputs: [{ name: 'image', type: 'uint8', shape: ['batch', 16, 16, 3] }],
      outputs: [
        { name: 'probs', type: 'float32', shape: ['batch', 5] },
        { name: 'embedding', type: 'float32', shape: ['batch', ...(graph.outputShapes.embedding ?? [])] },
      ],
      nodes: graph.nodes,
      initializers: graph.initializers,
    });
    const pixels = Uint8Array.from({ length: 2 * 16 * 16 * 3 }, rng(3)).map((v) => v * 255);
    const tiny = await ort.InferenceSession.create(onnx);

    const got = await tiny.run({ image: new ort.Tensor('uint8', pixels, [2, 16, 16, 3]) });
    const [refProbs, refFeatures] = model.predict(
      tf.tensor4d(
        Float32Array.from(pixels, (v) => v / 255),
        [2, 16, 16, 3],
      ),
    ) as tf.Tensor[];

    const ops = new Set(graph.nodes.map((n) => n.op));
    expect(ops).toContain('Pad');
    expect(ops).toContain('BatchNormalization');
    expect(graph.nodes.filter((n) => n.op === 'BatchNormalization')).toHaveLength(1);
    expect(maxAbsDiff(got.embedding?.data as Float32Array, await refFeatures!.data())).toBeLessThanOrEqual(
      1e-4,
    );
    expect(maxAbsDiff(got.probs?.data as Float32Array, await refProbs!.data())).toBeLessThanOrEqual(1e-5);
    await tiny.release();
  });
});
