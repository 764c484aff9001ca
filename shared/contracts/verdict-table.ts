/** The verdicts table's key design, shared by the CDK construct and the local mode so both match. */
export const VERDICT_TABLE = {
  /** `bucket/key#versionId` (or `#etag` for unversioned buckets): one item per object version. */
  partitionKey: 'pk',
  /** The review queue: every `review` (or `block`, `error`) verdict in time order. */
  reviewIndex: { name: 'by-decision', partitionKey: 'decision', sortKey: 'createdAt' },
} as const;
