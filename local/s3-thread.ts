/**
 * The local stack's S3 in a thread of its own (local/thread.ts): s3rver is the slowest of the
 * emulators per request (koa, a file or two per object), and in the stack's thread each of its
 * requests held up the queue's, the table's and the models' answers. Its put events go to the
 * stack, which turns them into bucket notifications (local/stack.ts, `forwardUploadEvents`).
 */
import { localS3rver } from './s3-emulator.ts';
import { runInThread } from './thread.ts';

export interface S3ThreadData {
  dataDir: string;
  buckets: string[];
  /** The folder goes with the stack: keep objects in memory (local/s3-memory-store.ts). */
  inMemory: boolean;
}

/** What s3rver emits per request that changed an object (its S3 event shape). */
export interface S3rverEvent {
  Records: { eventName: string; s3: { object: { key: string; sequencer?: unknown } } }[];
}

runInThread<S3ThreadData, { url: string }, S3rverEvent>(async ({ dataDir, buckets, inMemory }, channel) => {
  const s3rver = localS3rver(dataDir, buckets, { inMemory });
  s3rver.on('event', (event: S3rverEvent) => channel.emit(event));
  const { port } = await s3rver.run();
  return { ready: { url: `http://127.0.0.1:${port}` }, stop: () => s3rver.close() };
});
