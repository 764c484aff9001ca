import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's longest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** The metrics a work queue is watched by (infra/constructs/observability.ts alarms on them). */
export interface WorkQueueMetrics {
  /** Age of the oldest message waiting. @default maximum over 1 minute */
  metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Messages waiting in the dead-letter queue. @default maximum over 1 minute */
  metricDeadLetterDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Messages read from the dead-letter queue. @default sum over 5 minutes */
  metricDeadLetterArrivals(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

export interface WorkQueueProps {
  /**
   * Timeout of the function that consumes the queue: the visibility timeout is 6 × this plus the
   * batching window, as Lambda recommends, so a slow batch is never handed to a second consumer.
   * @default 1 minute
   */
  readonly consumerTimeout?: Duration;
  /** The consumer's maximum batching window. @default none */
  readonly maxBatchingWindow?: Duration;
  /**
   * Timeout of the function that consumes the dead-letter queue (the dead-letter function, 30 s):
   * the dead-letter queue's visibility timeout is 6 × this, for the same reason as the queue's.
   * @default 1 minute
   */
  readonly deadLetterConsumerTimeout?: Duration;
  /** Deliveries before a message is dead-lettered. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * The key of both queues. Pass one when its policy must admit a service that sends to the queue
   * (S3 notifications).
   * @default a new key with rotation, child `Key`
   */
  readonly encryptionKey?: kms.Key;
  /** Description of the key created when none is given. @default `Work queues of <stack name>` */
  readonly keyDescription?: string;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A queue that a Lambda function consumes, with what every such queue of the pipeline has: a KMS
 * key (both queues), TLS required, and a dead-letter queue after `maxReceiveCount` deliveries that
 * keeps messages longer than the queue does (a standard queue keeps the original enqueue time).
 * Used by `Ingest` and `LongMediaQueue` under the id `Default`, which CDK leaves out of logical
 * ids: their queues keep the ids they had as direct children.
 */
export class WorkQueue extends Construct implements WorkQueueMetrics {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly key: kms.Key;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: WorkQueueProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    const consumerTimeout = props.consumerTimeout ?? Duration.minutes(1);
    const window = props.maxBatchingWindow ?? Duration.seconds(0);
    const visibility = 6 * consumerTimeout.toSeconds() + window.toSeconds();
    if (visibility > MAX_VISIBILITY_SECONDS) {
      throw new Error(
        `visibility timeout (6 × consumerTimeout + maxBatchingWindow) must be at most 12 hours, got ${visibility} s`,
      );
    }
    const deadLetterVisibility = 6 * (props.deadLetterConsumerTimeout ?? Duration.minutes(1)).toSeconds();
    if (deadLetterVisibility > MAX_VISIBILITY_SECONDS) {
      throw new Error(
        `dead-letter visibility timeout (6 × deadLetterConsumerTimeout) must be at most 12 hours, got ${deadLetterVisibility} s`,
      );
    }
    this.key =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: props.keyDescription ?? `Work queues of ${Stack.of(this).stackName}`,
        enableKeyRotation: true,
        removalPolicy,
      });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      // Not SQS's default 30 s, which equals the dead-letter function's timeout: a slow batch
      // would be handed to a second consumer and recorded twice.
      visibilityTimeout: Duration.seconds(deadLetterVisibility),
      // Longer than the source queue's: a standard queue keeps the original enqueue time.
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(visibility),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy,
    });
  }

  /** SendMessage and the key's encrypt actions. */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  metricOldestMessageAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Messages waiting in the queue. @default maximum over 1 minute */
  metricQueueDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  metricDeadLetterDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /**
   * Each one a message that failed `maxReceiveCount` times. The dead-letter function drains the
   * queue within seconds, so depth alone would hide arrivals.
   */
  metricDeadLetterArrivals(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricNumberOfMessagesReceived({
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}
