import { z } from 'zod';

/** One S3 object version to moderate, as named by an S3 event notification. */
export interface ObjectRef {
  bucket: string;
  /** Decoded key (notifications URL-encode keys, with `+` for space). */
  key: string;
  versionId?: string;
  eTag?: string;
  size?: number;
  /**
   * S3's per-key event order (hex), normalised by `normaliseSequencer`: a later PUT of the same key
   * has a greater sequencer. Absent in hand-made events.
   */
  sequencer?: string;
}

const s3Record = z.object({
  eventSource: z.literal('aws:s3'),
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      // A hex string on AWS; some emulators send a number.
      sequencer: z.union([z.string(), z.number()]).optional(),
    }),
  }),
});

const notification = z.union([
  z.object({ Records: z.array(s3Record) }),
  // S3 sends this once when a notification is configured; it names no object.
  z.object({ Event: z.literal('s3:TestEvent') }),
]);

export class NotificationParseError extends Error {
  override name = 'NotificationParseError';
}

/** Keys in S3 notifications are form-encoded: `+` is a space and everything else is %XX. */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The inverse of `decodeS3Key`: how S3 writes a key into a notification. */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');
}

/** The objects named by one SQS message body that carries an S3 notification. */
export function parseS3Notification(body: string): ObjectRef[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new NotificationParseError('message body is not JSON', { cause });
  }
  const parsed = notification.safeParse(json);
  if (!parsed.success) {
    throw new NotificationParseError(
      `message body is not an S3 notification: ${parsed.error.issues[0]?.message}`,
    );
  }
  if (!('Records' in parsed.data)) return [];
  return parsed.data.Records.filter((r) => r.eventName.startsWith('ObjectCreated')).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeS3Key(r.s3.object.key),
    versionId: r.s3.object.versionId,
    eTag: r.s3.object.eTag,
    size: r.s3.object.size,
    sequencer: normaliseSequencer(r.s3.object.sequencer),
  }));
}

/** Stored sequencers are padded to this many hex digits, so DynamoDB's string order is S3's event order. */
export const SEQUENCER_WIDTH = 64;

/**
 * S3 sequencers are hex strings of varying length; S3's documentation says to right-pad the shorter
 * with zeros and compare lexicographically. Padding every one to a fixed width (upper case) makes a
 * plain string comparison — in code or in a DynamoDB condition — give the same order. A value that is
 * not hex (or is absurdly long) is treated as absent rather than trusted for ordering.
 */
export function normaliseSequencer(raw: string | number | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const hex = (typeof raw === 'number' ? Math.trunc(raw).toString(16) : raw).toUpperCase();
  if (!/^[0-9A-F]{1,64}$/.test(hex)) return undefined;
  return hex.padEnd(SEQUENCER_WIDTH, '0');
}

/** The verdict's partition key: one item per object version (ETag when the bucket is unversioned). */
export function verdictKey(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.key}#${ref.versionId ?? ref.eTag ?? 'unversioned'}`;
}

/**
 * The key of the per-object "latest" pointer item: which version's verdict is current for a key.
 * Bucket names cannot contain `#`, so it never collides with a verdict's `bucket/key#version`.
 */
export function latestKey(ref: Pick<ObjectRef, 'bucket' | 'key'>): string {
  return `latest#${ref.bucket}/${ref.key}`;
}
