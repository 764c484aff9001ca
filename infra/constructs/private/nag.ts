import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A finding to acknowledge and why it is as narrow as the API allows. */
export type Finding = readonly [id: string, reason: string];

/**
 * How cdk-nag names a wildcard object ARN in a finding: `Resource::<LogicalId.Arn>/<pattern>`.
 * Undefined for imported resources (no logical id in this stack).
 */
export function arnPatternFinding(resource: IConstruct, pattern: string): string | undefined {
  const cfn = resource.node.defaultChild as CfnElement | undefined;
  if (!cfn || typeof (cfn as { logicalId?: unknown }).logicalId !== 'string') return undefined;
  const logicalId = Stack.of(resource).resolve(cfn.logicalId) as string;
  return `Resource::<${logicalId}.Arn>/${pattern}`;
}

/** Acknowledges AwsSolutions-IAM5 findings on `scope` (and its children, e.g. the role's policy). */
export function acknowledgeWildcards(scope: IConstruct, findings: readonly Finding[]): void {
  for (const [id, reason] of findings)
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${id}]`, reason });
}

/** The action groups `grantRead`/`grantPut` on S3 and KMS use; one reason each. */
export const GRANT_ACTION_FINDINGS = {
  s3Read: [
    [
      'Action::s3:GetObject*',
      'grantRead: GetObject/GetObjectVersion (and their tag/ACL reads) on the granted keys only.',
    ],
    ['Action::s3:GetBucket*', 'grantRead: metadata reads of the one granted bucket.'],
    [
      'Action::s3:List*',
      'grantRead: listing the one granted bucket (a missing key then reads as 404, not 403).',
    ],
  ],
  s3Put: [['Action::s3:Abort*', 'grantPut: aborting its own multipart uploads into the granted keys.']],
  kms: [
    [
      'Action::kms:GenerateDataKey*',
      "KMS grants on the stack's own keys: data keys for the encrypted resources only.",
    ],
    ['Action::kms:ReEncrypt*', "KMS grants on the stack's own keys: re-encryption under the same keys only."],
  ],
} satisfies Record<string, readonly Finding[]>;
