import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import type { InstanceHosting } from './hosting.ts';
import {
  autoScalingRole,
  type EndpointHostingStrategy,
  type EndpointParts,
  GPU_INFERENCE_AMI,
  type HostingContext,
  type HostingResources,
  hasLocalInstanceStorage,
  instanceRange,
  isGpuInstance,
  LOG_ACTIONS,
  ROLLOUT,
  type Rollout,
  rollbackAlarms,
  sageMakerMetric,
  VARIANT_NAME,
} from './strategy.ts';

/**
 * Scale to zero: the model as an inference component on an endpoint whose instances follow the
 * component's copies (managed instance scaling) down to none. No cost while idle; the first
 * request after costs a cold start of minutes. Copies scale on concurrent requests per copy, and
 * out of 0 on `NoCapacityInvocationFailures`.
 */
export class InferenceComponentHosting implements EndpointHostingStrategy {
  readonly mode = 'inference-component';
  readonly endpointNameSuffix = '-zero';
  readonly gpu: boolean;
  readonly networkIsolation = true;
  readonly acceptsVolumeKey: boolean;
  readonly endpointConfigNeedsRole = true;
  readonly inferenceComponentName: string;
  /** The most copies, and instances. */
  private readonly max: number;

  constructor(
    private readonly hosting: InstanceHosting,
    { path, endpointName }: HostingContext,
  ) {
    // minInstances does not apply: copies (and with them instances) always scale from 0.
    this.max = instanceRange(hosting, { minZeroAllowed: true, path }).max;
    this.inferenceComponentName = `${endpointName.slice(0, 60)}-ic`;
    this.gpu = isGpuInstance(hosting.instanceType);
    this.acceptsVolumeKey = !hasLocalInstanceStorage(hosting.instanceType);
  }

  productionVariant(): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
    // No model here: the inference component brings it.
    return {
      variantName: VARIANT_NAME,
      instanceType: this.hosting.instanceType,
      // A host whose driver runs the image's CUDA (strategy.ts).
      inferenceAmiVersion: this.gpu ? GPU_INFERENCE_AMI.version : undefined,
      initialInstanceCount: 1,
      // Instances follow the components' copies, down to none.
      managedInstanceScaling: { status: 'ENABLED', minInstanceCount: 0, maxInstanceCount: this.max },
      routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
    };
  }

  addTo(parts: EndpointParts): HostingResources {
    const { scope } = parts;
    const componentName = this.inferenceComponentName;
    const component = new sagemaker.CfnInferenceComponent(scope, 'InferenceComponent', {
      inferenceComponentName: componentName,
      endpointName: parts.endpoint.attrEndpointName,
      variantName: VARIANT_NAME,
      specification: {
        modelName: parts.model.attrModelName,
        computeResourceRequirements: {
          minMemoryRequiredInMb: this.hosting.memoryPerCopyMb ?? 2048,
          numberOfAcceleratorDevicesRequired: this.gpu ? 1 : undefined,
          numberOfCpuCoresRequired: this.gpu ? undefined : 1,
        },
      },
      // One copy at creation (CloudFormation waits for it to be in service); autoscaling takes it to 0.
      runtimeConfig: { copyCount: 1 },
    });
    const componentLogs = new logs.LogGroup(scope, 'InferenceComponentLogs', {
      logGroupName: `/aws/sagemaker/InferenceComponents/${componentName}`,
      retention: parts.logRetention,
      removalPolicy: parts.removalPolicy,
    });
    componentLogs.grant(parts.role, ...LOG_ACTIONS);
    component.node.addDependency(componentLogs);

    const target = new appscaling.ScalableTarget(scope, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `inference-component/${componentName}`,
      scalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
      minCapacity: 0,
      maxCapacity: this.max,
      role: autoScalingRole(scope),
    });
    // The target names the component by its (fixed) name: register it only once the component exists.
    target.node.addDependency(component);
    target.scaleToTrackMetric('ConcurrentRequestsPerCopy', {
      predefinedMetric:
        appscaling.PredefinedMetric
          .SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION,
      targetValue: 4,
      // Idle for this long before the last copy (and with it the last instance) goes.
      scaleInCooldown: Duration.minutes(15),
      scaleOutCooldown: Duration.minutes(1),
    });
    // Target tracking cannot leave 0 (no copy, no metric): a request that finds no capacity
    // raises NoCapacityInvocationFailures, which adds the first copy.
    addScaleOutFromZero(
      scope,
      target,
      sageMakerMetric('NoCapacityInvocationFailures', this.metricDimensions(), { statistic: 'Sum' }),
    );
    return { inferenceComponent: component, scalableTarget: target };
  }

  /**
   * The model lives in the component, so a new version updates the component, not the endpoint:
   * a rolling update of half the copies at a time, each batch watched for `ROLLOUT.bake`, rolled
   * back when an alarm fires (blue/green traffic shifting does not apply to inference components).
   * A percentage rather than one copy: SageMaker takes a batch of 5–50 % of the copies, and one
   * copy is 100 % of a single-copy component. At 0 copies there is nothing to roll: the update
   * completes at once and the next copies start the new version.
   */
  rollout(alarmNames: readonly string[]): Rollout {
    return {
      inferenceComponent: {
        rollingUpdatePolicy: {
          maximumBatchSize: { type: 'CAPACITY_PERCENT', value: 50 },
          waitIntervalInSeconds: ROLLOUT.bake.toSeconds(),
          maximumExecutionTimeoutInSeconds: ROLLOUT.timeout.toSeconds(),
        },
        autoRollbackConfiguration: rollbackAlarms(alarmNames),
      },
    };
  }

  /** Per inference component, the unit that scales (and the one SageMaker reports model metrics for). */
  metricDimensions(): cloudwatch.DimensionsMap {
    return { InferenceComponentName: this.inferenceComponentName };
  }
}

/** A step scaling action that adds one copy when `trigger` reaches 1, on an alarm. */
function addScaleOutFromZero(
  scope: Construct,
  target: appscaling.ScalableTarget,
  trigger: cloudwatch.IMetric,
): void {
  const action = new appscaling.StepScalingAction(scope, 'ScaleOutFromZero', {
    scalingTarget: target,
    adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    cooldown: Duration.minutes(1),
  });
  action.addAdjustment({ adjustment: 1, lowerBound: 0 });
  const alarm = new cloudwatch.Alarm(scope, 'NoCapacityAlarm', {
    alarmDescription: `${scope.node.path}: requests found no capacity; adds the first copy/instance`,
    metric: trigger,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.ApplicationScalingAction(action));
}
