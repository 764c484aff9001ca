/**
 * Safe model rollout (docs/DEPLOY.md, "Safe rollout"): what SageMaker's deployment guardrails do
 * with an update in each hosting mode, which alarms roll it back, what a new model version changes
 * in the template, and what switching `scaleToZero` does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelEndpoint } from '#infra/constructs/model-endpoint.ts';
import { ROLLOUT } from '#infra/constructs/model-endpoint.ts';
import { MODEL_ENV } from '#shared/contracts/env.ts';
import { buildPipeline, fixtureModelsDirectory, logicalId, type TestPipeline } from './helpers.ts';

type Props = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Props; DependsOn?: string[] }>;

const bake = ROLLOUT.bake.toSeconds();

function resourcesOf(p: TestPipeline): Resources {
  return p.template.toJSON().Resources as Resources;
}

function props(p: TestPipeline, construct: Parameters<typeof logicalId>[1]): Props {
  return resourcesOf(p)[logicalId(p, construct)]!.Properties;
}

/** The alarms (their logical ids) whose names the rollout lists, and the metrics they watch. */
function rollbackAlarms(p: TestPipeline, alarms: { AlarmName: { Ref: string } }[]): Props[] {
  return alarms.map(({ AlarmName }) => {
    const alarm = resourcesOf(p)[AlarmName.Ref];
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    return alarm!.Properties;
  });
}

describe('safe rollout of model updates', () => {
  let prod: TestPipeline;
  let dev: TestPipeline;
  beforeAll(() => {
    prod = buildPipeline('prod');
    dev = buildPipeline('dev');
  });

  describe('instance hosting (prod encoders, scaleToZero false)', () => {
    it('shifts a canary of one instance first where the fleet has at least two, watched before the rest', () => {
      expect(prod.config.models['image-nsfw']).toMatchObject({ kind: 'instance', minInstances: 2 });
      const endpoint = props(prod, prod.stack.endpoints['image-nsfw'].endpoint);
      expect(endpoint.DeploymentConfig).toMatchObject({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'CANARY',
            CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
            WaitIntervalInSeconds: bake,
          },
          TerminationWaitInSeconds: ROLLOUT.terminationWait.toSeconds(),
          MaximumExecutionTimeoutInSeconds: ROLLOUT.timeout.toSeconds(),
        },
      });
    });

    it('shifts all at once and bakes where the fleet may be one instance (a canary must be ≤ half)', () => {
      expect(prod.config.models['text-toxicity']).toMatchObject({ kind: 'instance', minInstances: 1 });
      const endpoint = props(prod, prod.stack.endpoints['text-toxicity'].endpoint);
      expect(endpoint.DeploymentConfig).toMatchObject({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: bake },
        },
      });
    });

    it("rolls back on that endpoint's own 5xx and p99 latency alarms, which notify the alarm topic", () => {
      const topic = { Ref: logicalId(prod, prod.stack.observability.alarmTopic) };
      for (const [name, endpoint] of Object.entries(prod.stack.endpoints)) {
        const config = props(prod, endpoint.endpoint).DeploymentConfig as {
          AutoRollbackConfiguration: { Alarms: { AlarmName: { Ref: string } }[] };
        };
        const alarms = rollbackAlarms(prod, config.AutoRollbackConfiguration.Alarms);
        expect(alarms.map((a) => a.MetricName).sort(), name).toEqual(['Invocation5XXErrors', 'ModelLatency']);
        for (const alarm of alarms) {
          // The name as written, not the endpoint's attribute: the endpoint depends on the alarms.
          expect(alarm.Dimensions, name).toEqual(
            expect.arrayContaining([{ Name: 'EndpointName', Value: endpointNameOf(prod, endpoint) }]),
          );
          expect(alarm.AlarmActions, name).toEqual([topic]);
        }
      }
    });

    it('rolls the serverless fusion endpoint out all at once, baked and rolled back on its alarms', () => {
      const endpoint = props(prod, prod.stack.endpoints.fusion.endpoint);
      expect(endpoint.DeploymentConfig).toMatchObject({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: bake },
        },
        AutoRollbackConfiguration: { Alarms: [expect.anything(), expect.anything()] },
      });
    });
  });

  describe('scale to zero (dev encoders)', () => {
    it('rolls the inference component half its copies at a time, rolled back on its own alarms', () => {
      for (const name of ['text-toxicity', 'image-nsfw'] as const) {
        const endpoint = dev.stack.endpoints[name];
        expect(endpoint.inferenceComponent, name).toBeDefined();
        const component = props(dev, endpoint.inferenceComponent!);
        expect(component.DeploymentConfig, name).toMatchObject({
          RollingUpdatePolicy: {
            MaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: 50 },
            WaitIntervalInSeconds: bake,
            MaximumExecutionTimeoutInSeconds: ROLLOUT.timeout.toSeconds(),
          },
        });
        const { Alarms } = (component.DeploymentConfig as Props).AutoRollbackConfiguration as {
          Alarms: { AlarmName: { Ref: string } }[];
        };
        for (const alarm of rollbackAlarms(dev, Alarms)) {
          expect(alarm.Dimensions, name).toEqual([
            { Name: 'InferenceComponentName', Value: endpoint.inferenceComponentName },
          ]);
        }
        // The model is in the component, so the endpoint itself is not what a new version updates.
        expect(props(dev, endpoint.endpoint).DeploymentConfig, name).toBeUndefined();
      }
    });
  });

  describe('switching scaleToZero', () => {
    it('creates a new, differently named endpoint beside the old one instead of converting it', () => {
      const zero = dev;
      const alwaysOn = buildPipeline('dev', (c) => ({ ...c, scaleToZero: false }));
      const name = 'image-nsfw';
      const [a, b] = [zero.stack.endpoints[name], alwaysOn.stack.endpoints[name]];
      // Same construct, hence same logical id: CloudFormation compares the two and replaces it,
      // because the name (which requires replacement) differs. The new one is created first.
      expect(logicalId(zero, a.endpoint)).toBe(logicalId(alwaysOn, b.endpoint));
      expect(endpointNameOf(zero, a)).toBe('moderationpipeline-dev-image-nsfw-zero');
      expect(endpointNameOf(alwaysOn, b)).toBe('moderationpipeline-dev-image-nsfw');
      // The hosting differs in everything else the mode decides.
      expect(a.mode).toBe('inference-component');
      expect(b.mode).toBe('instance');
      alwaysOn.template.resourceCountIs('AWS::SageMaker::InferenceComponent', 0);
      expect(props(alwaysOn, b.endpoint).DeploymentConfig).toMatchObject({
        BlueGreenUpdatePolicy: expect.anything(),
      });
      // The functions follow: endpoint name by attribute, component name only with scale to zero.
      const envOf = (p: TestPipeline) =>
        (props(p, p.stack.moderateFunction.function).Environment as { Variables: Record<string, unknown> })
          .Variables;
      expect(envOf(zero)[MODEL_ENV[name].endpoint]).toEqual({
        'Fn::GetAtt': [logicalId(zero, a.endpoint), 'EndpointName'],
      });
      expect(envOf(zero)[MODEL_ENV[name].component]).toBe(a.inferenceComponentName);
      expect(envOf(alwaysOn)[MODEL_ENV[name].component]).toBeUndefined();
    });
  });

  describe('a new model version', () => {
    it('is a new model and endpoint config under the same endpoint, tagged with its version', () => {
      const next = buildPipeline('prod', (c) => c, {
        modelsDirectory: fixtureModelsDirectory(['image-nsfw']),
      });
      const model = (p: TestPipeline, e: ModelEndpoint) =>
        props(p, e.model) as {
          PrimaryContainer: { ModelDataUrl: unknown };
          Tags: { Key: string; Value: string }[];
        };
      const [before, after] = [prod, next].map((p) => model(p, p.stack.endpoints['image-nsfw']));
      const version = (m: typeof before) => m!.Tags.filter((t) => t.Key === 'model-version');
      expect(version(before)).toEqual([{ Key: 'model-version', Value: 'image-nsfw-test-1' }]);
      expect(version(after)).toEqual([{ Key: 'model-version', Value: 'image-nsfw-test-2' }]);
      // Other bytes, another content-addressed object: CloudFormation replaces the model (and
      // the endpoint config that names it) and updates the endpoint in place, under its rollout.
      expect(after!.PrimaryContainer.ModelDataUrl).not.toEqual(before!.PrimaryContainer.ModelDataUrl);
      const endpoint = (p: TestPipeline) => props(p, p.stack.endpoints['image-nsfw'].endpoint);
      expect(endpoint(next).EndpointName).toBe(endpoint(prod).EndpointName);
      expect(endpoint(next).DeploymentConfig).toEqual(endpoint(prod).DeploymentConfig);
      // Only that model changes.
      const text = (p: TestPipeline) => model(p, p.stack.endpoints['text-toxicity']);
      expect(text(next)).toEqual(text(prod));
    });
  });
});

function endpointNameOf(p: TestPipeline, endpoint: ModelEndpoint): unknown {
  return props(p, endpoint.endpoint).EndpointName;
}
