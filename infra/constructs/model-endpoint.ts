import { Aws, Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ContainerImage } from './container-image.ts';
import type { ModelData } from './model-data.ts';
import {
  acknowledgeWildcards,
  arnPatternFinding,
  type Finding,
  GRANT_ACTION_FINDINGS,
} from './private/nag.ts';

/** A model on dedicated instances. */
export interface InstanceHosting {
  readonly kind: 'instance';
  /** e.g. `ml.g5.xlarge`. */
  readonly instanceType: string;
  /**
   * Floor of the autoscaling range. 0 is allowed only for asynchronous endpoints; scale-to-zero
   * endpoints always scale their inference component from 0.
   * @default 1 (0 for asynchronous endpoints)
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

/** Asynchronous inference: requests and responses go through S3, completions are announced on SNS. */
export interface AsyncInferenceOptions {
  /** Holds `<prefix>inputs/` (written by the caller), `<prefix>outputs/` and `<prefix>failures/`. */
  readonly bucket: s3.IBucket;
  /** @default `<model name>/` */
  readonly prefix?: string;
  readonly successTopic: sns.ITopic;
  readonly errorTopic: sns.ITopic;
  /** @default 4 */
  readonly maxConcurrentInvocationsPerInstance?: number;
  /**
   * Target tracking value for `ApproximateBacklogSizePerInstance`.
   * @default 5
   */
  readonly targetBacklogPerInstance?: number;
}

export interface ModelEndpointProps {
  /** The model's name (its directory under model-artifacts/models); passed to the server as MODEL_NAME. */
  readonly modelName: string;
  readonly image: ContainerImage;
  readonly modelData: ModelData;
  readonly hosting: EndpointHosting;
  /**
   * Makes this an asynchronous endpoint (instance hosting only, no scale-to-zero components: an
   * asynchronous endpoint scales its instances to zero by itself).
   * @default synchronous
   */
  readonly asyncInference?: AsyncInferenceOptions;
  /**
   * Endpoint name; lower case because SageMaker lower-cases names in ARNs.
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

/** How the endpoint hosts its model, which decides its metrics' dimensions and its scaling. */
export type EndpointMode = 'instance' | 'inference-component' | 'serverless' | 'async';

const VARIANT_NAME = 'AllTraffic';
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'];

/** Families whose instances carry local NVMe storage, on which SageMaker rejects a volume KMS key. */
const LOCAL_STORAGE_FAMILY = /^ml\.(g4dn|g5|g6|g6e|gr6|p3dn|p4d|p4de|p5|p5e|p5en|[a-z]+\d+[a-z]*d)\./;
const GPU_FAMILY = /^ml\.(g\d|p\d)/;

/** SageMaker tag values allow letters, digits, spaces and `_ . : / = + - @`. */
function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

export function hasLocalInstanceStorage(instanceType: string): boolean {
  return LOCAL_STORAGE_FAMILY.test(instanceType);
}

export function isGpuInstance(instanceType: string): boolean {
  return GPU_FAMILY.test(instanceType);
}

/**
 * One SageMaker model behind its own endpoint: CfnModel + CfnEndpointConfig + CfnEndpoint (and a
 * CfnInferenceComponent for scale-to-zero), an execution role with only what the container needs,
 * pre-created log groups with retention, and Application Auto Scaling for the chosen hosting.
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

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const { hosting } = props;
    if (props.endpointName !== undefined && !/^[a-z0-9](-*[a-z0-9]){0,62}$/.test(props.endpointName)) {
      throw new Error(
        `endpointName must be lower-case alphanumerics and hyphens, ≤ 63 chars, got ${props.endpointName}`,
      );
    }
    this.mode = props.asyncInference
      ? 'async'
      : hosting.kind === 'serverless'
        ? 'serverless'
        : hosting.scaleToZero
          ? 'inference-component'
          : 'instance';
    if (this.mode === 'async' && (hosting.kind !== 'instance' || hosting.scaleToZero)) {
      throw new Error(
        `asynchronous inference needs instance hosting without scaleToZero (model ${props.modelName})`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker execution role for the ${props.modelName} model`,
    });
    const image = props.image.bind(this, this.role);
    const modelData = props.modelData.bind(this, this.role);
    const gpu = hosting.kind === 'instance' && isGpuInstance(hosting.instanceType);

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: image.imageName,
        modelDataUrl: modelData.uri,
        mode: 'SingleModel',
        environment: {
          MODEL_NAME: props.modelName,
          // The server's session settings (shared/onnx/sessions.ts): CUDA on GPU hosts, and
          // no silent CPU fallback there: a GPU endpoint running on CPU must fail, not crawl.
          ORT_EXECUTION_PROVIDERS: gpu ? 'cuda' : 'cpu',
          ...props.environment,
        },
      },
      // The container needs no network: SageMaker fetches the image and model data outside it.
      // Serverless Inference does not support network isolation.
      enableNetworkIsolation: this.mode !== 'serverless',
      tags: props.modelData.identity
        ? [{ key: 'model-version', value: tagValue(props.modelData.identity.version) }]
        : undefined,
    });
    // SageMaker validates the role when the model is created: its policy must exist first.
    this.model.node.addDependency(this.role);

    const kmsKeyId =
      props.volumeEncryptionKey &&
      hosting.kind === 'instance' &&
      !hasLocalInstanceStorage(hosting.instanceType)
        ? props.volumeEncryptionKey.keyArn
        : undefined;
    if (kmsKeyId && props.volumeEncryptionKey) props.volumeEncryptionKey.grantEncryptDecrypt(this.role);

    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      kmsKeyId,
      productionVariants: [this.productionVariant(hosting)],
      // Inference components are deployed with the endpoint config's role.
      executionRoleArn: this.mode === 'inference-component' ? this.role.roleArn : undefined,
      asyncInferenceConfig: props.asyncInference
        ? this.asyncConfig(props.modelName, props.asyncInference)
        : undefined,
    });
    this.endpointConfig.node.addDependency(this.role);

    // Named (not generated) so the log groups can be created with a retention before SageMaker writes.
    const endpointName =
      props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase();
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
    });
    this.endpointName = this.endpoint.attrEndpointName;
    this.endpointArn = this.endpoint.attrEndpointArn;

    // SageMaker writes container logs to these groups with the execution role; pre-creating them
    // sets a retention (otherwise they keep everything forever) and lets the grant name them exactly.
    const endpointLogs = new logs.LogGroup(this, 'EndpointLogs', {
      logGroupName: `/aws/sagemaker/Endpoints/${endpointName}`,
      retention,
      removalPolicy,
    });
    endpointLogs.grant(this.role, ...LOG_ACTIONS);
    this.endpoint.node.addDependency(endpointLogs);

    if (this.mode === 'inference-component' && hosting.kind === 'instance') {
      const componentName = `${endpointName.slice(0, 60)}-ic`;
      const component = new sagemaker.CfnInferenceComponent(this, 'InferenceComponent', {
        inferenceComponentName: componentName,
        endpointName: this.endpoint.attrEndpointName,
        variantName: VARIANT_NAME,
        specification: {
          modelName: this.model.attrModelName,
          computeResourceRequirements: {
            minMemoryRequiredInMb: hosting.memoryPerCopyMb ?? 2048,
            numberOfAcceleratorDevicesRequired: gpu ? 1 : undefined,
            numberOfCpuCoresRequired: gpu ? undefined : 1,
          },
        },
        // One copy at creation (CloudFormation waits for it to be in service); autoscaling takes it to 0.
        runtimeConfig: { copyCount: 1 },
      });
      this.inferenceComponent = component;
      this.inferenceComponentName = componentName;
      this.inferenceComponentArn = component.attrInferenceComponentArn;
      const icLogs = new logs.LogGroup(this, 'InferenceComponentLogs', {
        logGroupName: `/aws/sagemaker/InferenceComponents/${componentName}`,
        retention,
        removalPolicy,
      });
      icLogs.grant(this.role, ...LOG_ACTIONS);
      component.node.addDependency(icLogs);
    }

    this.scalableTarget = this.configureScaling(hosting, props.asyncInference);
  }

  private productionVariant(hosting: EndpointHosting): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
    if (hosting.kind === 'serverless') {
      return {
        variantName: VARIANT_NAME,
        modelName: this.model.attrModelName,
        serverlessConfig: {
          memorySizeInMb: hosting.memorySizeMb,
          maxConcurrency: hosting.maxConcurrency,
          provisionedConcurrency: hosting.provisionedConcurrency || undefined,
        },
      };
    }
    const { min, max } = this.instanceRange(hosting);
    if (this.mode === 'inference-component') {
      return {
        variantName: VARIANT_NAME,
        instanceType: hosting.instanceType,
        initialInstanceCount: 1,
        // Instances follow the components' copies, down to none.
        managedInstanceScaling: { status: 'ENABLED', minInstanceCount: 0, maxInstanceCount: max },
        routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
      };
    }
    return {
      variantName: VARIANT_NAME,
      modelName: this.model.attrModelName,
      instanceType: hosting.instanceType,
      // An endpoint is created with at least one instance; autoscaling may take an async one to 0.
      initialInstanceCount: Math.max(1, min),
      initialVariantWeight: 1,
      routingConfig: this.mode === 'instance' ? { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' } : undefined,
    };
  }

  private instanceRange(hosting: InstanceHosting): { min: number; max: number } {
    const min = hosting.minInstances ?? (this.mode === 'async' ? 0 : 1);
    if (min < 0 || (min === 0 && this.mode === 'instance')) {
      throw new Error(
        `minInstances must be ≥ 1 for a synchronous endpoint (use scaleToZero to idle at 0), got ${min} for ${this.node.path}`,
      );
    }
    const max = hosting.maxInstances ?? Math.max(1, min);
    if (max < Math.max(1, min)) {
      throw new Error(`maxInstances must be ≥ max(1, minInstances), got ${max} for ${this.node.path}`);
    }
    return { min, max };
  }

  private asyncConfig(
    modelName: string,
    options: AsyncInferenceOptions,
  ): sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty {
    const prefix = options.prefix ?? `${modelName}/`;
    // SageMaker reads the request from S3 and writes the response there with the execution role.
    options.bucket.grantRead(this.role, `${prefix}inputs/*`);
    options.bucket.grantPut(this.role, `${prefix}outputs/*`);
    options.bucket.grantPut(this.role, `${prefix}failures/*`);
    options.successTopic.grantPublish(this.role);
    options.errorTopic.grantPublish(this.role);
    const prefixFindings: Finding[] = ['inputs', 'outputs', 'failures'].flatMap((dir) => {
      const id = arnPatternFinding(options.bucket, `${prefix}${dir}/*`);
      return id
        ? [
            [
              id,
              `Async ${dir} objects are named per request at run time; limited to this model's prefix.`,
            ] as const,
          ]
        : [];
    });
    acknowledgeWildcards(this.role, [
      ...prefixFindings,
      ...GRANT_ACTION_FINDINGS.s3Read,
      ...GRANT_ACTION_FINDINGS.s3Put,
      ...GRANT_ACTION_FINDINGS.kms,
    ]);
    return {
      outputConfig: {
        s3OutputPath: options.bucket.s3UrlForObject(`${prefix}outputs`),
        s3FailurePath: options.bucket.s3UrlForObject(`${prefix}failures`),
        kmsKeyId: options.bucket.encryptionKey?.keyArn,
        notificationConfig: {
          successTopic: options.successTopic.topicArn,
          errorTopic: options.errorTopic.topicArn,
          includeInferenceResponseIn: ['SUCCESS_NOTIFICATION_TOPIC'],
        },
      },
      clientConfig: { maxConcurrentInvocationsPerInstance: options.maxConcurrentInvocationsPerInstance ?? 4 },
    };
  }

  private configureScaling(
    hosting: EndpointHosting,
    asyncOptions: AsyncInferenceOptions | undefined,
  ): appscaling.ScalableTarget | undefined {
    if (hosting.kind === 'serverless') return undefined;
    const { min, max } = this.instanceRange(hosting);
    // The service-linked role; CloudFormation creates it on first use when given its ARN.
    const role = iam.Role.fromRoleArn(
      this,
      'AutoScalingRole',
      `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
      { mutable: false },
    );

    if (this.mode === 'inference-component') {
      const target = new appscaling.ScalableTarget(this, 'ScalableTarget', {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `inference-component/${this.inferenceComponentName}`,
        scalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        minCapacity: 0,
        maxCapacity: max,
        role,
      });
      // The target names the component by its (fixed) name: register it only once the component exists.
      if (this.inferenceComponent) target.node.addDependency(this.inferenceComponent);
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
      this.addScaleOutFromZero(target, this.metric('NoCapacityInvocationFailures', { statistic: 'Sum' }));
      return target;
    }

    const target = new appscaling.ScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `endpoint/${this.endpointName}/variant/${VARIANT_NAME}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: min,
      maxCapacity: max,
      role,
    });
    if (this.mode === 'async') {
      target.scaleToTrackMetric('BacklogPerInstance', {
        customMetric: this.metricBacklogPerInstance(),
        targetValue: asyncOptions?.targetBacklogPerInstance ?? 5,
        scaleInCooldown: Duration.minutes(10),
        scaleOutCooldown: Duration.minutes(2),
      });
      if (min === 0) {
        this.addScaleOutFromZero(
          target,
          new cloudwatch.Metric({
            namespace: 'AWS/SageMaker',
            metricName: 'HasBacklogWithoutCapacity',
            dimensionsMap: { EndpointName: this.endpointName },
            statistic: 'Average',
            period: Duration.minutes(1),
          }),
        );
      }
      return target;
    }
    target.scaleToTrackMetric('InvocationsPerInstance', {
      predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
      targetValue: (hosting as InstanceHosting).targetInvocationsPerInstance ?? 1000,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
    return target;
  }

  private addScaleOutFromZero(target: appscaling.ScalableTarget, trigger: cloudwatch.IMetric): void {
    const action = new appscaling.StepScalingAction(this, 'ScaleOutFromZero', {
      scalingTarget: target,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.minutes(1),
    });
    action.addAdjustment({ adjustment: 1, lowerBound: 0 });
    const alarm = new cloudwatch.Alarm(this, 'NoCapacityAlarm', {
      alarmDescription: `${this.node.path}: requests found no capacity; adds the first copy/instance`,
      metric: trigger,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.ApplicationScalingAction(action));
  }

  /** Lets `grantee` invoke this endpoint (and its inference component): no other endpoint. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: this.mode === 'async' ? ['sagemaker:InvokeEndpointAsync'] : ['sagemaker:InvokeEndpoint'],
      resourceArns: [this.endpointArn, ...(this.inferenceComponentArn ? [this.inferenceComponentArn] : [])],
    });
  }

  /** A metric of this endpoint in AWS/SageMaker, per inference component in scale-to-zero mode. */
  metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    const dimensionsMap: cloudwatch.DimensionsMap =
      this.mode === 'inference-component' && this.inferenceComponentName
        ? { InferenceComponentName: this.inferenceComponentName }
        : { EndpointName: this.endpointName, VariantName: VARIANT_NAME };
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      dimensionsMap,
      period: Duration.minutes(1),
      ...props,
    });
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

  /** Asynchronous requests waiting, per instance (async endpoints). @default average over 1 minute */
  metricBacklogPerInstance(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName: 'ApproximateBacklogSizePerInstance',
      dimensionsMap: { EndpointName: this.endpointName },
      statistic: 'Average',
      period: Duration.minutes(1),
      ...props,
    });
  }
}
