import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineConfig } from '#infra/config.ts';
import type { ModelEndpoint } from '#infra/constructs/model-endpoint.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

interface ModelProps {
  PrimaryContainer: {
    Environment: Record<string, string>;
    Image: unknown;
    /** A plain string in a pinned environment, `Fn::Sub` of the account and region otherwise. */
    ModelDataUrl: string | { 'Fn::Sub': string };
  };
  ExecutionRoleArn?: unknown;
}
interface TargetProps {
  ResourceId: unknown;
  RoleARN: unknown;
}
interface PolicyProps {
  PolicyType: string;
  ScalingTargetId: { Ref: string };
}
type Resource<P = TargetProps> = { Type: string; Properties: P };

function resources<P = TargetProps>(p: TestPipeline, type: string): [string, Resource<P>][] {
  return Object.entries(p.template.findResources(type)) as [string, Resource<P>][];
}

/** The scalable target whose ResourceId names this endpoint (through its EndpointName attribute). */
function targetOf(p: TestPipeline, endpoint: ModelEndpoint): [string, Resource] {
  const endpointId = logicalId(p, endpoint.endpoint);
  const found = resources(p, 'AWS::ApplicationAutoScaling::ScalableTarget').find(([, t]) =>
    JSON.stringify(t.Properties.ResourceId).includes(`"${endpointId}","EndpointName"`),
  );
  if (!found) throw new Error(`no scalable target for ${endpointId}`);
  return found;
}

const alwaysOn = (c: PipelineConfig): PipelineConfig => ({ ...c, scaleToZero: false });

describe('models on SageMaker', () => {
  let dev: TestPipeline;
  let prod: TestPipeline;
  beforeAll(() => {
    dev = buildPipeline('dev');
    prod = buildPipeline('prod');
  });

  it('defines one model per contract name from the image asset and a .tar.gz model data asset', () => {
    const models = resources<ModelProps>(dev, 'AWS::SageMaker::Model');
    expect(models.map(([, m]) => m.Properties.PrimaryContainer.Environment.MODEL_NAME).sort()).toEqual([
      'fusion',
      'image-nsfw',
      'text-toxicity',
    ]);
    for (const [, model] of models) {
      const container = model.Properties.PrimaryContainer;
      expect(JSON.stringify(container.Image)).toContain('container-assets');
      const url = container.ModelDataUrl;
      expect(typeof url === 'string' ? url : url['Fn::Sub']).toMatch(
        /^s3:\/\/cdk-[a-z0-9]+-assets-.*\/[0-9a-f]{64}\.tar\.gz$/,
      );
      expect(model.Properties.ExecutionRoleArn).toBeDefined();
    }
    dev.template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: true,
      PrimaryContainer: { Environment: { MODEL_NAME: 'image-nsfw', ORT_EXECUTION_PROVIDERS: 'cuda' } },
    });
  });

  it('runs each encoder on its own GPU endpoint, the fusion classifier on serverless inference', () => {
    prod.template.resourceCountIs('AWS::SageMaker::Endpoint', 3);
    for (const name of ['text-toxicity', 'image-nsfw']) {
      prod.template.hasResourceProperties('AWS::SageMaker::Endpoint', {
        EndpointName: `moderationpipeline-prod-${name}`,
      });
    }
    prod.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({
          InstanceType: 'ml.g6.xlarge',
          InitialInstanceCount: 2,
          VariantName: 'AllTraffic',
        }),
      ],
    });
    dev.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g5.xlarge' })],
    });
    prod.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 80, ProvisionedConcurrency: 2 },
        }),
      ],
    });
  });

  it('takes the instance type from the configuration', () => {
    const p = buildPipeline('dev', (c) => ({
      ...alwaysOn(c),
      models: { ...c.models, 'image-nsfw': { ...c.models['image-nsfw'], instanceType: 'ml.g6e.xlarge' } },
    }));
    p.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g6e.xlarge' })],
    });
  });

  it('autoscales always-on endpoints on invocations per instance between the configured bounds', () => {
    const image = prod.config.models['image-nsfw'];
    if (image.kind !== 'instance') throw new Error('prod image-nsfw must be instance-hosted');
    const [targetId, target] = targetOf(prod, prod.stack.endpoints['image-nsfw']);
    expect(target.Properties).toMatchObject({
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: image.minInstances,
      MaxCapacity: image.maxInstances,
    });
    expect(JSON.stringify(target.Properties.ResourceId)).toMatch(/"endpoint\/",.*"\/variant\/AllTraffic"/);
    expect(JSON.stringify(target.Properties.RoleARN)).toContain(
      'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
    );
    prod.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      ScalingTargetId: { Ref: targetId },
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: image.targetInvocationsPerInstance,
      },
    });
    prod.template.resourceCountIs('AWS::SageMaker::InferenceComponent', 0);
  });

  describe('scale to zero (dev)', () => {
    it('hosts the encoders as inference components on endpoints whose instances may scale to 0', () => {
      dev.template.resourceCountIs('AWS::SageMaker::InferenceComponent', 2);
      dev.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ExecutionRoleArn: Match.anyValue(),
        ProductionVariants: [
          Match.objectLike({
            InstanceType: 'ml.g5.xlarge',
            ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 2 },
            ModelName: Match.absent(),
          }),
        ],
      });
      dev.template.hasResourceProperties('AWS::SageMaker::InferenceComponent', {
        InferenceComponentName: 'moderationpipeline-dev-image-nsfw-ic',
        VariantName: 'AllTraffic',
        Specification: {
          ModelName: Match.anyValue(),
          ComputeResourceRequirements: Match.objectLike({ NumberOfAcceleratorDevicesRequired: 1 }),
        },
        RuntimeConfig: { CopyCount: 1 },
      });
    });

    it('scales copies between 0 and max, and out of 0 on NoCapacityInvocationFailures', () => {
      const [targetId] = resources(dev, 'AWS::ApplicationAutoScaling::ScalableTarget').find(
        ([, t]) => t.Properties.ResourceId === 'inference-component/moderationpipeline-dev-image-nsfw-ic',
      )!;
      dev.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ResourceId: 'inference-component/moderationpipeline-dev-image-nsfw-ic',
        ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        MinCapacity: 0,
        MaxCapacity: 2,
      });
      dev.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        ScalingTargetId: { Ref: targetId },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: {
            PredefinedMetricType: 'SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution',
          },
        }),
      });
      const [stepId] = resources<PolicyProps>(dev, 'AWS::ApplicationAutoScaling::ScalingPolicy').find(
        ([, p]) => p.Properties.PolicyType === 'StepScaling' && p.Properties.ScalingTargetId.Ref === targetId,
      )!;
      dev.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        ScalingTargetId: { Ref: targetId },
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity',
          StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
          MetricAggregationType: 'Maximum',
          Cooldown: 60,
        },
      });
      dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'NoCapacityInvocationFailures',
        Namespace: 'AWS/SageMaker',
        Dimensions: [{ Name: 'InferenceComponentName', Value: 'moderationpipeline-dev-image-nsfw-ic' }],
        Threshold: 1,
        AlarmActions: [{ Ref: stepId }],
      });
    });

    it('is off when the configuration says so', () => {
      const p = buildPipeline('dev', alwaysOn);
      p.template.resourceCountIs('AWS::SageMaker::InferenceComponent', 0);
      const [, target] = targetOf(p, p.stack.endpoints['image-nsfw']);
      expect(target.Properties).toMatchObject({
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 1,
      });
    });
  });

  it('has no asynchronous endpoints (nothing calls InvokeEndpointAsync)', () => {
    for (const p of [dev, prod]) {
      const json = JSON.stringify(p.template.toJSON());
      expect(json, p.config.envName).not.toContain('AsyncInferenceConfig');
      expect(json, p.config.envName).not.toContain('sagemaker:InvokeEndpointAsync');
      p.template.resourceCountIs('AWS::SNS::Topic', 1); // the alarm topic only
    }
  });
});
