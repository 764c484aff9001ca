/**
 * Reads the MobileNetV2 model that ships inside the `nsfwjs` npm package: a tfjs layers model whose
 * model.json and weight shard are wrapped as UMD (CommonJS) modules, the weights as base64. It is
 * loaded through nsfwjs's own model definition (the same dynamic imports `nsfwjs.load` makes), so
 * nothing is fetched and no JS is evaluated beyond what nsfwjs itself would run.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';

/** One keras layer of a functional model config, as tfjs stores it in model.json. */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** [[[inboundLayer, nodeIndex, tensorIndex, kwargs], ...]] — one entry per call of the layer. */
  inbound_nodes: [string, number, number, unknown?][][];
}

export interface KerasModel {
  layers: KerasLayer[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
  kerasVersion: string;
}

/** A dequantised weight, in the layout keras stores it (HWIO kernels, [in,out] dense kernels). */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

export interface NsfwjsModel {
  /** Version of the installed nsfwjs package. */
  version: string;
  model: KerasModel;
  weights: Map<string, Weight>;
}

/** A tfjs weights-manifest entry. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

interface ModelJson {
  modelTopology: {
    keras_version?: string;
    model_config: {
      class_name: string;
      config: {
        layers: KerasLayer[];
        input_layers: [string, number, number][];
        output_layers: [string, number, number][];
      };
    };
  };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export class NsfwjsSourceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NsfwjsSourceError';
  }
}

/** The installed nsfwjs version, read from its package.json (its exports map hides the file). */
export async function nsfwjsVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.resolve('nsfwjs/models/mobilenet_v2')));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'nsfwjs' && pkg.version) return pkg.version;
    } catch {
      // no package.json at this level (or dist/*/package.json without a name): keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new NsfwjsSourceError('cannot find the nsfwjs package.json');
    dir = parent;
  }
}

/**
 * Dequantises like tfjs-core's `io.decodeWeights` (value = q * scale + min, rounded to float32), so
 * the converted weights are bit-identical to the ones nsfwjs runs with.
 */
function decodeWeight(spec: WeightSpec, bytes: Uint8Array, offset: number): { weight: Weight; size: number } {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.dtype !== 'float32') {
    throw new NsfwjsSourceError(`weight ${spec.name} has dtype ${spec.dtype}; only float32 is supported`);
  }
  const q = spec.quantization;
  const data = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (!q) {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    return { weight: { shape: spec.shape, data }, size: count * 4 };
  }
  if ((q.dtype !== 'uint8' && q.dtype !== 'uint16') || q.min === undefined || q.scale === undefined) {
    throw new NsfwjsSourceError(`weight ${spec.name} has unsupported quantization ${JSON.stringify(q)}`);
  }
  const width = q.dtype === 'uint8' ? 1 : 2;
  for (let i = 0; i < count; i++) {
    const v = width === 1 ? view.getUint8(i) : view.getUint16(i * 2, true);
    data[i] = v * q.scale + q.min;
  }
  return { weight: { shape: spec.shape, data }, size: count * width };
}

/** Decodes a tfjs weight group (specs in order over the concatenated bytes of its shards). */
export function decodeWeights(specs: WeightSpec[], bytes: Uint8Array): Map<string, Weight> {
  const weights = new Map<string, Weight>();
  let offset = 0;
  for (const spec of specs) {
    const { weight, size } = decodeWeight(spec, bytes, offset);
    weights.set(spec.name, weight);
    offset += size;
  }
  if (offset !== bytes.length) {
    throw new NsfwjsSourceError(`weight data has ${bytes.length} bytes, the specs use ${offset}`);
  }
  return weights;
}

/** Loads topology and dequantised weights of nsfwjs's MobileNetV2 from the installed package. */
export async function loadNsfwjsMobileNetV2(): Promise<NsfwjsModel> {
  const json = (await MobileNetV2Model.modelJson()).default as ModelJson;
  const shards = new Map<string, Uint8Array>();
  for (let i = 0; i < MobileNetV2Model.numOfWeightBundles; i++) {
    const bundle = MobileNetV2Model.weightBundles[i];
    if (!bundle) throw new NsfwjsSourceError(`missing weight bundle ${i}`);
    const base64 = (await bundle()).default as string;
    // nsfwjs keys its bundles by this name; the manifest's `paths` refer to it.
    shards.set(`group1-shard${i + 1}of${MobileNetV2Model.numOfWeightBundles}`, Buffer.from(base64, 'base64'));
  }

  const weights = new Map<string, Weight>();
  for (const group of json.weightsManifest) {
    const parts = group.paths.map((p) => {
      const shard = shards.get(p);
      if (!shard) throw new NsfwjsSourceError(`weight shard ${p} not found in the nsfwjs package`);
      return shard;
    });
    for (const [name, w] of decodeWeights(group.weights, Buffer.concat(parts))) weights.set(name, w);
  }

  const { model_config: mc, keras_version } = json.modelTopology;
  if (mc.class_name !== 'Model') {
    throw new NsfwjsSourceError(`expected a functional keras Model, got ${mc.class_name}`);
  }
  return {
    version: await nsfwjsVersion(),
    model: {
      layers: mc.config.layers,
      inputLayers: mc.config.input_layers,
      outputLayers: mc.config.output_layers,
      kerasVersion: keras_version ?? 'unknown',
    },
    weights,
  };
}
