/**
 * How a `ModelEndpoint` hosts its model. One strategy per hosting mode (instance.ts,
 * inference-component.ts, serverless.ts); each decides the production variant, what is created
 * once the endpoint exists (inference component, autoscaling) and its metrics' dimensions.
 * Strategies are plain classes that create their resources in the `ModelEndpoint` itself, so
 * construct ids (hence logical ids) are the same whichever strategy made them.
 */
import { Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import type { EndpointHostingMode } from '#shared/contracts/tensor-wire.ts';

/**
 * How the endpoint hosts its model, which decides its metrics' dimensions, its scaling and (in the
 * functions' `*_ENDPOINT_HOSTING`) the payload limit the client splits requests under.
 */
export type EndpointMode = EndpointHostingMode;

export const VARIANT_NAME = 'AllTraffic';

/**
 * The SageMaker host image every GPU variant is pinned to (`InferenceAmiVersion`). Without it ml.g5
 * hosts default to driver 470 / CUDA 11.4, on which the CUDA 12 execution provider cannot load (and
 * the server refuses CPU: the endpoint never becomes healthy). `al2-ami-sagemaker-inference-gpu-2`:
 * NVIDIA driver 535.54.03, CUDA 12.2, documented for ml.g4dn, g5, g6, p3, p4d, p4de and p5. The
 * inference image's CUDA (model-artifacts/server/Dockerfile, `CUDA_IMAGE`) must not be newer than
 * `cuda`; an infra test compares the two. docs/DEPLOY.md, "GPU image and host AMI".
 */
export const GPU_INFERENCE_AMI = {
  version: 'al2-ami-sagemaker-inference-gpu-2',
  nvidiaDriver: '535.54.03',
  cuda: '12.2',
} as const;
export const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'];

/** Families whose instances carry local NVMe storage, on which SageMaker rejects a volume KMS key. */
const LOCAL_STORAGE_FAMILY = /^ml\.(g4dn|g5|g6|g6e|gr6|p3dn|p4d|p4de|p5|p5e|p5en|[a-z]+\d+[a-z]*d)\./;
const GPU_FAMILY = /^ml\.(g\d|p\d)/;

export function hasLocalInstanceStorage(instanceType: string): boolean {
  return LOCAL_STORAGE_FAMILY.test(instanceType);
}

export function isGpuInstance(instanceType: string): boolean {
  return GPU_FAMILY.test(instanceType);
}

/** What the `ModelEndpoint` has created by the time its strategy adds the rest. */
export interface EndpointParts {
  /** The `ModelEndpoint`: the scope of everything the strategy creates. */
  readonly scope: Construct;
  readonly role: iam.Role;
  readonly model: sagemaker.CfnModel;
  readonly endpoint: sagemaker.CfnEndpoint;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What a strategy is constructed with. */
export interface HostingContext {
  /** The `ModelEndpoint`'s construct path, for error messages. */
  readonly path: string;
  /** The endpoint's name as written. */
  readonly endpointName: string;
}

/** What a strategy adds once the endpoint exists. */
export interface HostingResources {
  /** Set in scale-to-zero mode. */
  readonly inferenceComponent?: sagemaker.CfnInferenceComponent;
  /** The scaling target, when the hosting scales. */
  readonly scalableTarget?: appscaling.ScalableTarget;
}

/**
 * How a new model version (or any endpoint update) reaches traffic: SageMaker's deployment
 * guardrails, rolled back when an alarm fires (docs/DEPLOY.md, "Safe rollout"). Which applies
 * depends on the hosting mode.
 */
export interface Rollout {
  /** The endpoint's `DeploymentConfig` (blue/green): instance and serverless hosting. */
  readonly endpoint?: sagemaker.CfnEndpoint.DeploymentConfigProperty;
  /** The inference component's `DeploymentConfig` (rolling, by copies): scale-to-zero hosting. */
  readonly inferenceComponent?: sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty;
}

/** The timings every rollout uses. */
export const ROLLOUT = {
  /**
   * How long each traffic step is watched before the next one: the endpoint alarms need one
   * (5xx) or two (p99 latency) five-minute periods to fire.
   */
  bake: Duration.minutes(15),
  /** How long the old fleet stays after the last shift, for a quick manual way back. */
  terminationWait: Duration.minutes(5),
  /** The whole update, provisioning of the new GPU fleet (about 10 minutes) included. */
  timeout: Duration.hours(2),
} as const;

/** SageMaker takes at most 10 rollback alarms per deployment. */
export const MAX_ROLLBACK_ALARMS = 10;

export interface EndpointHostingStrategy {
  readonly mode: EndpointMode;
  /**
   * Appended to the endpoint's name. Each mode has its own, so switching modes (`scaleToZero`, or
   * instance ↔ serverless) creates a new endpoint beside the old one and moves the functions to
   * it, instead of an UpdateEndpoint between configurations SageMaker may refuse to convert.
   */
  readonly endpointNameSuffix: string;
  /** Runs the container on a GPU: the server uses the CUDA execution provider. */
  readonly gpu: boolean;
  /** Serverless Inference does not support network isolation. */
  readonly networkIsolation: boolean;
  /** Whether an ML storage volume key applies (not to local NVMe storage, nor to serverless). */
  readonly acceptsVolumeKey: boolean;
  /** The endpoint config names the execution role (inference components are deployed with it). */
  readonly endpointConfigNeedsRole: boolean;
  /** Set in scale-to-zero mode: InvokeEndpoint must name it (`InferenceComponentName`). */
  readonly inferenceComponentName?: string;
  productionVariant(model: sagemaker.CfnModel): sagemaker.CfnEndpointConfig.ProductionVariantProperty;
  /** Creates what the mode needs once the endpoint exists. */
  addTo(parts: EndpointParts): HostingResources;
  /**
   * Dimensions of the endpoint's AWS/SageMaker metrics. `endpointName` is the name as written,
   * not the attribute: the rollout's alarms watch these metrics and the endpoint names the
   * alarms, so the alarms must not depend on the endpoint.
   */
  metricDimensions(endpointName: string): cloudwatch.DimensionsMap;
  /** The deployment configuration of updates, rolled back when one of `alarmNames` fires. */
  rollout(alarmNames: readonly string[]): Rollout;
}

/** Blue/green traffic shifting on an endpoint (instance or serverless), rolled back on the alarms. */
export function blueGreenRollout(
  trafficRouting: sagemaker.CfnEndpoint.TrafficRoutingConfigProperty,
  alarmNames: readonly string[],
): sagemaker.CfnEndpoint.DeploymentConfigProperty {
  return {
    blueGreenUpdatePolicy: {
      trafficRoutingConfiguration: trafficRouting,
      terminationWaitInSeconds: ROLLOUT.terminationWait.toSeconds(),
      maximumExecutionTimeoutInSeconds: ROLLOUT.timeout.toSeconds(),
    },
    autoRollbackConfiguration: rollbackAlarms(alarmNames),
  };
}

/** SageMaker's alarm list, absent when there are none (it takes 1 to 10). */
export function rollbackAlarms(
  alarmNames: readonly string[],
): { alarms: { alarmName: string }[] } | undefined {
  return alarmNames.length > 0 ? { alarms: alarmNames.map((alarmName) => ({ alarmName })) } : undefined;
}

/** A metric in AWS/SageMaker. @default over 1 minute */
export function sageMakerMetric(
  metricName: string,
  dimensionsMap: cloudwatch.DimensionsMap,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SageMaker',
    metricName,
    dimensionsMap,
    period: Duration.minutes(1),
    ...props,
  });
}

/** The per-variant dimensions of an endpoint's metrics. */
export function variantDimensions(endpointName: string): cloudwatch.DimensionsMap {
  return { EndpointName: endpointName, VariantName: VARIANT_NAME };
}

/** Application Auto Scaling's service-linked role; CloudFormation creates it on first use when given its ARN. */
export function autoScalingRole(scope: Construct): iam.IRole {
  return iam.Role.fromRoleArn(
    scope,
    'AutoScalingRole',
    `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
    { mutable: false },
  );
}

/** The instance range of instance hosting, validated. */
export function instanceRange(
  hosting: { readonly minInstances?: number; readonly maxInstances?: number },
  options: { readonly minZeroAllowed: boolean; readonly path: string },
): { min: number; max: number } {
  const min = hosting.minInstances ?? 1;
  if (min < 0 || (min === 0 && !options.minZeroAllowed)) {
    throw new Error(
      `minInstances must be ≥ 1 for a synchronous endpoint (use scaleToZero to idle at 0), got ${min} for ${options.path}`,
    );
  }
  const max = hosting.maxInstances ?? Math.max(1, min);
  if (max < Math.max(1, min)) {
    throw new Error(`maxInstances must be ≥ max(1, minInstances), got ${max} for ${options.path}`);
  }
  return { min, max };
}
