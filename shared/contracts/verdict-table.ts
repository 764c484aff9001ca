/** The verdicts table's key design, shared by the CDK construct and the local mode so both match. */
export const VERDICT_TABLE = {
  /** `bucket/key#versionId` (or `#etag` for unversioned buckets): one item per object version. */
  partitionKey: 'pk',
  /** The review queue: every `review` (or `block`, `error`) verdict in time order. */
  reviewIndex: { name: 'by-decision', partitionKey: 'decision', sortKey: 'createdAt' },
  /**
   * The people's queue (sparse): only items waiting for a person carry `queue` (`review` or
   * `appeal`) and `queuedAt`; a decision removes both, so the item leaves the queue.
   */
  queueIndex: { name: 'by-queue', partitionKey: 'queue', sortKey: 'queuedAt' },
} as const;

/** The append-only audit trail of people's actions: one item per action, never updated or deleted. */
export const AUDIT_TABLE = { partitionKey: 'verdictId', sortKey: 'at' } as const;

/**
 * A verdict's stable, URL-safe id (`GET /v1/verdicts/{id}`): its table key, base64url-encoded, so
 * the id leads straight to the item with no index, for S3 uploads and API requests alike.
 */
const MAX_KEY_BYTES = 2048;

export function verdictId(pk: string): string {
  return Buffer.from(pk, 'utf8').toString('base64url');
}

/** The table key an id names, or undefined when the id is not one `verdictId` could have made. */
export function verdictPkOf(id: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,2800}$/.test(id)) return undefined;
  const pk = Buffer.from(id, 'base64url').toString('utf8');
  // DynamoDB refuses keys over 2048 bytes: such an id names nothing (404), it is not worth a retry.
  return verdictId(pk) === id && Buffer.byteLength(pk, 'utf8') <= MAX_KEY_BYTES ? pk : undefined;
}
