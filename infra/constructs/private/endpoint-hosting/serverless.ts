import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type { ServerlessHosting } from './hosting.ts';
import {
  type EndpointHostingStrategy,
  type HostingResources,
  VARIANT_NAME,
  variantDimensions,
} from './strategy.ts';

/**
 * SageMaker Serverless Inference: CPU only, billed per request and memory-second, scaled by
 * SageMaker itself (no autoscaling resources). No network isolation (not supported) and no volume key.
 */
export class ServerlessEndpointHosting implements EndpointHostingStrategy {
  readonly mode = 'serverless';
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
}
