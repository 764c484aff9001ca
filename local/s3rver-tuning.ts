/**
 * s3rver does disk and logging work on every request that answers nothing the pipeline asks
 * (docs/PERFORMANCE.md, "Local pipeline: where the time goes"); `tuneS3rver` removes it without
 * changing what any request returns:
 * - its `cors` and `website` middleware read the bucket's configuration from disk (two file opens,
 *   usually failing with ENOENT), and every route `stat`s the bucket's folder to know it exists.
 *   Buckets and their configuration change only through the same store, so both are kept in memory
 *   and forgotten whenever the store writes or deletes them. Object-level subresources (tags, ACLs)
 *   are not cached.
 * - a silent s3rver still formats a koa-logger line for every response and hands it to a winston
 *   transport that drops it; with `silent` that middleware is left out.
 * And it adds what s3rver leaves out and the pipeline relies on: `x-amz-tagging-count` on a
 * GetObject or HeadObject of an object with tags (`reportTagCount`).
 */
import type S3rver from 's3rver';

/** The part of s3rver's FilesystemStore this wraps (s3rver/lib/stores/filesystem.js). */
interface BucketStore {
  getBucket(bucket: string): Promise<unknown>;
  putBucket(bucket: string): Promise<unknown>;
  getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<unknown>;
  deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<unknown>;
  reset(): unknown;
}

/**
 * Before `run()`: koa composes its middleware when the server starts listening. `onDisk`: the store
 * is s3rver's FilesystemStore, whose bucket reads are worth caching (not local/s3-memory-store.ts).
 */
export function tuneS3rver(s3rver: S3rver, { onDisk = true }: { onDisk?: boolean } = {}): void {
  if (onDisk) cacheBucketState(s3rver);
  reportTagCount(s3rver);
  const app = s3rver as unknown as { silent?: boolean; middleware?: { name: string }[] };
  // The first middleware s3rver adds is koa-logger's, named `logger` (s3rver/lib/middleware/logger.js).
  if (app.silent && Array.isArray(app.middleware) && app.middleware[0]?.name === 'logger')
    app.middleware.splice(0, 1);
}

/** What s3rver's FilesystemStore.getObject resolves to: `metadata` becomes the response's headers. */
interface StoredObject {
  metadata: Record<string, string>;
}

/** s3rver's parsed `<Tagging><TagSet><Tag>…` (s3rver/lib/models/config.js): one tag, or a list. */
interface TaggingConfig {
  rawConfig?: { Tagging?: { TagSet?: { Tag?: unknown } | '' } };
}

/**
 * S3 answers a GetObject or HeadObject with `x-amz-tagging-count` when the object has tags (and
 * leaves it out when it has none); s3rver never sends it. The moderate function writes its verdict
 * tags without reading the upload's tags when its read found none (shared/actions/verdict-actions.ts),
 * so without the header it would replace an uploader's tags here that it keeps on AWS. The store's
 * object read also reads the tags, side by side; s3rver sends every metadata entry as a header.
 */
export function reportTagCount(s3rver: S3rver): void {
  const store = (s3rver as unknown as { store?: BucketStore & { getObject?: unknown } }).store;
  if (!store || typeof store.getObject !== 'function') return;
  const getObject = store.getObject as (
    bucket: string,
    key: string,
    options: unknown,
  ) => Promise<StoredObject | null>;
  store.getObject = async (bucket: string, key: string, options: unknown) => {
    const [object, tagging] = await Promise.all([
      getObject.call(store, bucket, key, options),
      store.getSubresource(bucket, key, 'tagging') as Promise<TaggingConfig | null>,
    ]);
    const tagSet = tagging?.rawConfig?.Tagging?.TagSet;
    const count = typeof tagSet === 'object' ? [tagSet.Tag ?? []].flat().length : 0;
    if (object && count > 0) object.metadata['x-amz-tagging-count'] = String(count);
    return object;
  };
}

export function cacheBucketState(s3rver: S3rver): void {
  const store = (s3rver as unknown as { store?: BucketStore }).store;
  // Another s3rver layout: leave it alone rather than guess (only speed is lost).
  if (!store || typeof store.getSubresource !== 'function' || typeof store.getBucket !== 'function') return;
  const cache = new Map<string, Promise<unknown>>();
  const id = (bucket: string, type: string) => `${bucket}\0${type}`;
  const forgetBucket = (bucket: string) => {
    for (const k of cache.keys()) if (k.startsWith(`${bucket}\0`)) cache.delete(k);
  };
  /** The cached read of `k`; a failed read is not remembered: the next request reads the disk again. */
  const cached = (k: string, read: () => Promise<unknown>) => {
    let value = cache.get(k);
    if (!value) {
      value = read();
      cache.set(k, value);
      value.catch(() => cache.delete(k));
    }
    return value;
  };
  const { getBucket, putBucket, getSubresource, putSubresource, deleteSubresource, deleteBucket, reset } =
    store;
  // `\0bucket` cannot clash with a configuration's `bucket\0type`: bucket names have no NUL.
  store.getBucket = (bucket) => cached(id('', bucket), () => getBucket.call(store, bucket));
  store.putBucket = async (bucket) => {
    try {
      return await putBucket.call(store, bucket);
    } finally {
      cache.delete(id('', bucket));
    }
  };
  store.getSubresource = (bucket, key, type) =>
    key !== undefined
      ? getSubresource.call(store, bucket, key, type)
      : cached(id(bucket, type), () => getSubresource.call(store, bucket, undefined, type));
  store.putSubresource = async (bucket, key, resource) => {
    if (key === undefined) cache.delete(id(bucket, resource.type));
    try {
      return await putSubresource.call(store, bucket, key, resource);
    } finally {
      if (key === undefined) cache.delete(id(bucket, resource.type));
    }
  };
  store.deleteSubresource = async (bucket, key, type) => {
    try {
      return await deleteSubresource.call(store, bucket, key, type);
    } finally {
      if (key === undefined) cache.delete(id(bucket, type));
    }
  };
  store.deleteBucket = async (bucket) => {
    try {
      return await deleteBucket.call(store, bucket);
    } finally {
      forgetBucket(bucket);
      cache.delete(id('', bucket));
    }
  };
  store.reset = () => {
    cache.clear();
    return reset.call(store);
  };
}
