import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MATCH_LISTS } from '#shared/contracts/match-lists.ts';
import { keyedBucket } from './private/secure-bucket.ts';

export interface MatchListsProps {
  /** Where S3 server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Expire overwritten versions (old imports, old term lists) after this long. @default 365 days */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept on update and delete, removed when the
   * stack's first create fails and rolls back, so nothing is orphaned and no name blocks a retry)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Banks and term lists (shared/contracts/match-lists.ts): a versioned bucket under its own key,
 * so every change to a bank is kept (who banked what, and what a function had loaded) and access
 * to hashes of known abuse is granted and audited apart from the uploads. The moderate functions
 * read it at cold start and after a TTL; operators and the review console write it.
 *
 * S3 rather than DynamoDB: a bank is loaded whole at cold start, which is one GET per object at
 * S3's throughput (a million PDQ hashes is ~90 MB of CSV) instead of a paginated Scan that reads
 * the same bytes at 1 MB per request; banks import and export as the CSV files they are stored as;
 * versioning gives the audit trail; and appends ("block and bank") are new objects, never a
 * read-modify-write.
 */
export class MatchLists extends Construct {
  readonly bucket: s3.Bucket;
  readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: MatchListsProps) {
    super(scope, id);
    ({ bucket: this.bucket, encryptionKey: this.encryptionKey } = keyedBucket(this, {
      keyDescription: 'Banks and term lists',
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'match-lists-bucket/',
      noncurrentVersionExpiration: props.noncurrentVersionExpiration,
      removalPolicy: props.removalPolicy,
    }));
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  /** The key patterns a grant covers: the banks and the term lists, nothing else in the bucket. */
  static readonly KEY_PATTERNS = [`${MATCH_LISTS.banksPrefix}*`, `${MATCH_LISTS.termsPrefix}*`] as const;

  /**
   * What the moderate functions do: list the two prefixes (to see what changed) and get their
   * objects. No put, no delete.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantDecrypt(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [...MatchLists.KEY_PATTERNS] } },
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: MatchLists.KEY_PATTERNS.map((p) => this.bucket.arnForObjects(p)),
    });
  }

  /**
   * The key patterns "block and bank" writes (shared/matching/store.ts `addSignalsToBank`): a new
   * bank's `bank.json` and the signals added one item at a time. Not a bank's `signals/import.csv`
   * (an operator's import) and nothing under `terms/`.
   */
  static readonly BANK_ADD_PATTERNS = [
    `${MATCH_LISTS.banksPrefix}*/${MATCH_LISTS.bankConfigFile}`,
    `${MATCH_LISTS.banksPrefix}*/${MATCH_LISTS.bankAddedPrefix}*`,
  ] as const;

  /**
   * What the review API's "block and bank" does: read (as `grantRead`), check whether the bank
   * exists (`HeadObject` on its `bank.json`), and put new objects under `BANK_ADD_PATTERNS`. No
   * delete, no term lists, no bank imports.
   */
  grantAddToBanks(grantee: iam.IGrantable): iam.Grant {
    this.grantRead(grantee);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    // S3 answers a HEAD of a missing key with 404 only to a caller allowed to list the bucket, and
    // an `s3:prefix` condition never matches a HEAD (it has no prefix): without this, a bank that
    // does not exist yet reads as 403 and cannot be created. The bucket holds only banks and term
    // lists, which `grantRead` already lets the caller read.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject'],
      resourceArns: MatchLists.BANK_ADD_PATTERNS.map((p) => this.bucket.arnForObjects(p)),
    });
  }

  /** What an operator's import or the review console ("block and bank") does: read, and put new objects. */
  grantWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantRead(grantee);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject'],
      resourceArns: MatchLists.KEY_PATTERNS.map((p) => this.bucket.arnForObjects(p)),
    });
  }
}
