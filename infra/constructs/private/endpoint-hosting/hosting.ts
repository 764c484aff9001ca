/** How a model endpoint is hosted: the `hosting` prop of `ModelEndpoint` (infra/constructs/model-endpoint.ts). */

/** A model on dedicated instances. */
export interface InstanceHosting {
  readonly kind: 'instance';
  /** e.g. `ml.g5.xlarge`. */
  readonly instanceType: string;
  /**
   * Floor of the autoscaling range, at least 1. Ignored with `scaleToZero`, whose inference
   * component always scales from 0.
   * @default 1
   */
  readonly minInstances?: number;
  /** @default minInstances (at least 1) */
  readonly maxInstances?: number;
  /**
   * Target tracking value, invocations per instance per minute.
   * @default 1000
   */
  readonly targetInvocationsPerInstance?: number;
  /**
   * Host the model as an inference component on an endpoint with managed instance scaling down
   * to 0 instances: no cost while idle, a cold start of minutes on the first request after.
   * @default false
   */
  readonly scaleToZero?: boolean;
  /**
   * Memory reserved per inference component copy.
   * @default 2048
   */
  readonly memoryPerCopyMb?: number;
}

/** A model on SageMaker Serverless Inference (CPU, billed per request and memory-second). */
export interface ServerlessHosting {
  readonly kind: 'serverless';
  readonly memorySizeMb: number;
  readonly maxConcurrency: number;
  /** @default no provisioned concurrency */
  readonly provisionedConcurrency?: number;
}

export type EndpointHosting = InstanceHosting | ServerlessHosting;
