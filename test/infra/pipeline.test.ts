/**
 * Stages and the delivery pipeline (docs/DEPLOY.md, "Stages and the delivery pipeline"): dev and
 * prod pinned to their accounts and regions in cdk.json, and .github/workflows/deploy.yml, which
 * cannot run here, checked against them and against package.json's scripts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENTS_CONTEXT_KEY,
  loadPipelineConfig,
  loadPipelineStages,
  PIPELINE_CONTEXT_KEY,
  type PipelineConfig,
  parsePipelineConfig,
} from '#infra/config.ts';
import { PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { buildPipeline, cdkJsonContext } from './helpers.ts';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

/**
 * The YAML parser aws-cdk-lib bundles (`yaml` 1.x, used by cloudformation-include): the project
 * has no YAML dependency of its own, and this test is the only reader.
 */
function parseYaml(text: string): unknown {
  const fromCdk = createRequire(createRequire(import.meta.url).resolve('aws-cdk-lib/package.json'));
  const yaml = fromCdk('yaml') as { parse(text: string): unknown };
  return yaml.parse(text);
}

const context = cdkJsonContext();
const app = () => new App({ context });
const needsOf = (job: Job) =>
  job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
const environmentOf = (job: Job) =>
  typeof job.environment === 'object' ? job.environment.name : job.environment;
const runs = (job: Job) => job.steps.flatMap((s) => (s.run ? s.run.split('\n').filter(Boolean) : []));

describe('stages', () => {
  it('deploys dev, then prod, each pinned to an account and region in cdk.json', () => {
    expect(loadPipelineStages(app().node)).toEqual(['dev', 'prod']);
    for (const stage of ['dev', 'prod']) {
      const config = loadPipelineConfig(app().node, stage);
      expect(config.account, stage).toMatch(/^[0-9]{12}$/);
      expect(config.region, stage).toMatch(/^[a-z]{2}-[a-z]+-[0-9]$/);
    }
    const [dev, prod] = ['dev', 'prod'].map((stage) => loadPipelineConfig(app().node, stage));
    expect(dev!.account).not.toBe(prod!.account);
  });

  it('synthesizes each stack into its pinned environment', () => {
    for (const stage of ['dev', 'prod']) {
      const { stack, config } = buildPipeline(stage);
      expect({ account: stack.account, region: stack.region }).toEqual({
        account: config.account,
        region: config.region,
      });
    }
  });

  it('refuses a pipeline stage without an account, with the key to set', () => {
    const environments = structuredClone(context[ENVIRONMENTS_CONTEXT_KEY]) as Record<
      string,
      Record<string, unknown>
    >;
    delete environments.prod!.account;
    const unpinned = new App({ context: { ...context, [ENVIRONMENTS_CONTEXT_KEY]: environments } });
    expect(() => loadPipelineConfig(unpinned.node, 'prod')).toThrow(
      'environment prod is a stage of the delivery pipeline (moderation:pipeline) and must pin its account and region: set moderation:environments.prod.account (12 digits) and .region, got account undefined, region "us-east-1"',
    );
    // Outside the pipeline (a developer's own environment) the stack may stay environment-agnostic.
    expect(parsePipelineConfig('sandbox', environments.prod).account).toBeUndefined();
  });

  it('rejects a malformed account and an unknown stage', () => {
    const raw = { ...(context[ENVIRONMENTS_CONTEXT_KEY] as Record<string, object>).dev, account: '1234' };
    expect(() => parsePipelineConfig('dev', raw)).toThrow(
      'config moderation:environments.dev.account must be a 12-digit AWS account id, got "1234"',
    );
    const staging = new App({
      context: { ...context, [PIPELINE_CONTEXT_KEY]: { stages: ['dev', 'staging'] } },
    });
    expect(() => loadPipelineStages(staging.node)).toThrow(
      /moderation:pipeline.stages must name distinct environments of moderation:environments \(dev, prod\), got \["dev","staging"\]/,
    );
  });
});

describe('delivery pipeline (.github/workflows/deploy.yml)', () => {
  let workflow: Workflow;
  let scripts: Record<string, string>;
  let stages: string[];
  let configs: Record<string, PipelineConfig>;
  beforeAll(() => {
    workflow = parseYaml(
      readFileSync(join(PROJECT_ROOT, '.github/workflows/deploy.yml'), 'utf8'),
    ) as Workflow;
    scripts = (
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    stages = loadPipelineStages(app().node);
    configs = Object.fromEntries(stages.map((s) => [s, loadPipelineConfig(app().node, s)]));
  });

  it('has a test job, then one deploy job per stage, each after the one before', () => {
    expect(Object.keys(workflow.jobs)).toEqual(['test', ...stages.map((s) => `deploy-${s}`)]);
    expect(needsOf(workflow.jobs.test!)).toEqual([]);
    let previous = 'test';
    for (const stage of stages) {
      expect(needsOf(workflow.jobs[`deploy-${stage}`]!), stage).toEqual([previous]);
      previous = `deploy-${stage}`;
    }
    expect(Object.keys(workflow.on)).toContain('push');
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('runs the tests and synthesizes every stage with the package.json scripts', () => {
    const commands = runs(workflow.jobs.test!);
    expect(commands[0]).toBe('npm ci');
    expect(commands).toContain('npm test');
    for (const stage of stages) expect(commands).toContain(`npm run synth -- -c env=${stage}`);
    for (const job of Object.values(workflow.jobs)) {
      for (const command of runs(job)) {
        const script = /^npm run ([\w:-]+)/.exec(command)?.[1];
        if (script) expect(scripts, command).toHaveProperty(script);
      }
    }
    // `npm test` is the whole gate: lint, types, import rules and every test, synth included.
    expect(scripts.test).toMatch(/lint.*typecheck.*check:imports.*vitest run/);
    expect(scripts.synth).toMatch(/^cdk synth/);
  });

  it('uses the Node major of package.json engines everywhere', () => {
    const engines = (
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
        engines: { node: string };
      }
    ).engines.node;
    const major = Number(/\d+/.exec(engines)?.[0]);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const setup = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
      expect(setup?.with?.['node-version'], name).toBe(major);
    }
  });

  it('deploys each stage into its GitHub environment with an OIDC role of its own account and region', () => {
    for (const stage of stages) {
      const job = workflow.jobs[`deploy-${stage}`]!;
      const config = configs[stage]!;
      // The prod environment's protection rule (required reviewers) is the approval step.
      expect(environmentOf(job), stage).toBe(stage);
      expect(job.permissions, stage).toEqual({ contents: 'read', 'id-token': 'write' });
      const credentials = job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(credentials?.with, stage).toEqual({
        'role-to-assume': `arn:aws:iam::${config.account}:role/moderation-pipeline-deploy`,
        'aws-region': config.region,
      });
      const commands = runs(job);
      expect(commands.indexOf('npm ci'), stage).toBeGreaterThanOrEqual(0);
      expect(commands.at(-1), stage).toBe(`npx cdk deploy -c env=${stage} --require-approval never`);
      // Credentials come after the install: no package script runs with them.
      const stepIndex = (pred: (s: Step) => boolean) => job.steps.findIndex(pred);
      expect(stepIndex((s) => s === credentials)).toBeGreaterThan(stepIndex((s) => s.run === 'npm ci'));
    }
    // No long-lived keys anywhere in the file.
    expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|aws-secret-access-key|secrets\./);
  });
});
