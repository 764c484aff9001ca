import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { InstanceHosting } from './hosting.ts';
import {
  autoScalingRole,
  blueGreenRollout,
  type EndpointHostingStrategy,
  type EndpointParts,
  GPU_INFERENCE_AMI,
  type HostingContext,
  type HostingResources,
  hasLocalInstanceStorage,
  instanceRange,
  isGpuInstance,
  ROLLOUT,
  type Rollout,
  VARIANT_NAME,
  variantDimensions,
} from './strategy.ts';

/**
 * Real-time hosting on dedicated, always-on instances: the model in the production variant, and
 * Application Auto Scaling of the instance count on invocations per instance, never below 1.
 */
export class InstanceEndpointHosting implements EndpointHostingStrategy {
  readonly mode = 'instance';
  readonly endpointNameSuffix = '';
  readonly gpu: boolean;
  readonly networkIsolation = true;
  readonly acceptsVolumeKey: boolean;
  readonly endpointConfigNeedsRole = false;
  private readonly min: number;
  private readonly max: number;

  constructor(
    private readonly hosting: InstanceHosting,
    { path }: HostingContext,
  ) {
    ({ min: this.min, max: this.max } = instanceRange(hosting, { minZeroAllowed: false, path }));
    this.gpu = isGpuInstance(hosting.instanceType);
    this.acceptsVolumeKey = !hasLocalInstanceStorage(hosting.instanceType);
  }

  productionVariant(model: sagemaker.CfnModel): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
    return {
      variantName: VARIANT_NAME,
      modelName: model.attrModelName,
      instanceType: this.hosting.instanceType,
      // A host whose driver runs the image's CUDA (strategy.ts).
      inferenceAmiVersion: this.gpu ? GPU_INFERENCE_AMI.version : undefined,
      initialInstanceCount: this.min,
      initialVariantWeight: 1,
      routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
    };
  }

  addTo(parts: EndpointParts): HostingResources {
    const target = new appscaling.ScalableTarget(parts.scope, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `endpoint/${parts.endpoint.attrEndpointName}/variant/${VARIANT_NAME}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: this.min,
      maxCapacity: this.max,
      role: autoScalingRole(parts.scope),
    });
    target.scaleToTrackMetric('InvocationsPerInstance', {
      predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
      targetValue: this.hosting.targetInvocationsPerInstance ?? 1000,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
    return { scalableTarget: target };
  }

  metricDimensions(endpointName: string): cloudwatch.DimensionsMap {
    return variantDimensions(endpointName);
  }

  /**
   * Blue/green with a canary of one instance, watched for `ROLLOUT.bake`, then the rest. A canary
   * must be at most half the fleet, so a fleet that may be a single instance shifts all at once
   * and is then watched for the same time before the old fleet goes; either way an alarm during
   * the rollout sends all traffic back to the old fleet.
   */
  rollout(alarmNames: readonly string[]): Rollout {
    const bake = ROLLOUT.bake.toSeconds();
    return {
      endpoint: blueGreenRollout(
        this.min >= 2
          ? {
              type: 'CANARY',
              canarySize: { type: 'INSTANCE_COUNT', value: 1 },
              waitIntervalInSeconds: bake,
            }
          : { type: 'ALL_AT_ONCE', waitIntervalInSeconds: bake },
        alarmNames,
      ),
    };
  }
}
