import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

describe('ingest: uploads bucket → SQS queue (+ DLQ)', () => {
  let dev: TestPipeline;
  let prod: TestPipeline;
  let ids: { bucket: string; bucketKey: string; queue: string; dlq: string; queueKey: string; logs: string };
  beforeAll(() => {
    dev = buildPipeline('dev');
    prod = buildPipeline('prod');
    const { ingest } = dev.stack;
    ids = {
      bucket: logicalId(dev, ingest.bucket),
      bucketKey: logicalId(dev, ingest.bucketKey),
      queue: logicalId(dev, ingest.queue),
      dlq: logicalId(dev, ingest.deadLetterQueue),
      queueKey: logicalId(dev, ingest.queueKey),
      logs: logicalId(dev, ingest.accessLogsBucket),
    };
  });

  it('encrypts uploads with its own customer managed key, versions them and blocks public access', () => {
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [ids.bucketKey, 'Arn'] },
            },
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: ids.logs }, LogFilePrefix: 'uploads-bucket/' },
    });
    dev.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('denies plain-HTTP access to the uploads bucket', () => {
    dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('expires old versions and aborts stale multipart uploads under uploads/, with configurable expiry', () => {
    const rule = (props: object) =>
      Match.objectLike({ Id: 'raw-uploads', Prefix: 'uploads/', Status: 'Enabled', ...props });
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          rule({
            NoncurrentVersionExpiration: { NoncurrentDays: 7 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            ExpirationInDays: 30,
          }),
        ]),
      },
    });
    prod.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          rule({
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
            ExpirationInDays: Match.absent(),
          }),
        ]),
      },
    });
  });

  it('expires kept model inputs under inputs/ after the configured days (30 by default), their old versions after a day', () => {
    const rule = (days: number) =>
      Match.objectLike({
        Id: 'kept-inputs',
        Prefix: 'inputs/',
        Status: 'Enabled',
        ExpirationInDays: days,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      });
    // There whether or not anything keeps inputs now: what an earlier configuration kept still goes.
    expect(dev.config.keepInputs).toEqual({ mode: 'none', expirationDays: 30 });
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      LifecycleConfiguration: { Rules: Match.arrayWith([rule(30)]) },
    });
    const keeping = buildPipeline('dev', (c) => ({ ...c, keepInputs: { mode: 'all', expirationDays: 7 } }));
    keeping.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      LifecycleConfiguration: { Rules: Match.arrayWith([rule(7)]) },
    });
  });

  it('notifies the ingest queue of objects created under uploads/, in plain CloudFormation', () => {
    const bucket = dev.template.toJSON().Resources[ids.bucket] as Resource;
    expect(bucket.Properties.NotificationConfiguration).toEqual({
      QueueConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'uploads/' }] } },
          Queue: { 'Fn::GetAtt': [ids.queue, 'Arn'] },
        },
      ],
    });
    // Kept inputs are written outside the notified prefix, so they never enter the pipeline.
    expect(dev.stack.ingest.inputsPrefix.startsWith(dev.stack.ingest.uploadsPrefix)).toBe(false);
    // S3 validates the destination when the bucket is created: the queue policy must exist first.
    expect(bucket.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^IngestQueuePolicy/)]));
    dev.template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('lets only this bucket send to the queue, over TLS', () => {
    dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() }, StringEquals: Match.anyValue() },
          }),
        ]),
      },
    });
  });

  it('encrypts both queues with a queue key that is not the bucket key, usable by S3', () => {
    for (const id of [ids.queue, ids.dlq]) {
      const queue = dev.template.toJSON().Resources[id] as Resource;
      expect(queue.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [ids.queueKey, 'Arn'] });
    }
    expect(ids.queueKey).not.toBe(ids.bucketKey);
    const key = dev.template.toJSON().Resources[ids.queueKey] as Resource;
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('s3.amazonaws.com');
  });

  it('dead-letters after 5 receives, with a visibility timeout of at least 6× the function timeout', () => {
    const queue = dev.template.toJSON().Resources[ids.queue] as Resource;
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
      maxReceiveCount: 5,
    });
    const timeout = dev.config.lambda.timeoutSeconds;
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Moderates'),
      Timeout: timeout,
    });
    const dlq = dev.template.toJSON().Resources[ids.dlq] as Resource;
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('retains the fixed-name uploads bucket on update and delete, but not after a failed first create', () => {
    // Retain would keep the bucket a rolled-back first create made, and its name would block the next deploy.
    const prodBucket = prod.template.toJSON().Resources[logicalId(prod, prod.stack.ingest.bucket)] as {
      DeletionPolicy: string;
      UpdateReplacePolicy: string;
    };
    expect(prod.config.retainData).toBe(true);
    expect(prodBucket).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    // Everything else that prod retains (unnamed) likewise: a rolled-back first create leaves nothing behind.
    prod.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'RetainExceptOnCreate' });
    prod.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: { BucketName: Match.absent() },
    });
    dev.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: { BucketName: Match.anyValue() },
    });
  });
});
