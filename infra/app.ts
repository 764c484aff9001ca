import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadPipelineConfig, type PipelineConfig } from './config.ts';
import {
  ModerationPipelineStack,
  type ModerationPipelineStackProps,
} from './stacks/moderation-pipeline-stack.ts';

export interface PipelineAppOptions extends Partial<Omit<ModerationPipelineStackProps, 'config'>> {
  /** @default the environment named by `-c env=<name>` (default `dev`) in cdk.json */
  readonly config?: PipelineConfig;
  /** Run the AwsSolutions checks. @default true */
  readonly nag?: boolean;
}

/**
 * Adds the pipeline for one environment to `app`, with cdk-nag's AwsSolutions checks: any
 * unacknowledged finding fails synth. Used by bin/app.ts and the infra tests alike.
 */
export function addPipeline(app: App, options: PipelineAppOptions = {}): ModerationPipelineStack {
  const { config: given, nag = true, ...stackProps } = options;
  const config = given ?? loadPipelineConfig(app.node);
  const stack = new ModerationPipelineStack(app, `ModerationPipeline-${config.envName}`, {
    ...stackProps,
    config,
    description: `Serverless multi-modal content moderation pipeline (${config.envName})`,
    // Environment-agnostic unless cdk.json pins them: synth then needs no credentials.
    env: config.account || config.region ? { account: config.account, region: config.region } : undefined,
    terminationProtection: config.deletionProtection,
  });
  Tags.of(stack).add('project', 'moderation-pipeline');
  Tags.of(stack).add('environment', config.envName);
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
