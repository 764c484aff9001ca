/**
 * The default model pack's manifests, bundled into the moderate function (esbuild inlines the JSON),
 * so the function knows each model's labels, input size and featurizer without a network call.
 * The function and the tools that run its models import this; shared/ receives it as an argument.
 */
import { type BundledManifests, loadModelPack, type ModelPack } from '#shared/moderation/model-pack.ts';
import fusion from './fusion/manifest.json' with { type: 'json' };
import image from './image-nsfw/manifest.json' with { type: 'json' };
import text from './text-toxicity/manifest.json' with { type: 'json' };

export const DEFAULT_PACK_MANIFESTS: BundledManifests = { text, image, fusion };

/** The pack named by `name` (MODEL_PACK), with this build's manifests as its `default`. */
export const loadPack = (name = 'default'): ModelPack => loadModelPack(name, DEFAULT_PACK_MANIFESTS);
