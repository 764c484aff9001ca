import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { AUDIT_TABLE } from '#shared/contracts/verdict-table.ts';

export interface AuditTableProps {
  /** @default false */
  readonly deletionProtection?: boolean;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The audit trail of people's actions (claims, decisions, appeals, failed webhooks): one item per
 * action, partition `verdictId`, sort `at`, never updated or deleted. Append-only is enforced by
 * IAM: the only write this construct grants is `PutItem` (the runtime's puts are conditional on
 * the item not existing, so an action is never overwritten). On-demand, point-in-time recovery,
 * a customer managed key of its own.
 */
export class AuditTable extends Construct {
  readonly table: dynamodb.TableV2;
  readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: AuditTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Review audit trail',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: AUDIT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.encryptionKey),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Append audit records: `PutItem` only (no update, delete, batch write or read). */
  grantAppend(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  /** Read the trail (an auditor's tool): get and query, nothing that writes. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
      resourceArns: [this.table.tableArn],
    });
  }

  /** Audit writes DynamoDB throttled (a throttled put fails the reviewer's action). @default sum over 5 minutes */
  metricThrottledPuts(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.table.metricThrottledRequestsForOperations({
      operations: [dynamodb.Operation.PUT_ITEM],
      period: Duration.minutes(5),
      ...props,
    });
  }
}
