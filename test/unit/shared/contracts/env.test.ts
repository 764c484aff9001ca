import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ENV,
  KNOWN_ENV_NAMES,
  MODEL_ENV,
  readKeepInputsEnv,
  readPipelineEnv,
} from '#shared/contracts/env.ts';
import { MODEL_NAMES } from '#shared/contracts/models.ts';
import { ENDPOINT_PAYLOAD_LIMITS } from '#shared/contracts/tensor-wire.ts';

describe('the environment contract', () => {
  it('names every model endpoint and component variable it reads', () => {
    for (const model of MODEL_NAMES) {
      expect(KNOWN_ENV_NAMES.has(MODEL_ENV[model].endpoint)).toBe(true);
      expect(KNOWN_ENV_NAMES.has(MODEL_ENV[model].component)).toBe(true);
      expect(KNOWN_ENV_NAMES.has(MODEL_ENV[model].hosting)).toBe(true);
    }
    expect(new Set(Object.values(ENV)).size).toBe(Object.values(ENV).length);
  });

  it('reads what the stack writes, with defaults for the rest', () => {
    const env = readPipelineEnv({
      [ENV.tableName]: 'verdicts',
      [ENV.endpointPrefix]: 'dev-',
      [MODEL_ENV['image-nsfw'].endpoint]: 'images',
      [MODEL_ENV.fusion.component]: 'fusion-ic',
      [ENV.mediaMode]: 'long',
      [ENV.speechEngine]: 'none',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
    });
    expect(env.endpointNames).toEqual({
      'text-toxicity': 'dev-text-toxicity',
      'image-nsfw': 'images',
      fusion: 'dev-fusion',
    });
    expect(env.inferenceComponentNames).toEqual({ fusion: 'fusion-ic' });
    expect(env.mediaMode).toBe('long');
    expect(env.policyName).toBe('balanced');
    expect(env.modelPack).toBe('default');
    expect(env.engines.speech).toBe('none');
    expect(env.engines.ocr).toBe('tesseract');
    expect(env.awsEndpointOverrides).toEqual({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566' });
  });

  it('keeps no model inputs by default, and keeping any needs the bucket to keep them in', () => {
    expect(readPipelineEnv({ [ENV.tableName]: 't' }).keepInputs).toEqual({ mode: 'none', bucket: '' });
    // A bucket without a mode keeps nothing: the bucket alone does not switch keeping on.
    expect(readKeepInputsEnv({ [ENV.inputsBucket]: 'uploads' })).toEqual({ mode: 'none', bucket: '' });
    for (const mode of ['text', 'all'] as const)
      expect(readKeepInputsEnv({ [ENV.keepInputs]: mode, [ENV.inputsBucket]: 'uploads' })).toEqual({
        mode,
        bucket: 'uploads',
      });
    expect(() => readKeepInputsEnv({ [ENV.keepInputs]: 'all' })).toThrow(
      'KEEP_INPUTS=all needs INPUTS_BUCKET, the bucket to keep them in',
    );
    expect(() => readKeepInputsEnv({ [ENV.keepInputs]: 'pixels', [ENV.inputsBucket]: 'b' })).toThrow(
      'environment variable KEEP_INPUTS must be one of none, text, all, got "pixels"',
    );
    expect(() => readPipelineEnv({ [ENV.tableName]: 't', [ENV.keepInputs]: 'text' })).toThrow(ConfigError);
    expect(KNOWN_ENV_NAMES.has(ENV.keepInputs) && KNOWN_ENV_NAMES.has(ENV.inputsBucket)).toBe(true);
  });

  it('fails loudly on a missing or malformed variable, naming it', () => {
    expect(() => readPipelineEnv({})).toThrow(/TABLE_NAME is required/);
    expect(() => readPipelineEnv({ [ENV.tableName]: 't', [ENV.inferenceMaxAttempts]: 'three' })).toThrow(
      ConfigError,
    );
    expect(() => readPipelineEnv({ [ENV.tableName]: 't', [ENV.mediaMode]: 'batch' })).toThrow(/MEDIA_MODE/);
  });

  it('sets each model’s request size limit from its endpoint’s hosting mode, the smallest when unset', () => {
    const env = readPipelineEnv({
      [ENV.tableName]: 'verdicts',
      [MODEL_ENV['image-nsfw'].hosting]: 'instance',
      [MODEL_ENV['text-toxicity'].hosting]: 'inference-component',
    });
    expect(env.maxRequestBytes).toEqual({
      'image-nsfw': ENDPOINT_PAYLOAD_LIMITS.instance,
      'text-toxicity': ENDPOINT_PAYLOAD_LIMITS['inference-component'],
      fusion: ENDPOINT_PAYLOAD_LIMITS.serverless,
    });
    expect(ENDPOINT_PAYLOAD_LIMITS.serverless).toBeLessThan(ENDPOINT_PAYLOAD_LIMITS.instance);
    expect(() => readPipelineEnv({ [ENV.tableName]: 't', [MODEL_ENV.fusion.hosting]: 'async' })).toThrow(
      /FUSION_ENDPOINT_HOSTING must be one of instance, inference-component, serverless, got "async"/,
    );
  });
});
