/**
 * ModelEndpoint on its own, once per hosting strategy (instance, inference component, serverless):
 * what each mode adds and what the three share, behind the same grantInvoke/metric* API.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { ContainerImage } from '#infra/constructs/container-image.ts';
import { ModelData } from '#infra/constructs/model-data.ts';
import {
  type EndpointHosting,
  GPU_INFERENCE_AMI,
  ModelEndpoint,
  type ModelEndpointProps,
} from '#infra/constructs/model-endpoint.ts';
import { PROJECT_ROOT } from '#infra/stacks/moderation-pipeline-stack.ts';
import { ENV, SERVER_ENV } from '#shared/contracts/env.ts';

interface Built {
  stack: Stack;
  endpoint: ModelEndpoint;
  template: Template;
  /** The statement `grantInvoke` gave a caller's role. */
  invoke: { Action: unknown; Resource: unknown };
}

function build(
  hosting: EndpointHosting,
  props: (stack: Stack) => Partial<ModelEndpointProps> = () => ({}),
): Built {
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }));
  const endpoint = new ModelEndpoint(stack, 'Endpoint', {
    modelName: 'm',
    image: ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'inference')),
    modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'Models', 'models'), 'm.tar.gz'),
    hosting,
    endpointName: 'test-m',
    ...props(stack),
  });
  const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
  endpoint.grantInvoke(caller);
  const template = Template.fromStack(stack);
  const callerId = stack.resolve((caller.node.defaultChild as iam.CfnRole).logicalId) as string;
  const [policy] = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: callerId }] } }),
  ) as { Properties: { PolicyDocument: { Statement: Built['invoke'][] } } }[];
  return { stack, endpoint, template, invoke: policy!.Properties.PolicyDocument.Statement[0]! };
}

const gpu = { kind: 'instance', instanceType: 'ml.g5.xlarge' } as const;

describe('ModelEndpoint hosting strategies', () => {
  it('passes the model name and execution provider through the contract variable names', () => {
    const { template } = build({ ...gpu, minInstances: 1 });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: true,
      PrimaryContainer: {
        Environment: { [SERVER_ENV.modelName]: 'm', [ENV.ortExecutionProviders]: 'cuda' },
      },
    });
  });

  describe('instance (real-time)', () => {
    it('puts the model in the variant and scales instances on invocations, from minInstances', () => {
      const b = build({ ...gpu, minInstances: 2, maxInstances: 5, targetInvocationsPerInstance: 300 });
      expect(b.endpoint.mode).toBe('instance');
      expect(b.endpoint.inferenceComponentName).toBeUndefined();
      b.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ExecutionRoleArn: Match.absent(),
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: Match.anyValue(),
            InstanceType: 'ml.g5.xlarge',
            InitialInstanceCount: 2,
            InitialVariantWeight: 1,
            RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
          },
        ],
      });
      b.template.resourceCountIs('AWS::SageMaker::InferenceComponent', 0);
      b.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 2,
        MaxCapacity: 5,
      });
      b.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 300 }),
      });
      // The name as written, not the attribute: rollback alarms on these metrics are named by the endpoint.
      expect(b.stack.resolve(b.endpoint.metricInvocations().dimensions)).toEqual({
        EndpointName: 'test-m',
        VariantName: 'AllTraffic',
      });
      expect(b.invoke.Action).toBe('sagemaker:InvokeEndpoint');
      expect(b.invoke.Resource).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^Endpoint/), 'EndpointArn'],
      });
    });

    it('rejects a floor of 0 or a ceiling below the floor, naming the value', () => {
      expect(() => build({ ...gpu, minInstances: 0 })).toThrow(
        'minInstances must be ≥ 1 for a synchronous endpoint (use scaleToZero to idle at 0), got 0 for Default/Endpoint',
      );
      expect(() => build({ ...gpu, minInstances: 3, maxInstances: 2 })).toThrow(
        'maxInstances must be ≥ max(1, minInstances), got 2 for Default/Endpoint',
      );
    });
  });

  describe('inference component (scale to zero)', () => {
    it('hosts the model as a component whose copies and instances scale between 0 and max', () => {
      const b = build({ ...gpu, maxInstances: 3, scaleToZero: true });
      expect(b.endpoint.mode).toBe('inference-component');
      expect(b.endpoint.inferenceComponentName).toBe('test-m-ic');
      b.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ExecutionRoleArn: Match.anyValue(),
        ProductionVariants: [
          Match.objectLike({
            ModelName: Match.absent(),
            ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 3 },
          }),
        ],
      });
      b.template.hasResourceProperties('AWS::SageMaker::InferenceComponent', {
        InferenceComponentName: 'test-m-ic',
        Specification: Match.objectLike({
          ComputeResourceRequirements: { MinMemoryRequiredInMb: 2048, NumberOfAcceleratorDevicesRequired: 1 },
        }),
      });
      b.template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: '/aws/sagemaker/InferenceComponents/test-m-ic',
      });
      b.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ResourceId: 'inference-component/test-m-ic',
        ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        MinCapacity: 0,
        MaxCapacity: 3,
      });
      b.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'NoCapacityInvocationFailures',
        Dimensions: [{ Name: 'InferenceComponentName', Value: 'test-m-ic' }],
      });
      expect(b.endpoint.metricModelLatency().dimensions).toEqual({ InferenceComponentName: 'test-m-ic' });
      const resources = b.invoke.Resource as unknown[];
      expect(resources).toHaveLength(2);
      expect(JSON.stringify(resources)).toContain('InferenceComponentArn');
    });

    it('asks for CPU cores, not accelerators, on a CPU instance', () => {
      const { template } = build({ kind: 'instance', instanceType: 'ml.c7g.xlarge', scaleToZero: true });
      template.hasResourceProperties('AWS::SageMaker::InferenceComponent', {
        Specification: Match.objectLike({
          ComputeResourceRequirements: Match.objectLike({
            NumberOfCpuCoresRequired: 1,
            NumberOfAcceleratorDevicesRequired: Match.absent(),
          }),
        }),
      });
      template.hasResourceProperties('AWS::SageMaker::Model', {
        PrimaryContainer: { Environment: Match.objectLike({ [ENV.ortExecutionProviders]: 'cpu' }) },
      });
    });
  });

  describe('serverless', () => {
    it('has no autoscaling and no network isolation, and omits provisioned concurrency of 0', () => {
      const b = build({
        kind: 'serverless',
        memorySizeMb: 2048,
        maxConcurrency: 5,
        provisionedConcurrency: 0,
      });
      expect(b.endpoint.mode).toBe('serverless');
      expect(b.endpoint.scalableTarget).toBeUndefined();
      b.template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
      b.template.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false });
      b.template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: Match.anyValue(),
            ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
          },
        ],
      });
    });
  });

  it('encrypts the ML storage volume with the given key only where SageMaker accepts one', () => {
    const volumeKeys = (hosting: EndpointHosting): unknown[] => {
      const { template } = build(hosting, (stack) => ({
        volumeEncryptionKey: new kms.Key(stack, 'VolumeKey'),
      }));
      return Object.values(template.findResources('AWS::SageMaker::EndpointConfig')).map(
        (config) => config.Properties.KmsKeyId,
      );
    };
    expect(volumeKeys({ kind: 'instance', instanceType: 'ml.m5.xlarge' })).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^VolumeKey/), 'Arn'] },
    ]);
    expect(volumeKeys(gpu)).toEqual([undefined]); // g5: local NVMe, encrypted by the hardware
    expect(volumeKeys({ kind: 'serverless', memorySizeMb: 1024, maxConcurrency: 1 })).toEqual([undefined]);
  });

  describe('GPU host AMI (InferenceAmiVersion)', () => {
    const variantOf = (b: Built) =>
      (
        Object.values(b.template.findResources('AWS::SageMaker::EndpointConfig'))[0] as {
          Properties: { ProductionVariants: { InferenceAmiVersion?: string }[] };
        }
      ).Properties.ProductionVariants[0];

    it('pins every GPU variant, instance or inference component, to the AMI whose driver runs the image', () => {
      for (const scaleToZero of [false, true]) {
        const b = build({ ...gpu, minInstances: 1, scaleToZero });
        expect(variantOf(b)?.InferenceAmiVersion).toBe(GPU_INFERENCE_AMI.version);
      }
      expect(GPU_INFERENCE_AMI.version).toBe('al2-ami-sagemaker-inference-gpu-2');
    });

    it('leaves CPU instances and serverless variants on their defaults (the AMIs are GPU ones)', () => {
      const cpu = build({ kind: 'instance', instanceType: 'ml.c6i.large', minInstances: 1 });
      const serverless = build({ kind: 'serverless', memorySizeMb: 2048, maxConcurrency: 2 });
      expect(variantOf(cpu)?.InferenceAmiVersion).toBeUndefined();
      expect(variantOf(serverless)?.InferenceAmiVersion).toBeUndefined();
    });

    it('builds the inference image on a CUDA no newer than the AMI runs', () => {
      const dockerfile = readFileSync(join(PROJECT_ROOT, 'model-artifacts', 'server', 'Dockerfile'), 'utf8');
      const cuda = /^ARG CUDA_IMAGE=nvidia\/cuda:(\d+)\.(\d+)\.\d+-/m.exec(dockerfile);
      expect(cuda, 'ARG CUDA_IMAGE=nvidia/cuda:<major>.<minor>.<patch>-… in the Dockerfile').not.toBeNull();
      const [amiMajor, amiMinor] = GPU_INFERENCE_AMI.cuda.split('.').map(Number);
      const [major, minor] = [Number(cuda?.[1]), Number(cuda?.[2])];
      expect(major).toBe(amiMajor);
      expect(minor).toBeLessThanOrEqual(amiMinor ?? -1);
      // cuDNN 9 for CUDA 12: what onnxruntime-node 1.30's CUDA execution provider is built against.
      expect(dockerfile).toMatch(/^ARG CUDNN_PACKAGE=libcudnn9-cuda-12$/m);
    });
  });

  describe('rollout (deployment guardrails) and mode-specific names', () => {
    function withAlarms(hosting: EndpointHosting, alarms: number) {
      const stack = new Stack(new App({ builtinCloudFormationValidation: false }));
      const endpoint = new ModelEndpoint(stack, 'Endpoint', {
        modelName: 'm',
        image: ContainerImage.fromEcrRepository(
          ecr.Repository.fromRepositoryName(stack, 'Repo', 'inference'),
        ),
        modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'Models', 'models'), 'm.tar.gz'),
        hosting,
        endpointName: 'test-m',
      });
      for (let i = 0; i < alarms; i++) {
        endpoint.addRollbackAlarm(
          new cloudwatch.Alarm(stack, `Alarm${i}`, {
            metric: endpoint.metric5xx(),
            threshold: 1,
            evaluationPeriods: 1,
          }),
        );
      }
      return { endpoint, template: Template.fromStack(stack) };
    }

    it('names each mode’s endpoint apart, so a change of mode is a new endpoint', () => {
      const names = [
        { ...gpu },
        { ...gpu, scaleToZero: true },
        { kind: 'serverless', memorySizeMb: 1024, maxConcurrency: 1 } as const,
      ].map((hosting) => {
        const { template } = withAlarms(hosting, 0);
        return Object.values(template.findResources('AWS::SageMaker::Endpoint'))[0]!.Properties.EndpointName;
      });
      expect(names).toEqual(['test-m', 'test-m-zero', 'test-m-serverless']);
    });

    it('rolls back on the alarms added, and blue/green without them (SageMaker takes 1 to 10)', () => {
      const { template } = withAlarms({ ...gpu, minInstances: 3 }, 2);
      template.hasResourceProperties('AWS::SageMaker::Endpoint', {
        DeploymentConfig: {
          BlueGreenUpdatePolicy: Match.objectLike({
            TrafficRoutingConfiguration: Match.objectLike({ Type: 'CANARY' }),
          }),
          AutoRollbackConfiguration: {
            Alarms: [
              { AlarmName: { Ref: Match.stringLikeRegexp('^Alarm0') } },
              { AlarmName: { Ref: Match.stringLikeRegexp('^Alarm1') } },
            ],
          },
        },
      });
      withAlarms(gpu, 0).template.hasResourceProperties('AWS::SageMaker::Endpoint', {
        DeploymentConfig: {
          BlueGreenUpdatePolicy: Match.anyValue(),
          AutoRollbackConfiguration: Match.absent(),
        },
      });
      expect(() => withAlarms(gpu, 11)).toThrow(
        'SageMaker takes at most 10 rollback alarms per endpoint, got one more for Default/Endpoint',
      );
    });
  });
});
