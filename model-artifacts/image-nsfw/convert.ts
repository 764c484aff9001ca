/**
 * Builds `model-artifacts/models/image-nsfw/model.onnx` (+ manifest.json) from the MobileNetV2 weights
 * inside the installed `nsfwjs` npm package. Runs offline, deterministically, in a couple of seconds,
 * and does nothing when the ONNX file already matches the manifest. CLI: `npm run models`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildModel } from '#model-artifacts/onnx/graph.ts';
import { NSFW_CLASSES } from '#shared/domain/taxonomy.ts';
import type { ModelManifest } from '#shared/inference/manifest.ts';
import { convertKerasModel } from './keras-to-onnx.ts';
import { loadNsfwjsMobileNetV2, nsfwjsVersion } from './nsfwjs-source.ts';

/** Bump when the conversion changes the ONNX bytes, so existing builds are rebuilt. */
const CONVERTER_REVISION = 1;

/** The keras layer whose output is the 1280-d global-average-pooled feature vector. */
export const EMBEDDING_LAYER = 'flatten_1';
export const IMAGE_SIZE = 224;
export const EMBEDDING_SIZE = 1280;

/** Directory holding manifest.json, model.onnx and MODEL_CARD.md. */
export const IMAGE_MODEL_DIR = fileURLToPath(new URL('../models/image-nsfw/', import.meta.url));
const MODEL_PATH = `${IMAGE_MODEL_DIR}model.onnx`;
const MANIFEST_PATH = `${IMAGE_MODEL_DIR}manifest.json`;

export class ImageModelBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ImageModelBuildError';
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The manifest version for an nsfwjs release: `nsfwjs-<version>-mobilenet_v2.<revision>`. */
export const imageModelVersion = (nsfwjs: string) => `nsfwjs-${nsfwjs}-mobilenet_v2.${CONVERTER_REVISION}`;

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a temporary file so that a concurrent reader never sees half a model. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Converts the nsfwjs model to ONNX bytes and its manifest (nothing is written). */
export async function convertImageModel(): Promise<{ onnx: Uint8Array; manifest: ModelManifest }> {
  const source = await loadNsfwjsMobileNetV2();
  const [outputLayer] = source.model.outputLayers;
  if (!outputLayer || source.model.outputLayers.length !== 1) {
    throw new ImageModelBuildError('expected exactly one model output');
  }
  const last = source.model.layers.find((l) => l.name === outputLayer[0]);
  // nsfwjs reports the model output as-is as class probabilities, so it must already be a softmax.
  if (last?.class_name !== 'Dense' || last.config.activation !== 'softmax') {
    throw new ImageModelBuildError(
      `expected a softmax Dense output, got ${last?.class_name} ${last?.config.activation}`,
    );
  }
  const graph = convertKerasModel(source.model, source.weights, {
    inputName: 'image',
    inputDivisor: 255,
    outputs: { probs: outputLayer[0], embedding: EMBEDDING_LAYER },
  });
  const [h, w, c] = graph.inputShape;
  if (h !== IMAGE_SIZE || w !== IMAGE_SIZE || c !== 3)
    throw new ImageModelBuildError(`unexpected input ${graph.inputShape}`);
  if (
    graph.outputShapes.probs?.[0] !== NSFW_CLASSES.length ||
    graph.outputShapes.embedding?.[0] !== EMBEDDING_SIZE
  ) {
    throw new ImageModelBuildError(`unexpected output shapes ${JSON.stringify(graph.outputShapes)}`);
  }

  const version = imageModelVersion(source.version);
  const sourceDesc = `npm:nsfwjs@${source.version} dist/models/mobilenet_v2 (https://github.com/infinitered/nsfwjs), keras ${source.model.kerasVersion}`;
  const onnx = buildModel({
    name: 'image-nsfw',
    inputs: [{ name: 'image', type: 'uint8', shape: ['batch', IMAGE_SIZE, IMAGE_SIZE, 3] }],
    outputs: [
      { name: 'probs', type: 'float32', shape: ['batch', NSFW_CLASSES.length] },
      { name: 'embedding', type: 'float32', shape: ['batch', EMBEDDING_SIZE] },
    ],
    nodes: graph.nodes,
    initializers: graph.initializers,
    metadata: {
      name: 'image-nsfw',
      version,
      labels: JSON.stringify(NSFW_CLASSES),
      source: sourceDesc,
      license: 'MIT',
    },
  });
  const manifest: ModelManifest = {
    name: 'image-nsfw',
    version,
    modality: 'image',
    file: 'model.onnx',
    sha256: sha256(onnx),
    inputs: [{ name: 'image', dtype: 'uint8', shape: ['batch', IMAGE_SIZE, IMAGE_SIZE, 3] }],
    outputs: [
      { name: 'probs', dtype: 'float32', shape: ['batch', NSFW_CLASSES.length] },
      { name: 'embedding', dtype: 'float32', shape: ['batch', EMBEDDING_SIZE] },
    ],
    labels: [...NSFW_CLASSES],
    preprocess: { size: IMAGE_SIZE, layout: 'NHWC', dtype: 'uint8', resize: 'bilinear' },
    source: sourceDesc,
    license: 'MIT',
  };
  return { onnx, manifest };
}

/**
 * Makes sure model.onnx exists and matches manifest.json, converting it from nsfwjs when it does not.
 * Returns the path of model.onnx.
 */
export async function ensureImageModel(): Promise<string> {
  const manifestBytes = await readIfExists(MANIFEST_PATH);
  const current = manifestBytes ? (JSON.parse(manifestBytes.toString('utf8')) as ModelManifest) : undefined;
  if (current?.version === imageModelVersion(await nsfwjsVersion())) {
    const onnx = await readIfExists(MODEL_PATH);
    if (onnx && sha256(onnx) === current.sha256) return MODEL_PATH;
  }

  const { onnx, manifest } = await convertImageModel();
  if (current && current.version === manifest.version && current.sha256 !== manifest.sha256) {
    // Same inputs should give the same bytes: say so loudly, but keep model and manifest consistent.
    process.emitWarning(
      `conversion of ${manifest.version} gave sha256 ${manifest.sha256}, manifest.json said ${current.sha256}; rewriting it`,
    );
  }
  await mkdir(IMAGE_MODEL_DIR, { recursive: true });
  await writeAtomic(MODEL_PATH, onnx);
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  if (manifestBytes?.toString('utf8') !== manifestText) await writeAtomic(MANIFEST_PATH, manifestText);
  return MODEL_PATH;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const path = await ensureImageModel();
  const ms = Math.round(performance.now() - started);
  process.stdout.write(`image-nsfw: ${path} ready (${ms} ms)\n`);
}
