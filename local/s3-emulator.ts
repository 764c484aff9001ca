/** The local S3: s3rver on a data folder's files (the stack's S3 thread, replay's own server). */
import { join } from 'node:path';
import S3rver from 's3rver';
import { tuneS3rver } from './s3rver-tuning.ts';

/** Where a data folder keeps its S3 buckets (s3rver's files): uploads, kept inputs, match lists. */
export const localS3Path = (dataDir: string) => join(dataDir, 's3');

/** s3rver on a data folder's S3 files, on a free local port, creating `buckets` if missing. */
export function localS3rver(dataDir: string, buckets: readonly string[] = []): S3rver {
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: localS3Path(dataDir),
    allowMismatchedSignatures: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  tuneS3rver(s3rver);
  return s3rver;
}
