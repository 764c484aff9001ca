import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeWildcards, arnPatternFinding } from './private/nag.ts';

export interface AsyncInferenceStoreProps {
  readonly accessLogsBucket: s3.IBucket;
  /** Requests and responses are transient: expire them after this long. @default 7 days */
  readonly expiration?: Duration;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What asynchronous endpoints exchange through: a bucket for request payloads (`<model>/inputs/`)
 * and responses (`<model>/outputs/`, `<model>/failures/`), and the SNS topics SageMaker announces
 * completions on. All under one key.
 */
export class AsyncInferenceStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly encryptionKey: kms.Key;
  readonly successTopic: sns.Topic;
  readonly errorTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: AsyncInferenceStoreProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Asynchronous inference payloads and notifications',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'async-inference-bucket/',
      lifecycleRules: [
        {
          expiration: props.expiration ?? Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });
    this.successTopic = new sns.Topic(this, 'SuccessTopic', {
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    this.errorTopic = new sns.Topic(this, 'ErrorTopic', { masterKey: this.encryptionKey, enforceSSL: true });
  }

  /** What a caller of an async endpoint needs: write request payloads, read responses, for one model. */
  grantSubmit(grantee: iam.IGrantable, modelName: string): void {
    this.bucket.grantPut(grantee, `${modelName}/inputs/*`);
    this.bucket.grantRead(grantee, `${modelName}/outputs/*`);
    this.bucket.grantRead(grantee, `${modelName}/failures/*`);
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    acknowledgeWildcards(
      principal,
      ['inputs', 'outputs', 'failures'].flatMap((dir) => {
        const id = arnPatternFinding(this.bucket, `${modelName}/${dir}/*`);
        return id
          ? [
              [
                id,
                `Async ${dir} objects are named per request at run time; limited to one model's prefix.`,
              ] as const,
            ]
          : [];
      }),
    );
  }
}
