import { Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEPT_INPUTS } from '#shared/contracts/kept-inputs.ts';
import { SecureBucket } from './private/secure-bucket.ts';
import { WorkQueue, type WorkQueueMetrics } from './private/work-queue.ts';

export interface UploadsLifecycle {
  /** Move current raw uploads to Standard-IA after this long. @default never */
  readonly transitionToInfrequentAccessAfter?: Duration;
  /** Expire raw uploads after this long. @default never */
  readonly expireAfter?: Duration;
  /** Expire overwritten/deleted versions after this long. @default 30 days */
  readonly noncurrentVersionExpiration?: Duration;
  /** Abort multipart uploads left incomplete after this long. @default 1 day */
  readonly abortIncompleteMultipartUploadAfter?: Duration;
}

export interface IngestProps {
  /** Key prefix whose new objects are moderated. @default 'uploads/' */
  readonly uploadsPrefix?: string;
  /**
   * The uploads bucket's name. Named up front so the queue policy can name the bucket without
   * referencing it (the notification is then plain CloudFormation, no custom resource).
   * @default `<stack name>-uploads-<account>-<region>`, lower case
   */
  readonly bucketName?: string;
  /**
   * Timeout of the function that consumes the queue: the visibility timeout is 6 × this plus the
   * batching window, as Lambda recommends, so a slow batch is never handed to a second consumer.
   * @default 1 minute
   */
  readonly consumerTimeout?: Duration;
  /** The consumer's maximum batching window. @default none */
  readonly maxBatchingWindow?: Duration;
  /** Deliveries before a message is dead-lettered. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default see UploadsLifecycle */
  readonly lifecycle?: UploadsLifecycle;
  /**
   * Expiry of kept model inputs (KEEP_INPUTS, under `inputs/`): user content kept for replay with
   * another model pack, so it goes when this passes whether or not anything keeps them now.
   * @default 30 days
   */
  readonly keptInputsExpiration?: Duration;
  /** Bucket for S3 server access logs. @default a new SSE-S3 bucket (log delivery cannot write SSE-KMS) */
  readonly accessLogsBucket?: s3.IBucket;
  /** Expiry of the access logs, when this construct creates their bucket. @default 90 days */
  readonly accessLogsExpiration?: Duration;
  /**
   * For the keys, queues and the access-log bucket. The uploads bucket has a fixed name, so where
   * this is `RETAIN` it gets `RETAIN_ON_UPDATE_OR_DELETE`: a first create that fails and rolls
   * back deletes the (empty) bucket instead of leaving a name that blocks the next deploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where uploads land: a versioned, KMS-encrypted bucket whose new objects under the uploads prefix
 * are announced on an SQS queue (with its own key and a dead-letter queue).
 */
export class Ingest extends Construct implements WorkQueueMetrics {
  readonly bucket: s3.Bucket;
  readonly bucketKey: kms.Key;
  readonly accessLogsBucket: s3.IBucket;
  /** The ingest queue, its dead-letter queue and their key. */
  readonly work: WorkQueue;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Separate from the bucket key: one key for both makes a dependency cycle (bucket ↔ queue). */
  readonly queueKey: kms.Key;
  readonly uploadsPrefix: string;
  /** Where kept model inputs go (shared/contracts/kept-inputs.ts), outside the notified prefix. */
  readonly inputsPrefix: string = KEPT_INPUTS.prefix;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: IngestProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.uploadsPrefix = props.uploadsPrefix ?? 'uploads/';
    if (!this.uploadsPrefix.endsWith('/')) {
      throw new Error(`uploadsPrefix must end with '/', got ${this.uploadsPrefix}`);
    }
    // Kept inputs under the notified prefix would be moderated as uploads (and keep inputs in turn).
    if (
      this.inputsPrefix.startsWith(this.uploadsPrefix) ||
      this.uploadsPrefix.startsWith(this.inputsPrefix)
    ) {
      throw new Error(
        `uploadsPrefix must not overlap the kept-inputs prefix ${this.inputsPrefix}, got ${this.uploadsPrefix}`,
      );
    }
    const stack = Stack.of(this);
    const bucketName =
      props.bucketName ?? `${stack.stackName.toLowerCase()}-uploads-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
    if (!Token.isUnresolved(bucketName) && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) {
      throw new Error(`bucketName must be a valid S3 bucket name, got ${bucketName}`);
    }
    const bucketArn = stack.formatArn({ service: 's3', region: '', account: '', resource: bucketName });

    this.accessLogsBucket =
      props.accessLogsBucket ??
      new SecureBucket(this, 'AccessLogs', {
        purpose: 'access-logs',
        lifecycleRules: [{ expiration: props.accessLogsExpiration ?? Duration.days(90) }],
        removalPolicy,
      });

    this.bucketKey = new kms.Key(this, 'BucketKey', {
      description: `Uploads bucket of ${stack.stackName}`,
      enableKeyRotation: true,
      removalPolicy,
    });
    const lifecycle = props.lifecycle ?? {};
    this.bucket = new SecureBucket(this, 'Uploads', {
      bucketName,
      encryptionKey: this.bucketKey,
      serverAccessLogs: { bucket: this.accessLogsBucket, prefix: 'uploads-bucket/' },
      lifecycleRules: [
        {
          id: 'raw-uploads',
          prefix: this.uploadsPrefix,
          noncurrentVersionExpiration: lifecycle.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter:
            lifecycle.abortIncompleteMultipartUploadAfter ?? Duration.days(1),
          expiration: lifecycle.expireAfter,
          transitions: lifecycle.transitionToInfrequentAccessAfter
            ? [
                {
                  storageClass: s3.StorageClass.INFREQUENT_ACCESS,
                  transitionAfter: lifecycle.transitionToInfrequentAccessAfter,
                },
              ]
            : undefined,
        },
        {
          id: 'kept-inputs',
          prefix: this.inputsPrefix,
          expiration: props.keptInputsExpiration ?? Duration.days(KEPT_INPUTS.defaultExpirationDays),
          // A redelivery rewrites the same key: the version it replaces goes the next day.
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Delete markers left once every version of a key has expired.
        { id: 'expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy:
        removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : removalPolicy,
    });

    this.queueKey = new kms.Key(this, 'QueueKey', {
      description: `Ingest queues of ${stack.stackName}`,
      enableKeyRotation: true,
      removalPolicy,
    });
    // S3 encrypts notifications with the queue's key, so it must be allowed to use it: this bucket only.
    this.queueKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': bucketArn },
        },
      }),
    );

    // Id `Default`: the queues keep the logical ids they had as children of this construct.
    this.work = new WorkQueue(this, 'Default', {
      consumerTimeout: props.consumerTimeout,
      maxBatchingWindow: props.maxBatchingWindow,
      maxReceiveCount: props.maxReceiveCount,
      encryptionKey: this.queueKey,
      removalPolicy,
    });
    this.queue = this.work.queue;
    this.deadLetterQueue = this.work.deadLetterQueue;
    this.maxReceiveCount = this.work.maxReceiveCount;
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': bucketArn },
        },
      }),
    );

    // The notification as plain CloudFormation instead of the BucketNotifications custom resource
    // (a Lambda with a managed policy and s3:PutBucketNotification on *). S3 checks that it may
    // write to the queue when the bucket is created, hence the dependency on the queue policy.
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      queueConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          queue: this.queue.queueArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: this.uploadsPrefix }] } },
        },
      ],
    };
    const queuePolicy = this.queue.node.tryFindChild('Policy');
    if (!queuePolicy) throw new Error(`ingest queue ${this.queue.node.path} has no queue policy`);
    cfnBucket.node.addDependency(queuePolicy);
    cfnBucket.node.addDependency(this.queueKey);
  }

  /** Read access to uploaded objects (any version) under the uploads prefix. */
  grantReadUploads(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantRead(grantee, `${this.uploadsPrefix}*`);
  }

  /**
   * Write kept model inputs (KEEP_INPUTS): put under the inputs prefix only, encrypted with the
   * bucket key; no read, list or delete (replay reads them with an operator's credentials).
   */
  grantPutInputs(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantPut(grantee, `${this.inputsPrefix}*`);
  }

  /** Read and replace the tags of uploaded objects (verdict tags), nothing else. */
  grantTagUploads(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        's3:GetObjectTagging',
        's3:GetObjectVersionTagging',
        's3:PutObjectTagging',
        's3:PutObjectVersionTagging',
      ],
      resourceArns: [this.bucket.arnForObjects(`${this.uploadsPrefix}*`)],
    });
  }

  /** Age of the oldest message waiting in the ingest queue. @default maximum over 1 minute */
  metricOldestMessageAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricOldestMessageAge(props);
  }

  /** Messages waiting in the ingest queue. @default maximum over 1 minute */
  metricQueueDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricQueueDepth(props);
  }

  /** Messages waiting in the dead-letter queue. @default maximum over 1 minute */
  metricDeadLetterDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricDeadLetterDepth(props);
  }

  /**
   * Messages read from the dead-letter queue (each one an upload that failed `maxReceiveCount`
   * times). @default sum over 5 minutes
   */
  metricDeadLetterArrivals(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricDeadLetterArrivals(props);
  }
}
