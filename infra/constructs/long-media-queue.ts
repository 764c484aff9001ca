import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WorkQueue, type WorkQueueMetrics } from './private/work-queue.ts';

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
export class LongMediaQueue extends Construct implements WorkQueueMetrics {
  /** The queue, its dead-letter queue and their key. */
  readonly work: WorkQueue;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly key: kms.Key;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: LongMediaQueueProps = {}) {
    super(scope, id);
    // Id `Default`: the queues and key keep the logical ids they had as children of this construct.
    this.work = new WorkQueue(this, 'Default', {
      consumerTimeout: props.consumerTimeout ?? Duration.minutes(15),
      maxReceiveCount: props.maxReceiveCount,
      keyDescription: `Long-media queues of ${Stack.of(this).stackName}`,
      removalPolicy: props.removalPolicy,
    });
    this.queue = this.work.queue;
    this.deadLetterQueue = this.work.deadLetterQueue;
    this.key = this.work.key;
    this.maxReceiveCount = this.work.maxReceiveCount;
  }

  /** Lets the synchronous function forward notifications (SendMessage + the key's encrypt actions). */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.work.grantSend(grantee);
  }

  /** Age of the oldest long upload waiting. @default maximum over 1 minute */
  metricOldestMessageAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricOldestMessageAge(props);
  }

  /** Messages waiting in the long-media dead-letter queue. @default maximum over 1 minute */
  metricDeadLetterDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricDeadLetterDepth(props);
  }

  /** Messages read from the long-media dead-letter queue (drained within seconds). @default sum over 5 minutes */
  metricDeadLetterArrivals(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricDeadLetterArrivals(props);
  }
}
