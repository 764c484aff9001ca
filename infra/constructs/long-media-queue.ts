import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface LongMediaQueueProps {
  /**
   * Timeout of the long-media function: the visibility timeout is 6 × this, as Lambda recommends
   * (batch size 1, no batching window).
   * @default 15 minutes
   */
  readonly consumerTimeout?: Duration;
  /** Deliveries before a message is dead-lettered. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The asynchronous path for long media (docs/MEDIA.md): the moderate function forwards here the S3
 * notifications of audio and video over its synchronous limits; the long-media function consumes
 * them. Its own KMS key and a dead-letter queue, drained by the dead-letter function like the
 * ingest DLQ, so a long upload that keeps failing still ends as one (`PROCESSING_FAILED`) verdict.
 */
export class LongMediaQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly key: kms.Key;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: LongMediaQueueProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    const consumerTimeout = props.consumerTimeout ?? Duration.minutes(15);
    const visibility = 6 * consumerTimeout.toSeconds();
    if (visibility > 12 * 3600) {
      throw new Error(
        `consumerTimeout must be at most 2 hours (6 × it is the visibility timeout), got ${consumerTimeout.toSeconds()} s`,
      );
    }
    this.key = new kms.Key(this, 'Key', {
      description: `Long-media queues of ${Stack.of(this).stackName}`,
      enableKeyRotation: true,
      removalPolicy,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
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

  /** Lets the synchronous function forward notifications (SendMessage + the key's encrypt actions). */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /** Age of the oldest long upload waiting. @default maximum over 1 minute */
  metricOldestMessageAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Messages waiting in the long-media dead-letter queue. @default maximum over 1 minute */
  metricDeadLetterDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Messages read from the long-media dead-letter queue (drained within seconds). @default sum over 5 minutes */
  metricDeadLetterArrivals(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricNumberOfMessagesReceived({
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}
