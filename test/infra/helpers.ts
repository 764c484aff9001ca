/**
 * Builds the pipeline app the way `cdk synth` does (cdk.json's context: feature flags and
 * environments) but without bundling (no esbuild, no npm) and against tiny fixture models and a
 * stub Dockerfile, so infra tests run in seconds and need neither `npm run models` nor Docker.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { addPipeline } from '#infra/app.ts';
import { loadPipelineConfig, type PipelineConfig } from '#infra/config.ts';
import { type ModerationPipelineStack, PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { MODEL_NAMES } from '#shared/contracts/models.ts';

/** cdk.json's context, as the CLI passes it to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

let fixtureRoot: string | undefined;

/**
 * A models directory with one tiny, checksum-correct model per contract name. `revised` models get
 * other bytes and version `<name>-test-2`: a new model version, as `npm run models` would build it.
 */
export function fixtureModelsDirectory(revised: readonly string[] = []): string {
  fixtureRoot ??= mkdtempSync(join(tmpdir(), 'infra-test-'));
  const dir = join(fixtureRoot, revised.length === 0 ? 'models' : `models-${[...revised].sort().join('-')}`);
  for (const name of MODEL_NAMES) {
    const revision = revised.includes(name) ? 2 : 1;
    const modelDir = join(dir, name);
    mkdirSync(modelDir, { recursive: true });
    const bytes = Buffer.from(`not really onnx: ${name}${revision === 1 ? '' : ` r${revision}`}`);
    writeFileSync(join(modelDir, 'model.onnx'), bytes);
    const manifest = {
      name,
      version: `${name}-test-${revision}`,
      file: 'model.onnx',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    writeFileSync(join(modelDir, 'manifest.json'), JSON.stringify(manifest));
  }
  return dir;
}

/** A Docker build context with a stub Dockerfile (synth only fingerprints it). */
export function fixtureImageDirectory(): string {
  fixtureRoot ??= mkdtempSync(join(tmpdir(), 'infra-test-'));
  const dir = join(fixtureRoot, 'image');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM public.ecr.aws/docker/library/node:22-slim\n');
  return dir;
}

export interface TestPipeline {
  app: App;
  stack: ModerationPipelineStack;
  template: Template;
  config: PipelineConfig;
}

/** A review console build: one page, so BucketDeployment has something to upload. */
export function fixtureConsoleDirectory(): string {
  fixtureRoot ??= mkdtempSync(join(tmpdir(), 'infra-test-'));
  const dir = join(fixtureRoot, 'console');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Review</title>\n');
  return dir;
}

export interface BuildOptions {
  /** Run cdk-nag. @default false */
  nag?: boolean;
  /**
   * The review console's files. @default a directory that does not exist, so templates do not
   * depend on whether console/ has been built in this checkout
   */
  consoleDirectory?: string;
  /** @default fixtureModelsDirectory() */
  modelsDirectory?: string;
}

/** The pipeline for `envName` from cdk.json, optionally with config changes, synthesized without bundling. */
export function buildPipeline(
  envName = 'dev',
  change: (config: PipelineConfig) => PipelineConfig = (c) => c,
  options: BuildOptions = {},
): TestPipeline {
  fixtureRoot ??= mkdtempSync(join(tmpdir(), 'infra-test-'));
  const context = cdkJsonContext();
  const app = new App({
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
    // CDK's built-in CloudFormation validation (cfn-guard in WebAssembly) costs seconds per app and
    // only ever warns; `npm run synth` runs it. cdk-nag is a plugin of its own and still runs here.
    builtinCloudFormationValidation: false,
  });
  const config = change(loadPipelineConfig(app.node, envName));
  const stack = addPipeline(app, {
    config,
    nag: options.nag ?? false,
    modelsDirectory: options.modelsDirectory ?? fixtureModelsDirectory(),
    inferenceImageDirectory: fixtureImageDirectory(),
    inferenceDockerfile: 'Dockerfile',
    consoleDirectory: options.consoleDirectory ?? join(fixtureRoot, 'no-console'),
  });
  let template: Template | undefined;
  return {
    app,
    stack,
    config,
    // Synthesized on first use, so a test can still add constructs before synth.
    get template() {
      template ??= Template.fromStack(stack);
      return template;
    },
  };
}

/** The logical id of a construct's CloudFormation resource (an L2's default child). */
export function logicalId(p: TestPipeline, construct: IConstruct): string {
  const cfn = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!cfn || !CfnElement.isCfnElement(cfn))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return p.stack.resolve(cfn.logicalId) as string;
}
