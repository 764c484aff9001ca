import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, DependencyGroup, type IDependable } from 'constructs';
import { DECISION_METRICS, METRICS_NAMESPACE } from '#shared/contracts/metrics.ts';
import type { Ingest } from './ingest.ts';
import type { LongMediaQueue } from './long-media-queue.ts';
import type { ModelEndpoint } from './model-endpoint.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import type { WorkQueueMetrics } from './private/work-queue.ts';

export interface ObservabilityProps {
  readonly ingest: Ingest;
  /** The function consuming the ingest queue. */
  readonly moderateFunction: PipelineFunction;
  /** The function recording dead-lettered uploads. */
  readonly deadLetterFunction: PipelineFunction;
  /** Endpoints to watch, by model name. */
  readonly endpoints: Readonly<Record<string, ModelEndpoint>>;
  /** @default 15 minutes */
  readonly queueAgeThreshold?: Duration;
  /** @default 1 second */
  readonly modelLatencyP99Threshold?: Duration;
  /** Subscribes this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /**
   * Subscribes this HTTPS endpoint to the alarm topic (a chat or paging webhook; it must confirm
   * the subscription, see docs/DEPLOY.md). @default no subscription
   */
  readonly alarmWebhookUrl?: string;
  /** @default a name CloudFormation generates */
  readonly dashboardName?: string;
  /** @default RemovalPolicy.DESTROY (the topic's key) */
  readonly removalPolicy?: RemovalPolicy;
  /** The asynchronous path for long media, when there is one: its queues and function get alarms too. */
  readonly longMedia?: {
    readonly queue: LongMediaQueue;
    readonly function: PipelineFunction;
    /** @default 1 hour */
    readonly queueAgeThreshold?: Duration;
  };
}

/**
 * Alarms on everything that means "uploads are not being moderated" (dead letters, a stuck queue,
 * failing functions, failing or slow endpoints), an encrypted SNS topic they notify, and a dashboard.
 * The endpoints' 5xx and latency alarms also roll back a model update that trips them.
 */
export class Observability extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly topicKey: kms.Key;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Pipeline alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarms to the encrypted topic with this key.
    topicKey.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topicKey = topicKey;
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    if (props.alarmWebhookUrl) {
      this.alarmTopic.addSubscription(
        new subscriptions.UrlSubscription(props.alarmWebhookUrl, {
          protocol: sns.SubscriptionProtocol.HTTPS,
        }),
      );
    }

    const { ingest, moderateFunction, deadLetterFunction } = props;
    const stackName = Stack.of(this).stackName;

    this.addWorkQueueAlarms(ingest, {
      ids: {
        deadLetterDepth: 'DeadLetterDepth',
        deadLetterArrivals: 'DeadLetterArrivals',
        oldestMessageAge: 'QueueOldestMessageAge',
      },
      deadLetterQueue: 'the dead-letter queue',
      items: 'uploads',
      oldest: 'the oldest upload',
      ageThreshold: props.queueAgeThreshold ?? Duration.minutes(15),
    });
    this.addAlarm('ModerateErrors', {
      alarmDescription: `${stackName}: the moderate function threw (whole-batch failures, not per-record ones)`,
      metric: moderateFunction.metricErrors(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.addAlarm('DeadLetterFunctionErrors', {
      alarmDescription: `${stackName}: the dead-letter function threw; dead-lettered uploads are not being recorded`,
      metric: deadLetterFunction.metricErrors(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    if (props.longMedia) {
      const { queue, function: longFunction } = props.longMedia;
      this.addWorkQueueAlarms(queue, {
        ids: {
          deadLetterDepth: 'LongMediaDeadLetterDepth',
          deadLetterArrivals: 'LongMediaDeadLetterArrivals',
          oldestMessageAge: 'LongMediaOldestMessageAge',
        },
        deadLetterQueue: 'the long-media dead-letter queue',
        items: 'long uploads',
        oldest: 'the oldest long upload',
        ageThreshold: props.longMedia.queueAgeThreshold ?? Duration.hours(1),
      });
      this.addAlarm('LongMediaErrors', {
        alarmDescription: `${stackName}: the long-media function threw (whole-batch failures, not per-record ones)`,
        metric: longFunction.metricErrors(),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
    const latencyMicros = (props.modelLatencyP99Threshold ?? Duration.seconds(1)).toMilliseconds() * 1000;
    for (const [name, endpoint] of Object.entries(props.endpoints)) {
      const errors = this.addAlarm(`${pascal(name)}Endpoint5xx`, {
        alarmDescription: `${stackName}: the ${name} endpoint answers with 5xx errors`,
        metric: endpoint.metric5xx({ period: Duration.minutes(5) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      const latency = this.addAlarm(`${pascal(name)}EndpointLatencyP99`, {
        alarmDescription: `${stackName}: the ${name} endpoint's p99 model latency is above ${latencyMicros / 1000} ms`,
        metric: endpoint.metricModelLatency({ period: Duration.minutes(5) }),
        threshold: latencyMicros,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
      // A model update that makes the endpoint fail or slow is rolled back while it rolls out.
      endpoint.addRollbackAlarm(errors);
      endpoint.addRollbackAlarm(latency);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    const endpoints = Object.entries(props.endpoints);
    const decisionNames = DECISION_METRICS.map((name) => `MetricName="${name}"`).join(' OR ');
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${stackName}\nUploads → SQS → moderate → SageMaker → verdicts. Alarms notify the alarm topic.`,
        width: 24,
        height: 2,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
      new cloudwatch.GraphWidget({
        title: 'Ingest queue',
        left: [
          ingest.metricQueueDepth({ label: 'waiting' }),
          ingest.metricDeadLetterDepth({ label: 'dead letters' }),
        ],
        right: [ingest.metricOldestMessageAge({ label: 'oldest (s)' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Moderate function',
        left: [
          moderateFunction.function.metricInvocations({ label: 'invocations' }),
          moderateFunction.metricErrors({ label: 'errors' }),
          moderateFunction.metricThrottles({ label: 'throttles' }),
        ],
        right: [moderateFunction.metricDuration({ label: 'p99 duration (ms)' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Decisions (Powertools metrics)',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service} ${decisionNames}', 'Sum', 300)`,
            label: '',
            usingMetrics: {},
            period: Duration.minutes(5),
          }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Endpoint invocations',
        left: endpoints.map(([name, e]) => e.metricInvocations({ label: name, period: Duration.minutes(5) })),
        right: endpoints.map(([name, e]) =>
          e.metric5xx({ label: `${name} 5xx`, period: Duration.minutes(5) }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Endpoint model latency p99 (µs)',
        left: endpoints.map(([name, e]) =>
          e.metricModelLatency({ label: name, period: Duration.minutes(5) }),
        ),
        width: 12,
      }),
    );
  }

  /**
   * The alarms every work queue gets: anything waiting in its dead-letter queue (the consumer of
   * it is failing or disabled), any arrival there (each one recorded as an error verdict), and
   * the oldest message waiting too long. Ids as given: they are the alarms' logical ids.
   */
  private addWorkQueueAlarms(
    queue: WorkQueueMetrics,
    what: {
      readonly ids: { deadLetterDepth: string; deadLetterArrivals: string; oldestMessageAge: string };
      readonly deadLetterQueue: string;
      readonly items: string;
      readonly oldest: string;
      readonly ageThreshold: Duration;
    },
  ): void {
    const stackName = Stack.of(this).stackName;
    this.addAlarm(what.ids.deadLetterDepth, {
      alarmDescription: `${stackName}: messages are waiting in ${what.deadLetterQueue} (its consumer is failing or disabled)`,
      metric: queue.metricDeadLetterDepth(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
    });
    this.addAlarm(what.ids.deadLetterArrivals, {
      alarmDescription: `${stackName}: ${what.items} were dead-lettered after repeated failures (recorded as error verdicts)`,
      metric: queue.metricDeadLetterArrivals(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.addAlarm(what.ids.oldestMessageAge, {
      alarmDescription: `${stackName}: ${what.oldest} has waited too long to be moderated`,
      metric: queue.metricOldestMessageAge(),
      threshold: what.ageThreshold.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
  }

  /**
   * Lets an AWS service (AWS Budgets) publish to the alarm topic, from this account only: the
   * topic policy and the topic key. Returns what a resource that checks the permission when it is
   * created must depend on.
   */
  allowServiceToNotify(service: string): IDependable {
    const principal = new iam.ServicePrincipal(service);
    const account = Stack.of(this).account;
    const published = this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    const dependable = new DependencyGroup(this.topicKey);
    if (published.policyDependable) dependable.add(published.policyDependable);
    return dependable;
  }

  /**
   * Adds an alarm that notifies the alarm topic (OK too) and shows on the dashboard's alarm status,
   * missing data not breaching. For constructs that watch themselves (the synchronous API).
   */
  addAlarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    const action = new cwActions.SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}

function pascal(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}
