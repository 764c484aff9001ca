/**
 * What a first deploy (and a failed one) needs: nothing retained after a rolled-back create,
 * alarms and the budget that reach a person, dead-letter queues that never hand a record to two
 * consumers, and a fusion endpoint that admits all its callers at once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '#infra/config.ts';
import { LONG_MEDIA_FUNCTION } from '#infra/stacks/moderation-pipeline-stack.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
};
type Statement = {
  Effect: string;
  Principal?: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
};

const resourcesOf = (p: TestPipeline) => p.template.toJSON().Resources as Record<string, Resource>;
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const WEBHOOK = 'https://hooks.example.com/moderation-alarms';

describe('deploy hygiene', () => {
  let dev: TestPipeline;
  let prod: TestPipeline;
  beforeAll(() => {
    dev = buildPipeline('dev');
    prod = buildPipeline('prod', (c) => ({
      ...c,
      alarms: { ...c.alarms, email: 'oncall@example.com', webhookUrl: WEBHOOK },
    }));
  });

  describe('removal policies', () => {
    it('retains prod data on update and delete, but never after a failed first create', () => {
      const resources = Object.entries(resourcesOf(prod));
      const data = resources.filter(([, r]) =>
        ['AWS::S3::Bucket', 'AWS::DynamoDB::GlobalTable', 'AWS::SQS::Queue'].includes(r.Type),
      );
      expect(data.filter(([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable').length).toBeGreaterThanOrEqual(
        2,
      );
      for (const [id, r] of data) {
        expect({ id, DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy }).toEqual({
          id,
          DeletionPolicy: 'RetainExceptOnCreate',
          UpdateReplacePolicy: 'Retain',
        });
      }
      // A plain Retain anywhere would leave a resource (and its name) behind a rolled-back create.
      expect(resources.filter(([, r]) => r.DeletionPolicy === 'Retain').map(([id]) => id)).toEqual([]);
    });

    it('deletes dev data with the stack', () => {
      for (const r of Object.values(resourcesOf(dev))) {
        if (r.Type === 'AWS::S3::Bucket' || r.Type === 'AWS::DynamoDB::GlobalTable')
          expect(r.DeletionPolicy).toBe('Delete');
      }
    });
  });

  describe('alarm topic', () => {
    it('subscribes the configured e-mail and HTTPS webhook', () => {
      const topic = { Ref: logicalId(prod, prod.stack.observability.alarmTopic) };
      prod.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'oncall@example.com',
        TopicArn: topic,
      });
      prod.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'https',
        Endpoint: WEBHOOK,
        TopicArn: topic,
      });
      dev.template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('is what every alarm notifies, on alarm and on OK (scaling triggers aside)', () => {
      for (const p of [dev, prod]) {
        const topic = { Ref: logicalId(p, p.stack.observability.alarmTopic) };
        const alarms = Object.values(resourcesOf(p)).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
        expect(alarms.length).toBeGreaterThan(15);
        for (const { Properties: a } of alarms) {
          // Scale-out-from-zero triggers fire on every cold start: they act on a scaling policy.
          if (a.MetricName === 'NoCapacityInvocationFailures') continue;
          expect({ d: a.AlarmDescription, actions: a.AlarmActions, ok: a.OKActions }).toEqual({
            d: a.AlarmDescription,
            actions: [topic],
            ok: [topic],
          });
        }
      }
    });

    it('rejects a webhook that is not HTTPS', () => {
      const raw = structuredClone(rawEnvironment(prod)) as { alarms: Record<string, unknown> };
      raw.alarms.webhookUrl = 'http://hooks.example.com/x';
      expect(() => parsePipelineConfig('prod', raw)).toThrow(
        'config alarms.webhookUrl must be an https:// URL, got "http://hooks.example.com/x"',
      );
    });
  });

  describe('budget', () => {
    it('has a monthly cost budget with the configured limit, notifying the alarm topic', () => {
      for (const p of [dev, prod]) {
        const topicArn = { Ref: logicalId(p, p.stack.observability.alarmTopic) };
        const { budget } = p.config;
        p.template.hasResourceProperties('AWS::Budgets::Budget', {
          Budget: {
            BudgetType: 'COST',
            TimeUnit: 'MONTHLY',
            BudgetLimit: { Amount: budget.monthlyLimitUsd, Unit: 'USD' },
            BudgetName: `${p.stack.stackName}-monthly`,
          },
          NotificationsWithSubscribers: [
            ...budget.actualThresholdsPercent.map((threshold) => ({
              Notification: {
                NotificationType: 'ACTUAL',
                ComparisonOperator: 'GREATER_THAN',
                Threshold: threshold,
                ThresholdType: 'PERCENTAGE',
              },
              Subscribers: [{ SubscriptionType: 'SNS', Address: topicArn }],
            })),
            {
              Notification: {
                NotificationType: 'FORECASTED',
                ComparisonOperator: 'GREATER_THAN',
                Threshold: budget.forecastThresholdPercent,
                ThresholdType: 'PERCENTAGE',
              },
              Subscribers: [{ SubscriptionType: 'SNS', Address: topicArn }],
            },
          ],
        });
      }
      expect(prod.config.budget.monthlyLimitUsd).toBeGreaterThan(dev.config.budget.monthlyLimitUsd);
    });

    it('lets AWS Budgets (of this account only) publish to the topic and use its key, before the budget exists', () => {
      const resources = resourcesOf(prod);
      const topicId = logicalId(prod, prod.stack.observability.alarmTopic);
      const [policyId, topicPolicy] = Object.entries(resources).find(
        ([, r]) => r.Type === 'AWS::SNS::TopicPolicy',
      )!;
      const publish = (topicPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.find(
        (s) => JSON.stringify(s.Principal).includes('budgets.amazonaws.com'),
      );
      expect(publish).toMatchObject({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: { StringEquals: { 'aws:SourceAccount': prod.config.account } },
      });
      const key = Object.values(resources).find(
        (r) =>
          r.Type === 'AWS::KMS::Key' &&
          JSON.stringify(r.Properties.KeyPolicy).includes('budgets.amazonaws.com'),
      );
      const keyStatement = (key!.Properties.KeyPolicy as { Statement: Statement[] }).Statement.find((s) =>
        JSON.stringify(s.Principal).includes('budgets.amazonaws.com'),
      );
      expect(list(keyStatement!.Action as string[]).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
      const [budget] = Object.values(resources).filter((r) => r.Type === 'AWS::Budgets::Budget');
      expect(budget!.DependsOn).toEqual(expect.arrayContaining([policyId]));
    });

    it('rejects a budget without thresholds or with a limit of 0, naming the value', () => {
      const raw = structuredClone(rawEnvironment(prod)) as { budget: Record<string, unknown> };
      expect(() =>
        parsePipelineConfig('prod', { ...raw, budget: { ...raw.budget, actualThresholdsPercent: [] } }),
      ).toThrow(
        'config moderation:environments.prod.budget.actualThresholdsPercent must be a non-empty list of integers in [1, 1000], got []',
      );
      expect(() =>
        parsePipelineConfig('prod', { ...raw, budget: { ...raw.budget, monthlyLimitUsd: 0 } }),
      ).toThrow(
        'config moderation:environments.prod.budget.monthlyLimitUsd must be an integer in [1, 9007199254740991], got 0',
      );
    });

    it('can count only the costs tagged with the environment', () => {
      const p = buildPipeline('dev', (c) => ({
        ...c,
        budget: { ...c.budget, filterByEnvironmentTag: true },
      }));
      p.template.hasResourceProperties('AWS::Budgets::Budget', {
        Budget: { CostFilters: { TagKeyValue: ['user:environment$dev'] } },
      });
    });
  });

  describe('dead-letter queues', () => {
    it('hide a message for at least 6 × the dead-letter function’s timeout (not SQS’s 30 s default)', () => {
      for (const p of [dev, prod]) {
        const resources = resourcesOf(p);
        const timeout = resources[logicalId(p, p.stack.deadLetterFunction.function)]!.Properties
          .Timeout as number;
        for (const dlq of [p.stack.ingest.deadLetterQueue, p.stack.longMedia.deadLetterQueue]) {
          const visibility = resources[logicalId(p, dlq)]!.Properties.VisibilityTimeout as number;
          expect(visibility, dlq.node.path).toBeGreaterThanOrEqual(6 * timeout);
        }
      }
    });
  });

  describe('fusion concurrency', () => {
    it('admits every function that may invoke it at once (from the template: grants and reservations)', () => {
      for (const p of [dev, prod]) {
        const resources = resourcesOf(p);
        const fusion = p.stack.endpoints.fusion;
        const fusionArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(p, fusion.endpoint), 'EndpointArn'] });
        // Roles allowed to invoke the fusion endpoint …
        const roles = new Set(
          Object.values(resources)
            .filter((r) => r.Type === 'AWS::IAM::Policy')
            .filter((r) =>
              (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.some(
                (s) =>
                  list(s.Action as string).includes('sagemaker:InvokeEndpoint') &&
                  list(s.Resource).some((res) => JSON.stringify(res) === fusionArn),
              ),
            )
            .flatMap((r) => (r.Properties.Roles as { Ref: string }[]).map((role) => role.Ref)),
        );
        // … and the functions that run as them, each with a reservation (an unreserved one is unbounded).
        const callers = Object.values(resources).filter(
          (r) =>
            r.Type === 'AWS::Lambda::Function' &&
            roles.has((r.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]),
        );
        expect(callers.length, p.config.envName).toBe(3); // moderate, long-media, API
        const reserved = callers.map((f) => f.Properties.ReservedConcurrentExecutions as number | undefined);
        expect(
          reserved.every((n) => typeof n === 'number'),
          p.config.envName,
        ).toBe(true);
        const variant = (
          resources[logicalId(p, fusion.endpointConfig)]!.Properties.ProductionVariants as {
            ServerlessConfig: { MaxConcurrency: number };
          }[]
        )[0]!;
        const total = reserved.reduce<number>((a, b) => a + (b ?? 0), 0);
        expect(variant.ServerlessConfig.MaxConcurrency, p.config.envName).toBeGreaterThanOrEqual(total);
      }
    });

    it('fails synth when the configuration would let the callers exceed it, naming the sum', () => {
      expect(() =>
        buildPipeline('prod', (c) => ({
          ...c,
          models: { ...c.models, fusion: { kind: 'serverless', memorySizeMb: 2048, maxConcurrency: 50 } },
        })),
      ).toThrow(
        `config models.fusion.maxConcurrency must be at least the reserved concurrency of the functions that call it (moderate 50 + long-media ${LONG_MEDIA_FUNCTION.reservedConcurrency} + api 20 = ${50 + LONG_MEDIA_FUNCTION.reservedConcurrency + 20}), got 50`,
      );
      expect(() =>
        buildPipeline('dev', (c) => ({ ...c, api: { ...c.api, reservedConcurrency: undefined } })),
      ).toThrow(/config api.reservedConcurrency must be set when fusion is serverless/);
    });
  });
});

/** The raw cdk.json entry of an environment, as parsePipelineConfig takes it. */
function rawEnvironment(p: TestPipeline): unknown {
  const environments = p.app.node.tryGetContext('moderation:environments') as Record<string, unknown>;
  return environments[p.config.envName];
}
