/**
 * The model pack this pipeline build was made for: the manifests of the served models, bundled into
 * the function so it knows each model's labels, input size and text featurizer without a network call.
 * Swapping a model means replacing its directory under model-artifacts/models and redeploying.
 *
 * `MODEL_PACK` picks the pack (docs/STRONGER_MODELS.md): `default` (the manifests above, bundled),
 * `strong` (the directory `model-artifacts/packs/strong`, where a deployment with hub access puts
 * exported BERT-family / CLIP models), or any directory holding a `pack.json`
 * (`{ "name", "text", "image", "fusion" }`: model directories relative to it). Each manifest's
 * `modality` and `preprocess.kind` pick the pre- and post-processing (shared/moderation/processors.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { type ModelManifest, parseManifest } from '#shared/inference/manifest.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import { type FeaturizerConfig, parseFeaturizerConfig } from '#shared/text/featurize.ts';
import {
  type ImageProcessor,
  imageProcessor,
  type ReadModelFile,
  type TextProcessor,
  textProcessor,
} from './processors.ts';

export interface ModelPack {
  /** `default`, or the directory the pack was read from. */
  name: string;
  /**
   * `featurizer` is the hashed n-gram configuration of the project's own text model; reading it on a
   * pack whose text model is another kind throws (use `processor`, which every kind has).
   */
  text: ModelManifest & { featurizer: FeaturizerConfig; processor: TextProcessor };
  image: ModelManifest & { size: number; processor: ImageProcessor };
  /** `channelCategories`: which categories each channel's model actually scores. */
  fusion: ModelManifest & { channels: string[]; channelCategories: Record<string, string[]> };
}

export class UnknownModelPackError extends Error {
  override name = 'UnknownModelPackError';
}

/** Where `MODEL_PACK=strong` looks, relative to the working directory (the Lambda task root). */
export const STRONG_PACK_DIR = 'model-artifacts/packs/strong';

const PackFileSchema = z.object({
  name: z.string().min(1),
  text: z.string().min(1),
  image: z.string().min(1),
  fusion: z.string().min(1),
});

const noFiles: ReadModelFile = (file) => {
  throw new UnknownModelPackError(`the bundled default pack has no model files to read (${file})`);
};

function assemble(
  name: string,
  manifests: { text: ModelManifest; image: ModelManifest; fusion: ModelManifest },
  read: { text: ReadModelFile; image: ReadModelFile },
): ModelPack {
  const { fusion } = manifests;
  const processor = textProcessor(manifests.text, read.text);
  const text = { ...manifests.text, processor } as ModelPack['text'];
  Object.defineProperty(text, 'featurizer', {
    enumerable: true,
    get: () => {
      if (processor.kind !== 'hashed-ngrams') {
        throw new UnknownModelPackError(
          `text model ${manifests.text.name} is ${processor.kind}: it has no hashed featurizer`,
        );
      }
      return parseFeaturizerConfig(manifests.text.preprocess);
    },
  });
  const image = imageProcessor(manifests.image, read.image);
  const channelDim = fusion.preprocess?.channels;
  const channelCategories = (fusion.preprocess?.channelCategories ?? {}) as Record<string, string[]>;
  return {
    name,
    text,
    image: { ...manifests.image, size: image.size, processor: image },
    fusion: {
      ...fusion,
      channels: Array.isArray(channelDim) ? channelDim.map(String) : [...CHANNELS],
      channelCategories,
    },
  };
}

/** The model directories a pack directory's `pack.json` names (what an inference server serves for it). */
export function packModelDirs(dir: string): { name: string; text: string; image: string; fusion: string } {
  const root = resolve(dir);
  const packFile = join(root, 'pack.json');
  if (!existsSync(packFile)) {
    throw new UnknownModelPackError(
      `model pack directory ${root} has no pack.json; known packs: default, strong, or a directory with pack.json`,
    );
  }
  const pack = PackFileSchema.parse(JSON.parse(readFileSync(packFile, 'utf8')));
  return {
    name: pack.name,
    text: resolve(root, pack.text),
    image: resolve(root, pack.image),
    fusion: resolve(root, pack.fusion),
  };
}

/** Reads a pack directory (`pack.json` + the model directories it names). */
export function loadPackDir(dir: string): ModelPack {
  const { name, ...dirs } = packModelDirs(dir);
  const manifest = (d: string): ModelManifest =>
    parseManifest(JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')), join(d, 'manifest.json'));
  const reader =
    (d: string): ReadModelFile =>
    (file) => {
      const path = resolve(d, file);
      if (!path.startsWith(`${d}/`))
        throw new UnknownModelPackError(`${file} is outside its model directory`);
      return readFileSync(path, 'utf8');
    };
  return assemble(
    name,
    { text: manifest(dirs.text), image: manifest(dirs.image), fusion: manifest(dirs.fusion) },
    { text: reader(dirs.text), image: reader(dirs.image) },
  );
}

/** The manifests of the pack bundled into the function (model-artifacts/models/default-pack.ts), unparsed. */
export interface BundledManifests {
  text: unknown;
  image: unknown;
  fusion: unknown;
}

/**
 * The pack named by `name` (MODEL_PACK): `default` is `bundled`, the manifests the function was built
 * with; `strong` and directories are read from disk.
 */
export function loadModelPack(name: string, bundled: BundledManifests): ModelPack {
  if (name === 'default') {
    return assemble(
      'default',
      {
        text: parseManifest(bundled.text, 'text/manifest.json'),
        image: parseManifest(bundled.image, 'image/manifest.json'),
        fusion: parseManifest(bundled.fusion, 'fusion/manifest.json'),
      },
      { text: noFiles, image: noFiles },
    );
  }
  return loadPackDir(name === 'strong' ? STRONG_PACK_DIR : name);
}

/** The fill value for a model input's variable dimensions, from its manifest (0 if unspecified). */
export function padValueOf(pack: ModelPack, model: string, input: string): number {
  const manifest = [pack.text, pack.image, pack.fusion].find((m) => m.name === model);
  return manifest?.inputs.find((i) => i.name === input)?.padValue ?? 0;
}
