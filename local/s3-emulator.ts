/** The local S3: s3rver on a data folder's files or in memory (the stack's S3 thread, replay's own server). */
import { join } from 'node:path';
import S3rver from 's3rver';
import { keepIdleConnections } from '#shared/http/idle-connections.ts';
import { MemoryStore } from './s3-memory-store.ts';
import { tuneS3rver } from './s3rver-tuning.ts';

/** Where a data folder keeps its S3 buckets (s3rver's files): uploads, kept inputs, match lists. */
export const localS3Path = (dataDir: string) => join(dataDir, 's3');

/**
 * s3rver on a data folder's S3 files, on a free local port, creating `buckets` if missing. With
 * `inMemory` (a folder that goes when the stack stops: nothing to keep), objects are kept in memory
 * and only large bodies are written under the folder (local/s3-memory-store.ts).
 */
export function localS3rver(
  dataDir: string,
  buckets: readonly string[] = [],
  { inMemory = false, spillBytes }: { inMemory?: boolean; spillBytes?: number } = {},
): S3rver {
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: localS3Path(dataDir),
    allowMismatchedSignatures: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  if (inMemory) {
    const store = new MemoryStore({ spillDir: localS3Path(dataDir), spillBytes });
    // s3rver's controllers reach the store through the app and through each request's context.
    const app = s3rver as unknown as { store: unknown; context: { store: unknown } };
    app.store = app.context.store = store;
  }
  tuneS3rver(s3rver, { onDisk: !inMemory });
  // The HTTP server exists once `run()` has made it.
  const run = s3rver.run.bind(s3rver);
  s3rver.run = async () => {
    const address = await run();
    if (s3rver.httpServer) keepIdleConnections(s3rver.httpServer);
    return address;
  };
  return s3rver;
}
