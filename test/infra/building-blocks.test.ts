/**
 * The private building blocks every bucket and work queue of the pipeline is made of
 * (infra/constructs/private/secure-bucket.ts, work-queue.ts), on their own and in the stack.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecureBucket } from '#infra/constructs/private/secure-bucket.ts';
import { WorkQueue } from '#infra/constructs/private/work-queue.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

type Resource = {
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

const newStack = () => new Stack(new App({ builtinCloudFormationValidation: false }), 'Blocks');

const tlsDeny = (condition: object) =>
  Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: condition });

describe('SecureBucket', () => {
  it('makes a data bucket KMS-encrypted with a bucket key, versioned, logged, private and TLS 1.2+ only', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const logs = s3.Bucket.fromBucketName(stack, 'Logs', 'logs');
    new SecureBucket(stack, 'Data', {
      encryptionKey: key,
      serverAccessLogs: { bucket: logs, prefix: 'data/' },
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      // Retained, except when the stack's first create fails: then nothing is left behind.
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: { DestinationBucketName: 'logs', LogFilePrefix: 'data/' },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          tlsDeny({ Bool: { 'aws:SecureTransport': 'false' } }),
          tlsDeny({ NumericLessThan: { 's3:TlsVersion': 1.2 } }),
        ]),
      },
    });
  });

  it('makes the access-log target SSE-S3, unversioned and without logs of its own', () => {
    const stack = newStack();
    new SecureBucket(stack, 'AccessLogs', {
      purpose: 'access-logs',
      lifecycleRules: [{ expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: Match.absent(),
        LoggingConfiguration: Match.absent(),
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true }),
        LifecycleConfiguration: { Rules: [{ ExpirationInDays: 30, Status: 'Enabled' }] },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([tlsDeny({ Bool: { 'aws:SecureTransport': 'false' } })]) },
    });
  });

  it('rejects a data bucket without a key or access logs, and an access-log target with either', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'Logs', 'logs');
    expect(
      () => new SecureBucket(stack, 'NoKey', { serverAccessLogs: { bucket: logs, prefix: 'x/' } }),
    ).toThrow('data bucket NoKey needs encryptionKey and serverAccessLogs, got serverAccessLogs');
    expect(() => new SecureBucket(stack, 'Bare')).toThrow(
      'data bucket Bare needs encryptionKey and serverAccessLogs, got neither',
    );
    expect(
      () =>
        new SecureBucket(stack, 'LoggedLogs', {
          purpose: 'access-logs',
          serverAccessLogs: { bucket: logs, prefix: 'x/' },
        }),
    ).toThrow('access-logs bucket LoggedLogs takes no encryptionKey or serverAccessLogs');
  });
});

describe('WorkQueue', () => {
  it('encrypts both queues with its own key, dead-letters after maxReceiveCount and requires TLS', () => {
    const stack = newStack();
    const work = new WorkQueue(stack, 'Work', {
      consumerTimeout: Duration.minutes(2),
      maxBatchingWindow: Duration.seconds(5),
      maxReceiveCount: 3,
      keyDescription: 'Test queues',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    const id = (c: { node: { defaultChild?: unknown } }) =>
      stack.resolve((c.node.defaultChild as kms.CfnKey).logicalId) as string;
    template.hasResourceProperties('AWS::KMS::Key', { Description: 'Test queues', EnableKeyRotation: true });
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const queue = resources[id(work.queue)]!;
    const dlq = resources[id(work.deadLetterQueue)]!;
    expect(queue.Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [id(work.key), 'Arn'] },
      // 6 × the consumer's timeout + its batching window.
      VisibilityTimeout: 6 * 120 + 5,
      MessageRetentionPeriod: 4 * 24 * 3600,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id(work.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 3,
      },
    });
    expect(dlq.Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [id(work.key), 'Arn'] },
      MessageRetentionPeriod: 14 * 24 * 3600,
      // 6 × its own consumer's timeout (default 1 minute), not SQS's 30 s default.
      VisibilityTimeout: 6 * 60,
    });
    expect(queue.DeletionPolicy).toBe('Delete');
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
      2,
    );
    expect(work.metricDeadLetterArrivals().statistic).toBe('Sum');
    expect(work.metricOldestMessageAge().metricName).toBe('ApproximateAgeOfOldestMessage');
  });

  it('uses a given key instead of creating one', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Given');
    const work = new WorkQueue(stack, 'Work', { encryptionKey: key });
    expect(work.key).toBe(key);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  it('sizes the dead-letter visibility from the dead-letter consumer’s timeout', () => {
    const stack = newStack();
    const work = new WorkQueue(stack, 'Work', { deadLetterConsumerTimeout: Duration.seconds(45) });
    const dlq = Template.fromStack(stack).toJSON().Resources[
      stack.resolve((work.deadLetterQueue.node.defaultChild as kms.CfnKey).logicalId) as string
    ] as Resource;
    expect(dlq.Properties.VisibilityTimeout).toBe(6 * 45);
    expect(() => new WorkQueue(newStack(), 'Work', { deadLetterConsumerTimeout: Duration.hours(3) })).toThrow(
      'dead-letter visibility timeout (6 × deadLetterConsumerTimeout) must be at most 12 hours, got 64800 s',
    );
  });

  it('rejects a visibility timeout over SQS’s 12 hours, with the value', () => {
    expect(() => new WorkQueue(newStack(), 'Work', { consumerTimeout: Duration.hours(3) })).toThrow(
      'visibility timeout (6 × consumerTimeout + maxBatchingWindow) must be at most 12 hours, got 64800 s',
    );
  });
});

describe('in the stack', () => {
  let dev: TestPipeline;
  beforeAll(() => {
    dev = buildPipeline('dev');
  });

  it('builds every bucket from SecureBucket and every work queue from WorkQueue', () => {
    const buckets = [
      dev.stack.ingest.bucket,
      dev.stack.ingest.accessLogsBucket,
      dev.stack.quarantine.bucket,
      dev.stack.matchLists.bucket,
      dev.stack.reviewConsole.bucket,
    ];
    for (const bucket of buckets) expect(bucket, bucket.node.path).toBeInstanceOf(SecureBucket);
    dev.template.resourceCountIs('AWS::S3::Bucket', buckets.length);
    expect(dev.stack.ingest.work).toBeInstanceOf(WorkQueue);
    expect(dev.stack.longMedia.work).toBeInstanceOf(WorkQueue);
    expect(dev.stack.webhookSender.work).toBeInstanceOf(WorkQueue);
    // Each work queue and its dead-letter queue.
    dev.template.resourceCountIs('AWS::SQS::Queue', 6);
  });

  it('keeps the logical ids the queues, keys and buckets had before the building blocks', () => {
    const { ingest, longMedia, quarantine } = dev.stack;
    expect(
      [
        ingest.queue,
        ingest.deadLetterQueue,
        ingest.queueKey,
        ingest.bucket,
        ingest.accessLogsBucket,
        longMedia.queue,
        longMedia.deadLetterQueue,
        longMedia.key,
        quarantine.bucket,
      ].map((c) => logicalId(dev, c)),
    ).toEqual([
      'IngestQueue95F6DB49',
      'IngestDeadLetterQueueE8016E9B',
      'IngestQueueKey8EC6F881',
      'IngestUploadsB1FC20DD',
      'IngestAccessLogs70FDC781',
      'LongMediaQueue892C69D0',
      'LongMediaDeadLetterQueue452426B3',
      'LongMediaKeyB94C94A0',
      'QuarantineBucket2B128B57',
    ]);
  });
});
