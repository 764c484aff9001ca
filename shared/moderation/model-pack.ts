/**
 * The model pack this pipeline build was made for: the manifests of the served models, bundled into
 * the function so it knows each model's labels, input size and text featurizer without a network call.
 * Swapping a model means replacing its directory under model-artifacts/models and redeploying.
 */
import fusionManifest from '../../model-artifacts/models/fusion/manifest.json' with { type: 'json' };
import imageManifest from '../../model-artifacts/models/image-nsfw/manifest.json' with { type: 'json' };
import textManifest from '../../model-artifacts/models/text-toxicity/manifest.json' with { type: 'json' };
import { type ModelManifest, parseManifest } from '../inference/manifest.ts';
import { type FeaturizerConfig, parseFeaturizerConfig } from '../text/featurize.ts';

export interface ModelPack {
  text: ModelManifest & { featurizer: FeaturizerConfig };
  image: ModelManifest & { size: number };
  fusion: ModelManifest & { channels: string[] };
}

export function loadModelPack(): ModelPack {
  const text = parseManifest(textManifest, 'text-toxicity/manifest.json');
  const image = parseManifest(imageManifest, 'image-nsfw/manifest.json');
  const fusion = parseManifest(fusionManifest, 'fusion/manifest.json');
  const imageInput = image.inputs[0]?.shape;
  const size = typeof imageInput?.[1] === 'number' ? imageInput[1] : 224;
  const channelDim = fusion.preprocess?.channels;
  return {
    text: { ...text, featurizer: parseFeaturizerConfig(text.preprocess) },
    image: { ...image, size },
    fusion: {
      ...fusion,
      channels: Array.isArray(channelDim) ? channelDim.map(String) : ['text', 'image', 'ocr', 'speech'],
    },
  };
}
