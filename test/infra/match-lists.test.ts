import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#shared/contracts/env.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

describe('banks and term lists', () => {
  let dev: TestPipeline;
  beforeAll(() => {
    dev = buildPipeline('dev');
  });

  it('keeps them in a versioned bucket under their own KMS key, with access logs', () => {
    const keyId = logicalId(dev, dev.stack.matchLists.encryptionKey);
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
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
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'match-lists-bucket/' }),
    });
  });

  it('tells both moderate functions where they are', () => {
    const bucketId = logicalId(dev, dev.stack.matchLists.bucket);
    for (const fn of [dev.stack.moderateFunction, dev.stack.longMediaFunction]) {
      const env =
        dev.template.toJSON().Resources[logicalId(dev, fn.function)].Properties.Environment.Variables;
      expect(env[ENV.matchListsBucket]).toEqual({ Ref: bucketId });
    }
  });

  it('grants the functions list and get on the two prefixes only, and decrypt', () => {
    const bucketId = logicalId(dev, dev.stack.matchLists.bucket);
    // The API function's "block and bank" is the one writer (test/infra/review.test.ts).
    const apiRoleId = logicalId(dev, dev.stack.api.handler.role);
    const policies = Object.fromEntries(
      Object.entries(dev.template.findResources('AWS::IAM::Policy')).filter(
        ([, p]) =>
          !JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(apiRoleId),
      ),
    );
    expect(Object.keys(policies).length).toBeGreaterThan(0);
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const onLists = statements.filter((s) => JSON.stringify(s.Resource).includes(bucketId));
    expect(onLists).toContainEqual(
      expect.objectContaining({
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['banks/*', 'terms/*'] } },
      }),
    );
    expect(onLists).toContainEqual(expect.objectContaining({ Action: 's3:GetObject' }));
    // No moderating function may change a bank: writes are for operators and the review routes.
    expect(onLists.flatMap((s) => [s.Action].flat())).not.toContain('s3:PutObject');
    expect(onLists.flatMap((s) => [s.Action].flat()).some((a) => String(a).includes('Delete'))).toBe(false);
  });
});
