import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3rver } from '#local/s3-emulator.ts';
import { cacheBucketState, tuneS3rver } from '#local/s3rver-tuning.ts';

/** A stand-in for s3rver's FilesystemStore: counts the reads that would touch the disk. */
function fakeS3rver() {
  const files = new Map<string, string>();
  const reads: string[] = [];
  const path = (bucket: string, key: string | undefined, type: string) => `${bucket}/${key ?? ''}/${type}`;
  const buckets = new Set<string>();
  const store = {
    async getBucket(bucket: string) {
      reads.push(`stat ${bucket}`);
      return buckets.has(bucket) ? { name: bucket } : null;
    },
    async putBucket(bucket: string) {
      buckets.add(bucket);
    },
    async getSubresource(bucket: string, key: string | undefined, type: string) {
      reads.push(path(bucket, key, type));
      return files.get(path(bucket, key, type)) ?? null;
    },
    async putSubresource(bucket: string, key: string | undefined, resource: { type: string; body: string }) {
      files.set(path(bucket, key, resource.type), resource.body);
    },
    async deleteSubresource(bucket: string, key: string | undefined, type: string) {
      files.delete(path(bucket, key, type));
    },
    async deleteBucket(bucket: string) {
      buckets.delete(bucket);
      for (const k of files.keys()) if (k.startsWith(`${bucket}/`)) files.delete(k);
    },
    reset() {
      buckets.clear();
      files.clear();
    },
  };
  return { s3rver: { store } as never, store, reads };
}

describe('cacheBucketState', () => {
  it('reads a bucket configuration from disk once, and again after the store writes or deletes it', async () => {
    // Arrange
    const { s3rver, store, reads } = fakeS3rver();
    cacheBucketState(s3rver);

    // Act
    const first = await store.getSubresource('b', undefined, 'cors');
    const second = await store.getSubresource('b', undefined, 'cors');
    await store.putSubresource('b', undefined, { type: 'cors', body: '<CORS/>' });
    const afterPut = await store.getSubresource('b', undefined, 'cors');
    await store.deleteSubresource('b', undefined, 'cors');
    const afterDelete = await store.getSubresource('b', undefined, 'cors');

    // Assert
    expect([first, second, afterPut, afterDelete]).toEqual([null, null, '<CORS/>', null]);
    expect(reads).toEqual(['b//cors', 'b//cors', 'b//cors']);
  });

  it('never caches an object-level subresource (tags change with every verdict)', async () => {
    // Arrange
    const { s3rver, store, reads } = fakeS3rver();
    cacheBucketState(s3rver);

    // Act
    await store.getSubresource('b', 'k', 'tagging');
    await store.putSubresource('b', 'k', { type: 'tagging', body: '<Tagging/>' });
    const tags = await store.getSubresource('b', 'k', 'tagging');

    // Assert
    expect(tags).toBe('<Tagging/>');
    expect(reads).toEqual(['b/k/tagging', 'b/k/tagging']);
  });

  it('forgets a bucket deleted or a store reset', async () => {
    // Arrange
    const { s3rver, store, reads } = fakeS3rver();
    cacheBucketState(s3rver);
    await store.getSubresource('b', undefined, 'website');

    // Act
    await store.deleteBucket('b');
    await store.getSubresource('b', undefined, 'website');
    store.reset();
    await store.getSubresource('b', undefined, 'website');

    // Assert
    expect(reads).toHaveLength(3);
  });

  it('stats a bucket once, and again after it is created or deleted', async () => {
    // Arrange
    const { s3rver, store, reads } = fakeS3rver();
    cacheBucketState(s3rver);

    // Act
    const missing = [await store.getBucket('b'), await store.getBucket('b')];
    await store.putBucket('b');
    const created = [await store.getBucket('b'), await store.getBucket('b')];
    await store.deleteBucket('b');
    const deleted = await store.getBucket('b');

    // Assert
    expect(missing).toEqual([null, null]);
    expect(created).toEqual([{ name: 'b' }, { name: 'b' }]);
    expect(deleted).toBeNull();
    expect(reads).toEqual(['stat b', 'stat b', 'stat b']);
  });
});

describe('tuneS3rver', () => {
  it('leaves out the request logger of a silent s3rver, and only then', () => {
    // Arrange
    const silent = new S3rver({ silent: true, directory: '/nonexistent' });
    const loud = new S3rver({ silent: false, directory: '/nonexistent' });
    const names = (s: S3rver) =>
      (s as unknown as { middleware: { name: string }[] }).middleware.map((m) => m.name);
    const before = names(silent);

    // Act
    tuneS3rver(silent);
    tuneS3rver(loud);

    // Assert
    expect(before[0]).toBe('logger');
    expect(names(silent)).toEqual(before.slice(1));
    expect(names(loud)[0]).toBe('logger');
  });
});

describe('a tuned s3rver, through the S3 client', () => {
  let dir: string;
  let s3rver: S3rver;
  let s3: S3Client;
  const Bucket = 'b';
  const tag = (Key: string, Value: string) => ({ Key, Value });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3rver-tuning-'));
    s3rver = localS3rver(dir, [Bucket]);
    const { port } = await s3rver.run();
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await s3rver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts an object’s tags on GetObject and HeadObject as S3 does, and leaves the count out when there are none', async () => {
    // Arrange
    for (const Key of ['none.txt', 'one.txt', 'three.txt'])
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    await s3.send(
      new PutObjectTaggingCommand({ Bucket, Key: 'one.txt', Tagging: { TagSet: [tag('owner', 'u1')] } }),
    );
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket,
        Key: 'three.txt',
        Tagging: { TagSet: [tag('a', '1'), tag('b', '2'), tag('c', '3')] },
      }),
    );

    // Act
    const counts = async (Key: string) => {
      const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
      await got.Body?.transformToString();
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
      return [got.TagCount, head.TagCount];
    };

    // Assert
    expect(await counts('none.txt')).toEqual([undefined, undefined]);
    expect(await counts('one.txt')).toEqual([1, 1]);
    expect(await counts('three.txt')).toEqual([3, 3]);
  });
});
