/**
 * The served models of the default pack, by role. A model's name is its directory under
 * model-artifacts/models, its SageMaker model and endpoint id in infra/, and the key the runtime
 * looks its endpoint up by.
 */
export const MODELS = {
  text: 'text-toxicity',
  image: 'image-nsfw',
  fusion: 'fusion',
} as const;

export type ModelRole = keyof typeof MODELS;
export type ModelName = (typeof MODELS)[ModelRole];

/** Every served model, in deployment order. */
export const MODEL_NAMES: readonly ModelName[] = Object.values(MODELS);

/** The encoders (what a bench or a GPU check times); fusion is a small head over their outputs. */
export const ENCODER_MODELS: readonly ModelName[] = [MODELS.image, MODELS.text];

/** `ENDPOINT_PREFIX` + model name: the endpoint the runtime calls when no endpoint variable names one. */
export const defaultEndpointName = (prefix: string, model: string): string => `${prefix}${model}`;
