import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { ServerlessHosting } from './hosting.ts';
import {
  blueGreenRollout,
  type EndpointHostingStrategy,
  type HostingResources,
  ROLLOUT,
  type Rollout,
  VARIANT_NAME,
  variantDimensions,
} from './strategy.ts';

/**
 * SageMaker Serverless Inference: CPU only, billed per request and memory-second, scaled by
 * SageMaker itself (no autoscaling resources). No network isolation (not supported) and no volume key.
 */
export class ServerlessEndpointHosting implements EndpointHostingStrategy {
  readonly mode = 'serverless';
  readonly endpointNameSuffix = '-serverless';
  readonly gpu = false;
  readonly networkIsolation = false;
  readonly acceptsVolumeKey = false;
  readonly endpointConfigNeedsRole = false;

  constructor(private readonly hosting: ServerlessHosting) {}

  productionVariant(model: sagemaker.CfnModel): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
    return {
      variantName: VARIANT_NAME,
      modelName: model.attrModelName,
      serverlessConfig: {
        memorySizeInMb: this.hosting.memorySizeMb,
        maxConcurrency: this.hosting.maxConcurrency,
        provisionedConcurrency: this.hosting.provisionedConcurrency || undefined,
      },
    };
  }

  addTo(): HostingResources {
    return {};
  }

  metricDimensions(endpointName: string): cloudwatch.DimensionsMap {
    return variantDimensions(endpointName);
  }

  /**
   * Blue/green, all at once, then watched for `ROLLOUT.bake` before the old capacity goes: a
   * serverless variant has no instances to split into a canary (and rolling updates exclude
   * serverless endpoints). An alarm during the watch rolls back.
   */
  rollout(alarmNames: readonly string[]): Rollout {
    return {
      endpoint: blueGreenRollout(
        { type: 'ALL_AT_ONCE', waitIntervalInSeconds: ROLLOUT.bake.toSeconds() },
        alarmNames,
      ),
    };
  }
}
