import { join } from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/contracts/env.ts';
import { DECISION_EVENT } from '#shared/contracts/review.ts';
import type { AuditTable } from './audit-table.ts';
import { PipelineFunction } from './pipeline-function.ts';
import { acknowledgeWildcards, GRANT_ACTION_FINDINGS } from './private/nag.ts';
import { WorkQueue } from './private/work-queue.ts';

export interface WebhookSenderProps {
  /** Where package.json, the lockfile and functions/ are. */
  readonly projectRoot: string;
  /** The bus the API publishes `Moderation Decision` events on. */
  readonly eventBus: events.IEventBus;
  /** The key table: the tenants' webhooks (`tenants.<name>.webhook`), read at send time. */
  readonly keys: secretsmanager.ISecret;
  /** Where a dead letter is recorded (`webhook-failed`). */
  readonly audit: AuditTable;
  /** Receives (attempts) before a message goes to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** The wait after the first failed attempt; doubles per receive. @default 30 seconds */
  readonly retryBase?: Duration;
  /** The longest wait between attempts. @default 15 minutes */
  readonly retryMax?: Duration;
  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Extra environment (Powertools service name and namespace). @default none */
  readonly environment?: Record<string, string>;
  /** The queues' key and messages. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Tenants' decision webhooks off the reviewer's path (docs/REVIEW.md, "Events and webhooks"): a
 * rule copies each `Moderation Decision` event from the bus to a KMS-encrypted queue; the sender
 * function (functions/webhook-sender) POSTs it, signed, one attempt per receive, and on a failure
 * sets the message's visibility to a doubling backoff. After `maxReceiveCount` receives SQS moves
 * it to the DLQ, which the same function drains into the audit trail (`webhook-failed`). Events the
 * rule cannot deliver to the queue go to the same DLQ, so they are recorded the same way.
 */
export class WebhookSender extends Construct {
  readonly work: WorkQueue;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly handler: PipelineFunction;

  constructor(scope: Construct, id: string, props: WebhookSenderProps) {
    super(scope, id);
    const timeout = Duration.seconds(30);
    this.work = new WorkQueue(this, 'Default', {
      consumerTimeout: timeout,
      maxReceiveCount: props.maxReceiveCount ?? 5,
      keyDescription: `Webhook queues of ${Stack.of(this).stackName}`,
      removalPolicy: props.removalPolicy,
    });
    this.queue = this.work.queue;
    this.deadLetterQueue = this.work.deadLetterQueue;

    this.rule = new events.Rule(this, 'DecisionRule', {
      description: 'Moderation Decision events to the webhook queue',
      eventBus: props.eventBus,
      eventPattern: { source: [DECISION_EVENT.source], detailType: [DECISION_EVENT.detailType] },
    });
    // The target grants the bus SendMessage on both queues and (encrypted queues) the key's use.
    this.rule.addTarget(
      new targets.SqsQueue(this.queue, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 10,
        maxEventAge: Duration.hours(24),
      }),
    );

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: join(props.projectRoot, 'functions', 'webhook-sender', 'handler.ts'),
      projectRoot: props.projectRoot,
      description: "Delivers decision events to tenants' webhooks (HMAC-signed); records dead letters",
      architecture: props.architecture,
      memorySize: 256,
      // A batch of 10 attempts in parallel, 3 s each at most.
      timeout,
      logRetention: props.logRetention,
      environment: {
        ...props.environment,
        [ENV.apiKeysSecretArn]: props.keys.secretArn,
        [ENV.auditTableName]: props.audit.table.tableName,
        [ENV.webhookQueueUrl]: this.queue.queueUrl,
        [ENV.webhookDeadLetterQueueArn]: this.deadLetterQueue.queueArn,
        [ENV.webhookRetryBaseSeconds]: String((props.retryBase ?? Duration.seconds(30)).toSeconds()),
        [ENV.webhookRetryMaxSeconds]: String((props.retryMax ?? Duration.minutes(15)).toSeconds()),
      },
    });
    const fn = this.handler.function;
    // Each event source grants receive, delete and ChangeMessageVisibility (the backoff) and the key.
    for (const queue of [this.queue, this.deadLetterQueue])
      fn.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));
    props.keys.grantRead(fn);
    props.audit.grantAppend(fn);
    // The wildcards are the KMS grant action groups (the queues' and the audit table's keys).
    acknowledgeWildcards(this.handler.role, GRANT_ACTION_FINDINGS.kms);
  }

  /** Decisions whose webhook gave up (each one also a `webhook-failed` audit record). @default sum over 5 minutes */
  metricDeadLetters(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricDeadLetterArrivals(props);
  }

  /** Age of the oldest decision waiting to be sent. @default maximum over 1 minute */
  metricOldestMessageAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.work.metricOldestMessageAge(props);
  }
}
