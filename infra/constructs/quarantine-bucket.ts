import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keyedBucket } from './private/secure-bucket.ts';

export interface QuarantineBucketProps {
  /** Where S3 server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Expire overwritten versions after this long. @default 365 days */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Copies of blocked uploads, kept as evidence (`<source bucket>/<key>`, versioned): its own key, so
 * access to blocked content can be granted and audited apart from the uploads.
 */
export class QuarantineBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: QuarantineBucketProps) {
    super(scope, id);
    ({ bucket: this.bucket, encryptionKey: this.encryptionKey } = keyedBucket(this, {
      keyDescription: 'Quarantined uploads',
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'quarantine-bucket/',
      noncurrentVersionExpiration: props.noncurrentVersionExpiration,
      removalPolicy: props.removalPolicy,
    }));
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  /** Put (copy in) quarantined objects with their tags; no read, no delete: evidence stays put. */
  grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantPut(grantee);
  }

  /** Read quarantined objects (reviewers). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantRead(grantee);
  }
}
