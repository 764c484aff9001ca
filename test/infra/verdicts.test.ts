import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

describe('verdicts and verdict actions', () => {
  let dev: TestPipeline;
  let prod: TestPipeline;
  beforeAll(() => {
    dev = buildPipeline('dev');
    prod = buildPipeline('prod');
  });

  it('stores one verdict per object version, keyed by pk, on demand', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: VERDICT_TABLE.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(VERDICT_TABLE.partitionKey).toBe('pk');
  });

  it('has a review-queue index on (decision, createdAt)', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'by-decision',
          KeySchema: [
            { AttributeName: 'decision', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });

  it('is encrypted with a customer managed key and has point-in-time recovery', () => {
    const keyId = logicalId(dev, dev.stack.verdicts.encryptionKey);
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        }),
      ],
    });
  });

  it('protects the table from deletion in prod only, and retains prod data', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
    prod.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
    });
    prod.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'RetainExceptOnCreate' });
    dev.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
  });

  it('keeps quarantined copies in a versioned bucket under its own KMS key', () => {
    const keyId = logicalId(dev, dev.stack.quarantine.encryptionKey);
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          }),
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'quarantine-bucket/' }),
    });
  });

  it('has an event bus for Moderation Verdict events', () => {
    dev.template.resourceCountIs('AWS::Events::EventBus', 1);
  });
});
