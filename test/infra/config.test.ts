import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY, loadPipelineConfig, parsePipelineConfig } from '#infra/config.ts';
import { cdkJsonContext } from './helpers.ts';

const environments = () =>
  cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY] as {
    dev: Record<string, unknown>;
    prod: Record<string, unknown>;
  };

describe('per-environment configuration (cdk.json)', () => {
  it('selects the environment with -c env=<name>, dev by default', () => {
    const context = cdkJsonContext();
    expect(loadPipelineConfig(new App({ context }).node).envName).toBe('dev');
    const prod = loadPipelineConfig(new App({ context: { ...context, env: 'prod' } }).node);
    expect(prod).toMatchObject({
      envName: 'prod',
      scaleToZero: false,
      deletionProtection: true,
      retainData: true,
    });
  });

  it('defines dev and prod with GPU encoders and different scaling', () => {
    const dev = parsePipelineConfig('dev', environments().dev);
    const prod = parsePipelineConfig('prod', environments().prod);
    for (const config of [dev, prod]) {
      for (const name of ['text-toxicity', 'image-nsfw'] as const) {
        const hosting = config.models[name];
        expect(hosting.kind === 'instance' && /^ml\.(g5|g6)\./.test(hosting.instanceType), name).toBe(true);
      }
    }
    expect(dev.scaleToZero).toBe(true);
    expect(dev.reservedConcurrency).toBeLessThan(prod.reservedConcurrency);
    expect(dev.logRetentionDays).toBeLessThan(prod.logRetentionDays);
  });

  it('rejects an unknown environment with the list of known ones', () => {
    const app = new App({ context: { ...cdkJsonContext(), env: 'staging' } });
    expect(() => loadPipelineConfig(app.node)).toThrow('unknown environment "staging"; known: dev, prod');
  });

  it('rejects a malformed value, naming its path and the value received', () => {
    const bad = structuredClone(environments().dev) as { models: Record<string, Record<string, unknown>> };
    bad.models['image-nsfw']!.instanceType = 'g5.xlarge';
    expect(() => parsePipelineConfig('dev', bad)).toThrow(
      'instanceType must be a SageMaker instance type (ml.*), got g5.xlarge',
    );
    const noRetention = { ...environments().dev, logRetentionDays: 10 };
    expect(() => parsePipelineConfig('dev', noRetention)).toThrow(
      /logRetentionDays must be one of .* got 10/,
    );
    const noArch = {
      ...environments().dev,
      lambda: { ...(environments().dev.lambda as object), architecture: 'mips' },
    };
    expect(() => parsePipelineConfig('dev', noArch)).toThrow(
      'lambda.architecture must be arm64 or x86_64, got mips',
    );
  });

  it('keeps no model inputs unless an environment says so, and checks what it says', () => {
    const { keepInputs: _, ...withoutKeepInputs } = environments().dev;
    expect(parsePipelineConfig('dev', withoutKeepInputs).keepInputs).toEqual({
      mode: 'none',
      expirationDays: 30,
    });
    const text = { ...environments().dev, keepInputs: { mode: 'text' } };
    expect(parsePipelineConfig('dev', text).keepInputs).toEqual({ mode: 'text', expirationDays: 30 });
    const pixels = { ...environments().dev, keepInputs: { mode: 'pixels' } };
    expect(() => parsePipelineConfig('dev', pixels)).toThrow(
      'config keepInputs.mode must be one of none, text, all, got "pixels"',
    );
    const forever = { ...environments().dev, keepInputs: { mode: 'all', expirationDays: 0 } };
    expect(() => parsePipelineConfig('dev', forever)).toThrow(
      /keepInputs\.expirationDays must be an integer in \[1, 3650\]/,
    );
  });
});
