import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SecureBucket } from './private/secure-bucket.ts';

export interface QuarantineBucketProps {
  /** Where S3 server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Expire overwritten versions after this long. @default 365 days */
  readonly noncurrentVersionExpiration?: Duration;
  /** @default RemovalPolicy.RETAIN */
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
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Quarantined uploads',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.bucket = new SecureBucket(this, 'Bucket', {
      encryptionKey: this.encryptionKey,
      serverAccessLogs: { bucket: props.accessLogsBucket, prefix: 'quarantine-bucket/' },
      lifecycleRules: [
        {
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(365),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });
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
