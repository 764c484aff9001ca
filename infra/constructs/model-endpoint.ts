import { Lazy, Names, RemovalPolicy } from 'aws-cdk-lib';
import type * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { ENV, SERVER_ENV } from '#shared/contracts/env.ts';
import type { ContainerImage } from './container-image.ts';
import type { ModelData } from './model-data.ts';
import type { EndpointHosting } from './private/endpoint-hosting/hosting.ts';
import { InferenceComponentHosting } from './private/endpoint-hosting/inference-component.ts';
import { InstanceEndpointHosting } from './private/endpoint-hosting/instance.ts';
import { ServerlessEndpointHosting } from './private/endpoint-hosting/serverless.ts';
import {
  type EndpointHostingStrategy,
  type EndpointMode,
  type HostingContext,
  LOG_ACTIONS,
  MAX_ROLLBACK_ALARMS,
  type Rollout,
  sageMakerMetric,
  VARIANT_NAME,
} from './private/endpoint-hosting/strategy.ts';
import { PipelineRole } from './private/pipeline-role.ts';

export type {
  EndpointHosting,
  InstanceHosting,
  ServerlessHosting,
} from './private/endpoint-hosting/hosting.ts';
export {
  type EndpointMode,
  GPU_INFERENCE_AMI,
  hasLocalInstanceStorage,
  isGpuInstance,
  ROLLOUT,
  type Rollout,
} from './private/endpoint-hosting/strategy.ts';

export interface ModelEndpointProps {
  /** The model's name (its directory under model-artifacts/models); passed to the server as MODEL_NAME. */
  readonly modelName: string;
  readonly image: ContainerImage;
  readonly modelData: ModelData;
  readonly hosting: EndpointHosting;
  /**
   * Endpoint name; lower case because SageMaker lower-cases names in ARNs. The hosting mode adds
   * its suffix (none for instance hosting, `-zero` for scale to zero, `-serverless`), so a change
   * of mode is a new endpoint rather than an update across modes (docs/DEPLOY.md, "Safe rollout").
   * @default a unique name derived from the construct path
   */
  readonly endpointName?: string;
  /** Extra container environment. @default none */
  readonly environment?: Record<string, string>;
  /**
   * Key for the ML storage volume. Ignored (and must be) for instance types with local NVMe storage
   * (g5, g6, p4d, …: encrypted by the instance hardware) and for serverless endpoints.
   * @default AWS managed encryption
   */
  readonly volumeEncryptionKey?: kms.IKey;
  /** Retention of the endpoint's container logs. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs only; the model itself lives in the asset bucket) */
  readonly removalPolicy?: RemovalPolicy;
}

/** SageMaker tag values allow letters, digits, spaces and `_ . : / = + - @`. */
function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

/** The strategy for a hosting mode: instance (real-time), inference component (scale to zero) or serverless. */
function hostingStrategy(hosting: EndpointHosting, context: HostingContext): EndpointHostingStrategy {
  if (hosting.kind === 'serverless') return new ServerlessEndpointHosting(hosting);
  return hosting.scaleToZero
    ? new InferenceComponentHosting(hosting, context)
    : new InstanceEndpointHosting(hosting, context);
}

/**
 * One SageMaker model behind its own endpoint: CfnModel + CfnEndpointConfig + CfnEndpoint, an
 * execution role with only what the container needs and a pre-created log group with retention.
 * What differs between hosting modes (the production variant, an inference component for scale to
 * zero, Application Auto Scaling, the metrics' dimensions) is the mode's strategy
 * (private/endpoint-hosting/).
 */
export class ModelEndpoint extends Construct {
  /** The endpoint's name (what InvokeEndpoint takes). */
  readonly endpointName: string;
  /** The endpoint's ARN, as SageMaker reports it. */
  readonly endpointArn: string;
  /** Set in scale-to-zero mode: InvokeEndpoint must name it (`InferenceComponentName`). */
  readonly inferenceComponentName: string | undefined;
  readonly inferenceComponentArn: string | undefined;
  readonly inferenceComponent: sagemaker.CfnInferenceComponent | undefined;
  readonly variantName = VARIANT_NAME;
  readonly mode: EndpointMode;
  /** The role SageMaker assumes to pull the image, read the model data and write logs. */
  readonly role: iam.Role;
  /** The scaling target, when the hosting scales. */
  readonly scalableTarget: appscaling.ScalableTarget | undefined;
  readonly model: sagemaker.CfnModel;
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  readonly endpoint: sagemaker.CfnEndpoint;
  private readonly hosting: EndpointHostingStrategy;
  /** The name as written (not the attribute): what metrics and alarms use. */
  private readonly writtenEndpointName: string;
  private readonly rollbackAlarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    if (props.endpointName !== undefined && !/^[a-z0-9](-*[a-z0-9]){0,62}$/.test(props.endpointName)) {
      throw new Error(
        `endpointName must be lower-case alphanumerics and hyphens, ≤ 63 chars, got ${props.endpointName}`,
      );
    }
    // Named (not generated) so the log groups can be created with a retention before SageMaker writes.
    const baseName =
      props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase();
    const hosting = hostingStrategy(props.hosting, { path: this.node.path, endpointName: baseName });
    this.hosting = hosting;
    this.mode = hosting.mode;
    const suffix = hosting.endpointNameSuffix;
    const endpointName = `${baseName.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
    this.writtenEndpointName = endpointName;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // grantPull's ecr:GetAuthorizationToken on `*` is kept in a policy of its own (private/pipeline-role.ts).
    this.role = new PipelineRole(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker execution role for the ${props.modelName} model`,
    });
    const image = props.image.bind(this, this.role);
    const modelData = props.modelData.bind(this, this.role);

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: image.imageName,
        modelDataUrl: modelData.uri,
        mode: 'SingleModel',
        environment: {
          [SERVER_ENV.modelName]: props.modelName,
          // The server's session settings (shared/onnx/sessions.ts): CUDA on GPU hosts, and
          // no silent CPU fallback there: a GPU endpoint running on CPU must fail, not crawl.
          [ENV.ortExecutionProviders]: hosting.gpu ? 'cuda' : 'cpu',
          ...props.environment,
        },
      },
      // The container needs no network: SageMaker fetches the image and model data outside it.
      enableNetworkIsolation: hosting.networkIsolation,
      tags: props.modelData.identity
        ? [{ key: 'model-version', value: tagValue(props.modelData.identity.version) }]
        : undefined,
    });
    // SageMaker validates the role when the model is created: its policy must exist first.
    this.model.node.addDependency(this.role);

    const volumeKey = hosting.acceptsVolumeKey ? props.volumeEncryptionKey : undefined;
    volumeKey?.grantEncryptDecrypt(this.role);
    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      kmsKeyId: volumeKey?.keyArn,
      productionVariants: [hosting.productionVariant(this.model)],
      executionRoleArn: hosting.endpointConfigNeedsRole ? this.role.roleArn : undefined,
    });
    this.endpointConfig.node.addDependency(this.role);

    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
    });
    this.endpointName = this.endpoint.attrEndpointName;
    this.endpointArn = this.endpoint.attrEndpointArn;
    // Rendered at synth time, once every rollback alarm has been added.
    this.endpoint.deploymentConfig = Lazy.any({ produce: () => this.rollout().endpoint });

    // SageMaker writes container logs to these groups with the execution role; pre-creating them
    // sets a retention (otherwise they keep everything forever) and lets the grant name them exactly.
    const endpointLogs = new logs.LogGroup(this, 'EndpointLogs', {
      logGroupName: `/aws/sagemaker/Endpoints/${endpointName}`,
      retention: logRetention,
      removalPolicy,
    });
    endpointLogs.grant(this.role, ...LOG_ACTIONS);
    this.endpoint.node.addDependency(endpointLogs);

    const added = hosting.addTo({
      scope: this,
      role: this.role,
      model: this.model,
      endpoint: this.endpoint,
      logRetention,
      removalPolicy,
    });
    this.inferenceComponent = added.inferenceComponent;
    if (added.inferenceComponent) {
      added.inferenceComponent.deploymentConfig = Lazy.any({
        produce: () => this.rollout().inferenceComponent,
      });
    }
    this.inferenceComponentName = hosting.inferenceComponentName;
    this.inferenceComponentArn = added.inferenceComponent?.attrInferenceComponentArn;
    this.scalableTarget = added.scalableTarget;
  }

  /** Lets `grantee` invoke this endpoint (and its inference component): no other endpoint. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [this.endpointArn, ...(this.inferenceComponentArn ? [this.inferenceComponentArn] : [])],
    });
  }

  /**
   * Rolls an update of this endpoint (a new model version, new settings) back when `alarm` fires
   * during its rollout: blue/green traffic shifting on instance and serverless hosting, a rolling
   * update of the inference component with scale to zero. The alarm must watch this endpoint's
   * metrics (`metric*`), which name the endpoint as written, so it does not depend on the endpoint.
   */
  addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    if (this.rollbackAlarms.length >= MAX_ROLLBACK_ALARMS) {
      throw new Error(
        `SageMaker takes at most ${MAX_ROLLBACK_ALARMS} rollback alarms per endpoint, got one more for ${this.node.path}`,
      );
    }
    this.rollbackAlarms.push(alarm);
  }

  /** The deployment configuration of this endpoint's updates (docs/DEPLOY.md, "Safe rollout"). */
  rollout(): Rollout {
    return this.hosting.rollout(this.rollbackAlarms.map((alarm) => alarm.alarmName));
  }

  /** A metric of this endpoint in AWS/SageMaker, per inference component in scale-to-zero mode. */
  metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return sageMakerMetric(metricName, this.hosting.metricDimensions(this.writtenEndpointName), props);
  }

  /** Time the model container took to answer, in microseconds. @default p99 over 1 minute */
  metricModelLatency(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ModelLatency', { statistic: 'p99', unit: cloudwatch.Unit.MICROSECONDS, ...props });
  }

  /** Requests sent to the model. @default sum over 1 minute */
  metricInvocations(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocations', { statistic: 'Sum', ...props });
  }

  /** Requests the model answered with a 5xx. @default sum over 1 minute */
  metric5xx(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', { statistic: 'Sum', ...props });
  }

  /** Requests the model answered with a 4xx (bad tensors from the caller). @default sum over 1 minute */
  metric4xx(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', { statistic: 'Sum', ...props });
  }
}
