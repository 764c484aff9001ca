import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** What a bucket holds, which decides its encryption, versioning and logging. */
export type SecureBucketPurpose = 'data' | 'access-logs';

export interface SecureBucketProps {
  /**
   * `data`: SSE-KMS with `encryptionKey` and S3 Bucket Keys, versioned, TLS 1.2 or later, server
   * access logs to `serverAccessLogs`. `access-logs`: the server access log target, so SSE-S3 (log
   * delivery cannot write SSE-KMS), unversioned and without access logs of its own (they would loop).
   * @default 'data'
   */
  readonly purpose?: SecureBucketPurpose;
  /** @default a name CloudFormation generates */
  readonly bucketName?: string;
  /** Required for a `data` bucket; not allowed on the `access-logs` one. */
  readonly encryptionKey?: kms.IKey;
  /** Where a `data` bucket's server access logs go, under `prefix` (required for a `data` bucket). */
  readonly serverAccessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** @default none */
  readonly lifecycleRules?: s3.LifecycleRule[];
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An S3 bucket with what every bucket of the pipeline has: all public access blocked, ACLs off
 * (bucket owner enforced), TLS required by the bucket policy, and the encryption, versioning and
 * access logging its purpose needs. An `s3.Bucket` itself, so construct ids and logical ids are
 * those of a plain bucket.
 */
export class SecureBucket extends s3.Bucket {
  readonly purpose: SecureBucketPurpose;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    const purpose = props.purpose ?? 'data';
    const given = [props.encryptionKey && 'encryptionKey', props.serverAccessLogs && 'serverAccessLogs']
      .filter(Boolean)
      .join(' and ');
    if (purpose === 'data' && (!props.encryptionKey || !props.serverAccessLogs)) {
      throw new Error(
        `data bucket ${id} needs encryptionKey and serverAccessLogs, got ${given || 'neither'}`,
      );
    }
    if (purpose === 'access-logs' && given) {
      throw new Error(
        `access-logs bucket ${id} takes no encryptionKey or serverAccessLogs (SSE-S3, no logs of its own), got ${given}`,
      );
    }
    const common = {
      bucketName: props.bucketName,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: props.lifecycleRules,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    } satisfies s3.BucketProps;
    super(
      scope,
      id,
      purpose === 'data'
        ? {
            ...common,
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: props.encryptionKey,
            // S3 Bucket Keys cut KMS requests (and their cost) per object by orders of magnitude.
            bucketKeyEnabled: true,
            minimumTLSVersion: 1.2,
            versioned: true,
            serverAccessLogsBucket: props.serverAccessLogs?.bucket,
            serverAccessLogsPrefix: props.serverAccessLogs?.prefix,
          }
        : // Server access log delivery supports only SSE-S3 on the target bucket.
          { ...common, encryption: s3.BucketEncryption.S3_MANAGED },
    );
    this.purpose = purpose;
    if (purpose === 'access-logs') {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log target; logging its own access would loop.',
      });
    }
  }
}

export interface KeyedBucketProps {
  /** The KMS key's description. */
  readonly keyDescription: string;
  /** Where S3 server access logs go, and under which prefix. */
  readonly accessLogsBucket: s3.IBucket;
  readonly accessLogsPrefix: string;
  /** Expire overwritten versions after this long. @default 365 days */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A versioned data bucket with a KMS key of its own, so access to what it holds is granted and
 * audited apart from everything else (quarantined uploads, hash banks). Created in `scope` as
 * `Key` and `Bucket`, the construct ids those buckets have always had.
 */
export function keyedBucket(
  scope: Construct,
  props: KeyedBucketProps,
): { bucket: SecureBucket; encryptionKey: kms.Key } {
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
  const encryptionKey = new kms.Key(scope, 'Key', {
    description: props.keyDescription,
    enableKeyRotation: true,
    removalPolicy,
  });
  const bucket = new SecureBucket(scope, 'Bucket', {
    encryptionKey,
    serverAccessLogs: { bucket: props.accessLogsBucket, prefix: props.accessLogsPrefix },
    lifecycleRules: [
      {
        noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(365),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy,
  });
  return { bucket, encryptionKey };
}
