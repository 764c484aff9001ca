import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PipelineFunction } from '#infra/constructs/pipeline-function.ts';
import { PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { ENV, KNOWN_ENV_NAMES, MODEL_ENV } from '#shared/contracts/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '#shared/contracts/metrics.ts';
import { MODEL_NAMES } from '#shared/contracts/models.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

/** The moderate function's environment contract (shared/contracts/env.ts, docs/DEPLOY.md). */
const REQUIRED_ENV = [
  ENV.tableName,
  ...MODEL_NAMES.map((name) => MODEL_ENV[name].endpoint),
  ENV.policyName,
  ENV.quarantineBucket,
  ENV.eventBusName,
  ENV.serviceName,
  ENV.metricsNamespace,
];

/** Variables the Lambda, Node.js and AWS SDK runtimes read themselves, outside the contract. */
const RUNTIME_ENV = /^(AWS_.*|NODE_OPTIONS)$/;

type Fn = {
  Properties: { Description: string; Environment: { Variables: Record<string, unknown> } } & Record<
    string,
    unknown
  >;
};

describe('functions', () => {
  let dev: TestPipeline;
  let prod: TestPipeline;
  let moderate: Fn;
  let queueId: string;
  let dlqId: string;
  beforeAll(() => {
    dev = buildPipeline('dev');
    prod = buildPipeline('prod');
    const fns = Object.values(dev.template.findResources('AWS::Lambda::Function')) as Fn[];
    moderate = fns.find((f) => f.Properties.Description.startsWith('Moderates'))!;
    queueId = logicalId(dev, dev.stack.ingest.queue);
    dlqId = logicalId(dev, dev.stack.ingest.deadLetterQueue);
  });

  it('runs the moderate handler on Node 22, arm64, with active tracing and reserved concurrency', () => {
    expect(moderate.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: dev.config.reservedConcurrency,
      MemorySize: dev.config.lambda.memorySizeMb,
      LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
    });
    prod.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Moderates'),
      ReservedConcurrentExecutions: prod.config.reservedConcurrency,
    });
  });

  it('sets every environment variable the handler reads', () => {
    const env = moderate.Properties.Environment.Variables;
    for (const name of REQUIRED_ENV) expect(env, name).toHaveProperty(name);
    expect(env).toMatchObject({
      [ENV.policyName]: dev.config.policyName,
      [ENV.serviceName]: SERVICE_NAMES.moderate,
      [ENV.metricsNamespace]: METRICS_NAMESPACE,
    });
    // Scale-to-zero endpoints host the encoders as inference components, which InvokeEndpoint must name.
    expect(env[MODEL_ENV['text-toxicity'].component]).toBe('moderationpipeline-dev-text-toxicity-ic');
    expect(env[MODEL_ENV['image-nsfw'].component]).toBe('moderationpipeline-dev-image-nsfw-ic');
    expect(env[MODEL_ENV.fusion.component]).toBeUndefined();
  });

  it('gives no function a variable the runtime does not read (every name is in shared/contracts/env.ts)', () => {
    for (const p of [dev, prod]) {
      const functions = Object.values(p.template.findResources('AWS::Lambda::Function')) as Fn[];
      // moderate, media, dead-letter, the webhook sender, and the API's function and authorizer.
      expect(functions).toHaveLength(6);
      for (const fn of functions) {
        const names = Object.keys(fn.Properties.Environment.Variables);
        const unknown = names.filter((name) => !KNOWN_ENV_NAMES.has(name) && !RUNTIME_ENV.test(name));
        expect(unknown, `${p.config.envName}: ${fn.Properties.Description}`).toEqual([]);
      }
    }
  });

  it('gives every function that moderates the same KEEP_INPUTS, and INPUTS_BUCKET (the uploads bucket) only when it keeps any', () => {
    const moderating = (p: TestPipeline) =>
      [
        p.stack.moderateFunction.function,
        p.stack.longMediaFunction.function,
        p.stack.api.handler.function,
      ].map((fn) => (p.template.toJSON().Resources[logicalId(p, fn)] as Fn).Properties.Environment.Variables);
    for (const env of moderating(dev)) {
      expect(env[ENV.keepInputs]).toBe('none');
      expect(env).not.toHaveProperty(ENV.inputsBucket);
    }
    const keeping = buildPipeline('dev', (c) => ({ ...c, keepInputs: { mode: 'text', expirationDays: 30 } }));
    const bucket = { Ref: logicalId(keeping, keeping.stack.ingest.bucket) };
    for (const env of moderating(keeping)) {
      expect(env[ENV.keepInputs]).toBe('text');
      expect(env[ENV.inputsBucket]).toEqual(bucket);
    }
    // The dead-letter function writes error verdicts, which keep nothing.
    const deadLetter = keeping.template.toJSON().Resources[
      logicalId(keeping, keeping.stack.deadLetterFunction.function)
    ] as Fn;
    expect(deadLetter.Properties.Environment.Variables).not.toHaveProperty(ENV.keepInputs);
  });

  it('keeps logs for the configured retention, in a log group of its own', () => {
    dev.template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: dev.config.logRetentionDays,
    });
    prod.template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: prod.config.logRetentionDays,
    });
    expect(moderate.Properties.LoggingConfig).toMatchObject({
      LogGroup: { Ref: expect.stringMatching(/^ModerateLogs/) },
    });
  });

  it('consumes the ingest queue in batches and reports partial batch failures', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: dev.config.lambda.batchSize,
      MaximumBatchingWindowInSeconds: dev.config.lambda.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: dev.config.reservedConcurrency },
    });
  });

  it('records dead letters with a second function on the DLQ', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('error verdict'),
      Environment: {
        Variables: Match.objectLike({
          [ENV.tableName]: Match.anyValue(),
          [ENV.policyName]: 'balanced',
          [ENV.serviceName]: SERVICE_NAMES.deadLetter,
        }),
      },
    });
  });

  it('uses roles without managed policies (no AWSLambdaBasicExecutionRole)', () => {
    for (const role of Object.values(dev.template.findResources('AWS::IAM::Role'))) {
      expect((role as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('function bundling (local esbuild, no Docker)', () => {
  it('emits one ESM file with the createRequire banner and leaves onnxruntime-node out', () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundle');
    new PipelineFunction(stack, 'DeadLetter', {
      entry: join(PROJECT_ROOT, 'functions', 'dead-letter', 'handler.ts'),
      projectRoot: PROJECT_ROOT,
    });
    const assembly = app.synth();
    const [asset] = readdirSync(assembly.directory).filter((d) => d.startsWith('asset.'));
    expect(asset).toBeDefined();
    const files = readdirSync(join(assembly.directory, asset!));
    expect(files).toContain('index.mjs');
    expect(files).not.toContain('node_modules');
    const code = readFileSync(join(assembly.directory, asset!, 'index.mjs'), 'utf8');
    // A global, not a `const require`: bundled modules may declare their own (shared/extract/ocr.ts).
    expect(code.split('\n')[0]).toBe(
      "import { createRequire as __pipelineCreateRequire } from 'node:module'; globalThis.require ??= __pipelineCreateRequire(import.meta.url);",
    );
    expect(code).not.toContain('onnxruntime');
  });
});
