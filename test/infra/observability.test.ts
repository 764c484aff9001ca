import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DECISION_METRICS, decisionMetric, METRICS_NAMESPACE } from '#shared/contracts/metrics.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

interface Alarm {
  Properties: {
    MetricName?: string;
    Dimensions?: unknown;
    AlarmActions?: unknown;
    AlarmDescription?: string;
  };
}

describe('observability', () => {
  let dev: TestPipeline;
  let alarms: Alarm[];
  let topicRef: { Ref: string };
  const idOf = (c: IConstruct) => logicalId(dev, c);
  beforeAll(() => {
    dev = buildPipeline('dev', (c) => ({ ...c, alarms: { ...c.alarms, email: 'oncall@example.com' } }));
    alarms = Object.values(dev.template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
    topicRef = { Ref: idOf(dev.stack.observability.alarmTopic) };
  });

  function alarmOn(metricName: string, dimension?: { Name: string; Value: unknown }): Alarm[] {
    return alarms.filter(
      (a) =>
        a.Properties.MetricName === metricName &&
        (!dimension || JSON.stringify(a.Properties.Dimensions).includes(JSON.stringify(dimension))),
    );
  }

  it('sends alarms to a KMS-encrypted SNS topic (with the configured e-mail subscribed)', () => {
    dev.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    dev.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: topicRef,
    });
    for (const a of alarms.filter((x) => x.Properties.MetricName !== 'NoCapacityInvocationFailures')) {
      expect(a.Properties.AlarmActions, a.Properties.AlarmDescription).toEqual([topicRef]);
    }
  });

  it('alarms as soon as anything waits in the dead-letter queue', () => {
    const dlq = {
      Name: 'QueueName',
      Value: { 'Fn::GetAtt': [idOf(dev.stack.ingest.deadLetterQueue), 'QueueName'] },
    };
    expect(alarmOn('ApproximateNumberOfMessagesVisible', dlq)[0]?.Properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
    });
    expect(alarmOn('NumberOfMessagesReceived', dlq)).toHaveLength(1);
  });

  it('alarms on the age of the oldest upload waiting in the ingest queue', () => {
    const queue = { Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(dev.stack.ingest.queue), 'QueueName'] } };
    expect(alarmOn('ApproximateAgeOfOldestMessage', queue)[0]?.Properties).toMatchObject({
      Threshold: dev.config.alarms.queueAgeSeconds,
    });
  });

  it('alarms on errors of every function (moderate, long-media, dead-letter, API, API authorizer)', () => {
    expect(alarmOn('Errors')).toHaveLength(5);
  });

  it('alarms on 5xx and p99 model latency of every endpoint', () => {
    for (const name of ['text-toxicity', 'image-nsfw', 'fusion']) {
      const endpoint = dev.stack.endpoints[name as 'fusion'];
      const dim = endpoint.inferenceComponentName
        ? { Name: 'InferenceComponentName', Value: endpoint.inferenceComponentName }
        : {
            // The name as written: the endpoint's rollout names these alarms, so they must not depend on it.
            Name: 'EndpointName',
            Value: (
              dev.template.toJSON().Resources[logicalId(dev, endpoint.endpoint)] as {
                Properties: { EndpointName: string };
              }
            ).Properties.EndpointName,
          };
      expect(alarmOn('Invocation5XXErrors', dim), name).toHaveLength(1);
      const [latency] = alarmOn('ModelLatency', dim);
      expect(latency?.Properties, name).toMatchObject({
        ExtendedStatistic: 'p99',
        Threshold: dev.config.alarms.modelLatencyP99Ms * 1000, // ModelLatency is in microseconds
      });
    }
  });

  it('has a dashboard that searches the functions’ decision metrics by their contract names', () => {
    dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(dev.template.findResources('AWS::CloudWatch::Dashboard')) as {
      Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } };
    }[];
    // The body with every CloudFormation reference replaced by a placeholder, parsed.
    const parts = dashboard!.Properties.DashboardBody['Fn::Join'][1];
    const body = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'ref')).join('')) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    const decisions = body.widgets.find((w) => w.properties.title === 'Decisions (Powertools metrics)');
    const search = DECISION_METRICS.map((name) => `MetricName="${name}"`).join(' OR ');
    expect(decisions?.properties.metrics).toEqual([
      [{ expression: `SEARCH('{${METRICS_NAMESPACE},service} ${search}', 'Sum', 300)` }],
    ]);
    expect(DECISION_METRICS).toEqual((['allow', 'review', 'block', 'error'] as const).map(decisionMetric));
    expect(JSON.stringify(body)).toContain('ModelLatency');
  });
});
