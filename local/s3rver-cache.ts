/**
 * s3rver reads the bucket's CORS and website configuration from disk on every request (its `cors`
 * and `website` middleware call `store.getSubresource(bucket, undefined, …)` before any handler):
 * two file opens, usually failing with ENOENT, per request. In the pipeline's profile that was the
 * S3 emulator's largest cost (docs/PERFORMANCE.md, "Local pipeline: where the time goes"). Bucket
 * configuration changes only through the same store, so it is kept in memory here and forgotten
 * whenever the store writes or deletes it. Object-level subresources (tags, ACLs) are not cached.
 */
import type S3rver from 's3rver';

/** The part of s3rver's FilesystemStore this wraps (s3rver/lib/stores/filesystem.js). */
interface SubresourceStore {
  getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<unknown>;
  deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<unknown>;
  reset(): unknown;
}

export function cacheBucketSubresources(s3rver: S3rver): void {
  const store = (s3rver as unknown as { store?: SubresourceStore }).store;
  // Another s3rver layout: leave it alone rather than guess (only speed is lost).
  if (!store || typeof store.getSubresource !== 'function') return;
  const cache = new Map<string, Promise<unknown>>();
  const id = (bucket: string, type: string) => `${bucket}\0${type}`;
  const forgetBucket = (bucket: string) => {
    for (const k of cache.keys()) if (k.startsWith(`${bucket}\0`)) cache.delete(k);
  };
  const { getSubresource, putSubresource, deleteSubresource, deleteBucket, reset } = store;
  store.getSubresource = (bucket, key, type) => {
    if (key !== undefined) return getSubresource.call(store, bucket, key, type);
    const k = id(bucket, type);
    let config = cache.get(k);
    if (!config) {
      config = getSubresource.call(store, bucket, undefined, type);
      cache.set(k, config);
      // A failed read is not remembered: the next request reads the disk again.
      config.catch(() => cache.delete(k));
    }
    return config;
  };
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
    }
  };
  store.reset = () => {
    cache.clear();
    return reset.call(store);
  };
}
