import * as budgets from 'aws-cdk-lib/aws-budgets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IDependable } from 'constructs';

/** The AWS Budgets service principal, which must be allowed to publish to the topic. */
export const BUDGETS_SERVICE = 'budgets.amazonaws.com';

export interface MonthlyBudgetProps {
  /** The monthly cost limit, in US dollars. */
  readonly limitUsd: number;
  /** Notify when actual spend reaches each of these percentages of the limit. */
  readonly actualThresholdsPercent: readonly number[];
  /** Notify when the month's forecast reaches this percentage of the limit. @default none */
  readonly forecastThresholdPercent?: number;
  /** Where notifications go; AWS Budgets must be allowed to publish to it (and use its key). */
  readonly topic: sns.ITopic;
  /** What the budget's creation must wait for: the topic policy and key grant that let it publish. */
  readonly topicPermissions?: IDependable;
  /**
   * Count only costs carrying this cost allocation tag (`key` = `value`); the tag must be activated
   * in the Billing console. @default every cost of the account
   */
  readonly costAllocationTag?: { readonly key: string; readonly value: string };
  /** @default a name CloudFormation generates */
  readonly budgetName?: string;
}

/**
 * A monthly AWS Budgets cost budget that notifies an SNS topic (the alarm topic, and through it
 * its e-mail and webhook subscriptions) when actual or forecast spend crosses its thresholds.
 */
export class MonthlyBudget extends Construct {
  readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: MonthlyBudgetProps) {
    super(scope, id);
    if (!Number.isFinite(props.limitUsd) || props.limitUsd <= 0) {
      throw new Error(`budget limitUsd must be a positive number of dollars, got ${props.limitUsd}`);
    }
    if (props.actualThresholdsPercent.length === 0) {
      throw new Error('budget needs at least one actual-spend threshold, got none');
    }
    const subscribers = [{ subscriptionType: 'SNS', address: props.topic.topicArn }];
    const notification = (notificationType: 'ACTUAL' | 'FORECASTED', threshold: number) => ({
      notification: {
        notificationType,
        comparisonOperator: 'GREATER_THAN',
        threshold,
        thresholdType: 'PERCENTAGE',
      },
      subscribers,
    });
    const tag = props.costAllocationTag;
    this.budget = new budgets.CfnBudget(this, 'Budget', {
      budget: {
        budgetName: props.budgetName,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.limitUsd, unit: 'USD' },
        costFilters: tag ? { TagKeyValue: [`user:${tag.key}$${tag.value}`] } : undefined,
      },
      notificationsWithSubscribers: [
        ...[...new Set(props.actualThresholdsPercent)].map((pct) => notification('ACTUAL', pct)),
        ...(props.forecastThresholdPercent === undefined
          ? []
          : [notification('FORECASTED', props.forecastThresholdPercent)]),
      ],
    });
    // AWS Budgets checks that it may publish when the notification is created.
    if (props.topicPermissions) this.budget.node.addDependency(props.topicPermissions);
  }
}
