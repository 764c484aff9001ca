/**
 * s3rver's storage in memory, for a stack whose data folder goes with it (no --data-dir): the same
 * S3 REST protocol, answered by the same s3rver routes, without the file operations its
 * FilesystemStore makes, up to a dozen per request (a body, `.md5` and `.metadata.json` file per
 * object, an `.xml` file per subresource). They were a quarter of the S3 thread's busy samples in a
 * text burst, and more in libuv's file threads, and the 40,000-odd files of 10,000 uploads took
 * seconds to remove (docs/PERFORMANCE.md, "s3rver in memory").
 *
 * Bodies above `spillBytes` go to a file of their own in `spillDir`, as LocalStack's S3 spools large
 * objects to disk: a folder of videos must not have to fit in memory. Everything else — metadata,
 * subresources (tags, CORS), small bodies, multipart parts under the limit — is in maps.
 *
 * The methods and what they resolve to are FilesystemStore's (s3rver/lib/stores/filesystem.js,
 * s3rver 3.7), which s3rver's controllers call; behaviour the controllers rely on is kept, including
 * what FilesystemStore does unlike S3 (a multipart object's ETag is its content's MD5).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3Bucket from 's3rver/lib/models/bucket.js';
import { getConfigModel } from 's3rver/lib/models/config.js';
import S3Object from 's3rver/lib/models/object.js';

/** A body kept in memory, or in a file of its own once it passed the spill size; `size` in bytes either way. */
type Body = { bytes: Buffer; size: number } | { file: string; size: number };

interface StoredObject {
  body: Body;
  md5: string;
  /** What FilesystemStore keeps in `.metadata.json`: S3Object's allowed headers and `x-amz-meta-*`. */
  metadata: Record<string, string>;
  lastModified: Date;
  /** The object's tags and ACL as s3rver writes them (XML, by type); on S3 they go with the object. */
  subresources: Map<string, string>;
}

/** A subresource model (tagging, acl, cors, website): s3rver parses it from and writes it as XML. */
interface Subresource {
  type: string;
  toXML(space?: number): string;
}

interface Bucket {
  created: Date;
  objects: Map<string, StoredObject>;
  /** The bucket's own configuration (CORS, website), by type. */
  subresources: Map<string, string>;
  uploads: Map<string, { key: string; metadata: Record<string, string>; parts: Map<number, Body> }>;
}

export interface MemoryStoreOptions {
  /** A folder for bodies larger than `spillBytes`, created by the caller, removed with it. */
  spillDir: string;
  /** @default 1 MiB */
  spillBytes?: number;
}

/** Stored metadata: what FilesystemStore.putMetadata keeps of a request's headers. */
function storedMetadata(metadata: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata))
    if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) kept[name] = value;
  return kept;
}

export class MemoryStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #spillDir: string;
  readonly #spillBytes: number;
  #spilled = 0;
  /** Names this store's spilled files apart from another's in the same folder. */
  readonly #spillPrefix = randomBytes(4).toString('hex');

  constructor({ spillDir, spillBytes = 1024 * 1024 }: MemoryStoreOptions) {
    this.#spillDir = spillDir;
    this.#spillBytes = spillBytes;
  }

  /** The body of a request (a Buffer or a stream), its MD5; written to a file once past the spill size. */
  async #readBody(content: Buffer | Readable): Promise<{ body: Body; md5: string }> {
    const hash = createHash('md5');
    const chunks: Buffer[] = [];
    let size = 0;
    const source: AsyncIterable<Buffer> = Buffer.isBuffer(content)
      ? (async function* () {
          yield content;
        })()
      : content;
    const iterator = source[Symbol.asyncIterator]();
    while (size <= this.#spillBytes) {
      const next = await iterator.next();
      if (next.done) return { body: { bytes: Buffer.concat(chunks, size), size }, md5: hash.digest('hex') };
      hash.update(next.value);
      chunks.push(next.value);
      size += next.value.length;
    }
    const file = await this.#spillPath();
    const rest = { [Symbol.asyncIterator]: () => iterator } as AsyncIterable<Buffer>;
    try {
      await pipeline(async function* () {
        yield* chunks;
        for await (const chunk of rest) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      }, createWriteStream(file));
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
    return { body: { file, size }, md5: hash.digest('hex') };
  }

  /** A new file's path in the spill folder, which the first spill creates. */
  async #spillPath(): Promise<string> {
    if (this.#spilled === 0) await mkdir(this.#spillDir, { recursive: true });
    return join(this.#spillDir, `body-${this.#spillPrefix}-${++this.#spilled}`);
  }

  async #forget(body: Body | undefined): Promise<void> {
    if (body && 'file' in body) await rm(body.file, { force: true });
  }

  #bucket(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    // s3rver's routes check the bucket first (NoSuchBucket); as on disk, a missing one fails here.
    if (!bucket) throw Object.assign(new Error(`no bucket ${name}`), { code: 'ENOENT' });
    return bucket;
  }

  /** FilesystemStore.getMetadata: stored headers plus ETag, Last-Modified and Content-Length. */
  #metadata(object: StoredObject): Record<string, string | number> {
    return {
      ...object.metadata,
      etag: JSON.stringify(object.md5),
      'last-modified': object.lastModified.toUTCString(),
      'content-length': object.body.size,
    };
  }

  reset(): void {
    const bodies = [...this.#buckets.values()].flatMap((b) => [...b.objects.values()].map((o) => o.body));
    this.#buckets.clear();
    for (const body of bodies) void this.#forget(body);
  }

  async listBuckets(): Promise<S3Bucket[]> {
    return [...this.#buckets].map(([name, b]) => new S3Bucket(name, b.created));
  }

  async getBucket(name: string): Promise<S3Bucket | null> {
    const bucket = this.#buckets.get(name);
    return bucket ? new S3Bucket(name, bucket.created) : null;
  }

  async putBucket(name: string): Promise<S3Bucket | null> {
    if (!this.#buckets.has(name))
      this.#buckets.set(name, {
        created: new Date(),
        objects: new Map(),
        subresources: new Map(),
        uploads: new Map(),
      });
    return this.getBucket(name);
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.#buckets.get(name);
    this.#buckets.delete(name);
    if (bucket) await Promise.all([...bucket.objects.values()].map((o) => this.#forget(o.body)));
  }

  /** FilesystemStore.listObjects: keys in order, after `startAfter`, under `prefix`, rolled up at `delimiter`. */
  async listObjects(
    name: string,
    { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY },
  ): Promise<{ objects: S3Object[]; commonPrefixes: string[]; isTruncated: boolean }> {
    // Sorted per listing: the pipeline lists only the match-lists bucket, a few keys per bank.
    const entries = [...(this.#buckets.get(name)?.objects ?? [])].sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    const commonPrefixes = new Set<string>();
    const objects: S3Object[] = [];
    let isTruncated = false;
    for (const [key, object] of entries) {
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, at + delimiter.length));
          continue;
        }
      }
      if (objects.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      objects.push(new S3Object(name, key, null, this.#metadata(object)));
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  }

  async existsObject(bucket: string, key: string): Promise<boolean> {
    return this.#buckets.get(bucket)?.objects.has(key) ?? false;
  }

  async getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3Object | null> {
    const object = this.#buckets.get(bucket)?.objects.get(key);
    if (!object) return null;
    const metadata = this.#metadata(object);
    const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
    // As FilesystemStore reads them (an `end` of 0 reads to the end); the pipeline sends no ranges.
    const range = {
      start: options?.start || 0,
      end: Math.min(options?.end || Number.POSITIVE_INFINITY, lastByte),
    };
    const ranged = options && (options.start !== undefined || options.end);
    // Not satisfiable: an object without content, which the controller answers with InvalidRange.
    const satisfiable = !(range.start < 0 || Math.min(range.end, lastByte) < range.start);
    const content = !satisfiable
      ? null
      : 'bytes' in object.body
        ? Readable.from([object.body.bytes.subarray(range.start, range.end + 1)], { objectMode: false })
        : createReadStream(object.body.file, range);
    const result = new S3Object(bucket, key, content, metadata);
    if (ranged) result.range = range;
    return result;
  }

  async putObject(object: {
    bucket: string;
    key: string;
    content: Buffer | Readable;
    metadata: Record<string, string>;
  }): Promise<{ size: number; md5: string }> {
    const bucket = this.#bucket(object.bucket);
    const { body, md5 } = await this.#readBody(object.content);
    const previous = bucket.objects.get(object.key);
    // As on S3, a new object starts without the old one's tags (FilesystemStore leaves them behind).
    bucket.objects.set(object.key, {
      body,
      md5,
      metadata: storedMetadata(object.metadata),
      lastModified: new Date(),
      subresources: new Map(),
    });
    await this.#forget(previous?.body);
    return { size: body.size, md5 };
  }

  async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, string>,
  ): Promise<Record<string, string | number>> {
    const source = this.#bucket(srcBucket).objects.get(srcKey);
    if (!source) throw Object.assign(new Error(`no object ${srcKey}`), { code: 'ENOENT' });
    const destination = this.#bucket(destBucket);
    const same = srcBucket === destBucket && srcKey === destKey;
    let body = source.body;
    if (!same && 'file' in body) {
      const file = await this.#spillPath();
      await copyFile(body.file, file);
      body = { file, size: body.size };
    }
    const copy: StoredObject = {
      body,
      md5: source.md5,
      metadata: replacementMetadata ? storedMetadata(replacementMetadata) : { ...source.metadata },
      lastModified: new Date(),
      // s3rver ignores the tagging directive and FilesystemStore copies no tags: nor does this.
      subresources: same ? source.subresources : new Map(),
    };
    const replaced = destination.objects.get(destKey);
    destination.objects.set(destKey, copy);
    if (!same) await this.#forget(replaced?.body);
    return this.#metadata(copy);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const stored = this.#buckets.get(bucket);
    const object = stored?.objects.get(key);
    stored?.objects.delete(key);
    await this.#forget(object?.body);
  }

  async initiateUpload(
    bucket: string,
    key: string,
    uploadId: string,
    metadata: Record<string, string>,
  ): Promise<void> {
    this.#bucket(bucket).uploads.set(uploadId, { key, metadata, parts: new Map() });
  }

  async putPart(
    bucket: string,
    uploadId: string,
    partNumber: number | string,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    const upload = this.#bucket(bucket).uploads.get(uploadId);
    if (!upload) throw Object.assign(new Error(`no upload ${uploadId}`), { code: 'ENOENT' });
    const { body, md5 } = await this.#readBody(content);
    // s3rver passes the query's `partNumber` as it came: a string.
    const number = Number(partNumber);
    await this.#forget(upload.parts.get(number));
    upload.parts.set(number, body);
    return { size: body.size, md5 };
  }

  async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: { number: number }[],
  ): Promise<{ size: number; md5: string }> {
    const target = this.#bucket(bucket);
    const upload = target.uploads.get(uploadId);
    if (!upload) throw Object.assign(new Error(`no upload ${uploadId}`), { code: 'ENOENT' });
    const bodies = [...parts].sort((a, b) => a.number - b.number).map((p) => upload.parts.get(p.number));
    const content = Readable.from(
      (async function* () {
        for (const body of bodies) {
          if (!body) throw Object.assign(new Error('missing part'), { code: 'ENOENT' });
          if ('bytes' in body) yield body.bytes;
          else yield* createReadStream(body.file);
        }
      })(),
      { objectMode: false },
    );
    const result = await this.putObject({ bucket, key: upload.key, content, metadata: upload.metadata });
    target.uploads.delete(uploadId);
    await Promise.all([...upload.parts.values()].map((body) => this.#forget(body)));
    return result;
  }

  /** A bucket's configuration (`key` undefined) or an object's subresource, as s3rver stored them. */
  #subresources(bucket: string, key: string | undefined): Map<string, string> | undefined {
    const stored = this.#buckets.get(bucket);
    return key === undefined ? stored?.subresources : stored?.objects.get(key)?.subresources;
  }

  async getSubresource(bucket: string, key: string | undefined, type: string): Promise<Subresource | null> {
    const xml = this.#subresources(bucket, key)?.get(type);
    if (xml === undefined) return null;
    const Model = getConfigModel(type);
    return new Model(xml);
  }

  async putSubresource(bucket: string, key: string | undefined, resource: Subresource): Promise<void> {
    const subresources = this.#subresources(bucket, key);
    if (!subresources) throw Object.assign(new Error(`no ${key ?? bucket}`), { code: 'ENOENT' });
    subresources.set(resource.type, resource.toXML(2));
  }

  async deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void> {
    this.#subresources(bucket, key)?.delete(type);
  }
}
