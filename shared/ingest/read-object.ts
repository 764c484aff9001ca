import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { type ErrorCode, ModerationError } from '#shared/domain/errors.ts';

/** S3 error names that mean "this object can't be read", as opposed to "S3 is having trouble". */
function unreadableCode(err: unknown, notFound: ErrorCode): ErrorCode | undefined {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchVersion' || status === 404)
    return notFound;
  if (e.name === 'AccessDenied' || status === 403) return 'ACCESS_DENIED';
  return undefined;
}

export interface ReadOptions {
  bucket: string;
  key: string;
  versionId?: string;
  maxBytes: number;
  /** Code for a missing object: the upload itself, or a medium a post references. */
  notFound?: ErrorCode;
}

/** An object's bytes and what its GetObject response said about its tags. */
export interface ObjectRead {
  bytes: Uint8Array;
  /**
   * The tags on the version read: S3's `x-amz-tagging-count`, which S3 leaves out when there are
   * none (and for a caller that may not read tags: the moderate functions are granted that).
   */
  tagCount: number;
}

/** Downloads one object's bytes (`readObjectAndTagCount`). */
export async function readObject(s3: S3Client, opts: ReadOptions): Promise<Uint8Array> {
  return (await readObjectAndTagCount(s3, opts)).bytes;
}

/**
 * Downloads one object, refusing anything over `maxBytes` from its Content-Length and again while
 * streaming (a lying header can't make the function buffer more than the limit).
 */
export async function readObjectAndTagCount(s3: S3Client, opts: ReadOptions): Promise<ObjectRead> {
  const notFound = opts.notFound ?? 'OBJECT_NOT_FOUND';
  let response: GetObjectCommandOutput;
  try {
    response = await s3.send(
      new GetObjectCommand({ Bucket: opts.bucket, Key: opts.key, VersionId: opts.versionId }),
    );
  } catch (err) {
    const code = unreadableCode(err, notFound);
    if (code)
      throw new ModerationError(code, `cannot read s3://${opts.bucket}/${opts.key}: ${(err as Error).name}`, {
        cause: err,
      });
    throw err;
  }
  const tagCount = response.TagCount ?? 0;
  const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (!body) return { bytes: new Uint8Array(), tagCount };
  if ((response.ContentLength ?? 0) > opts.maxBytes) {
    body.destroy?.();
    throw new ModerationError(
      'TOO_LARGE',
      `object is ${response.ContentLength} bytes; the limit is ${opts.maxBytes}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > opts.maxBytes) {
      body.destroy?.();
      throw new ModerationError('TOO_LARGE', `object is over the ${opts.maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), tagCount };
}
