/** `s3://bucket/key`, the form verdicts name their object by (and evidence its source). */
export interface S3Location {
  bucket: string;
  key: string;
}

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

/** The URI of an object. Keys are written as they are (no percent-encoding), as the S3 console shows them. */
export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** The bucket and key of an `s3://` URI; undefined for anything else (a local path in CLI output). */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = S3_URI.exec(uri);
  return match ? { bucket: match[1] as string, key: match[2] as string } : undefined;
}
