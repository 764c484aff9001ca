import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';

export interface VerdictTableProps {
  /** @default false */
  readonly deletionProtection?: boolean;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The verdicts: one item per object version (`pk` = `bucket/key#versionId`), the item being the
 * verdict JSON itself. The `by-decision` index (decision, createdAt) lists verdicts by decision; the
 * sparse `by-queue` index (queue, queuedAt) holds only the items waiting for a person (`review` or
 * `appeal`), which a decision leaves. On-demand capacity, point-in-time recovery, a customer
 * managed key.
 */
export class VerdictTable extends Construct {
  readonly table: dynamodb.TableV2;
  readonly encryptionKey: kms.Key;
  /** The review-queue index's name. */
  readonly reviewIndexName: string = VERDICT_TABLE.reviewIndex.name;
  /** The people's queue index (sparse: only items waiting for a reviewer carry its keys). */
  readonly queueIndexName: string = VERDICT_TABLE.queueIndex.name;

  constructor(scope: Construct, id: string, props: VerdictTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Verdicts table',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: VERDICT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.encryptionKey),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
      globalSecondaryIndexes: [
        {
          indexName: VERDICT_TABLE.reviewIndex.name,
          partitionKey: { name: VERDICT_TABLE.reviewIndex.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: VERDICT_TABLE.reviewIndex.sortKey, type: dynamodb.AttributeType.STRING },
          // A reviewer's list needs what to look at and why, not the evidence (fetched by key).
          projectionType: dynamodb.ProjectionType.INCLUDE,
          nonKeyAttributes: [
            'object',
            'objectVersion',
            'score',
            'categories',
            'reasons',
            'error',
            'policyVersion',
          ],
        },
        {
          indexName: VERDICT_TABLE.queueIndex.name,
          partitionKey: { name: VERDICT_TABLE.queueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: VERDICT_TABLE.queueIndex.sortKey, type: dynamodb.AttributeType.STRING },
          // The queue answers whole verdicts (evidence included) in one Query; the index is sparse,
          // so projecting everything costs only the items waiting for a person.
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /**
   * What the pipeline's writers need: read one verdict (the idempotency check) and put one
   * conditionally. No update, delete, scan or batch actions.
   */
  grantWriteVerdicts(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  /**
   * What the review routes do besides writing verdicts: claim, decide and appeal with conditional
   * `UpdateItem`s on the table, and read the people's queue with `Query` on the `by-queue` index
   * only. No delete, scan or batch actions; no Query of the table or the other index.
   */
  grantReviewVerdicts(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantEncryptDecrypt(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [this.queueIndexArn],
    });
  }

  /** The `by-queue` index's ARN. */
  get queueIndexArn(): string {
    return `${this.table.tableArn}/index/${this.queueIndexName}`;
  }

  /** What a reviewer's tool needs: get verdicts and query the review queue. */
  grantReadVerdicts(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
      resourceArns: [this.table.tableArn, `${this.table.tableArn}/index/${this.reviewIndexName}`],
    });
  }

  /** Requests DynamoDB throttled. @default sum over 5 minutes */
  metricThrottledRequests(props: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.table.metricThrottledRequestsForOperations({ period: Duration.minutes(5), ...props });
  }
}
