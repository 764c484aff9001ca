/**
 * The embedded local stack: the same handler code on real wire protocols, on 127.0.0.1, with no AWS
 * account and no Docker. S3 is s3rver (its put events drive the pipeline, as bucket notifications
 * do on AWS), SQS is fauxqs, DynamoDB is dynalite, and SageMaker is our own inference server
 * answering the SageMaker Runtime path. Ports are ephemeral, so several stacks can run at once.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import S3rver from 's3rver';
import { type InferenceServer, startInferenceServer } from '#model-artifacts/server/server.ts';
import { readPipelineEnv } from '#shared/config/env.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import type { RetryPolicy } from '#shared/retry/retry.ts';
import { VERDICT_TABLE } from '#shared/verdict/table.ts';
import { type SqsHandler, startEventSource } from './event-source.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

export const LOCAL_BUCKET = 'moderation-uploads';
export const UPLOAD_PREFIX = 'uploads/';
const TABLE = 'moderation-verdicts';
const QUEUE = 'moderation-ingest';
/** Media over the synchronous limits, consumed by the same handler in long mode (docs/MEDIA.md). */
const LONG_MEDIA_QUEUE = 'moderation-long-media';

export interface LocalStackOptions {
  /** Where the emulators keep their data. @default a temporary folder, removed on stop */
  dataDir?: string;
  /** Model directories served by the local inference server. @default model-artifacts/models */
  modelsDir?: string;
  /** Policy preset. @default 'balanced' */
  policyName?: string;
  /** Seconds a failed message stays invisible before it is retried. @default 5 */
  visibilityTimeoutSeconds?: number;
  /** The same for the long-media queue, whose messages take longer. @default 60 */
  longMediaVisibilityTimeoutSeconds?: number;
  /**
   * Put fault-injection proxies (local/fault-proxy.ts) between the pipeline and DynamoDB and
   * the inference server; the stack's own clients (`doc`, `waitForVerdicts`) bypass them. @default false
   */
  faultProxies?: boolean;
  /** The handler's model-call retry settings (INFERENCE_* variables). @default the pipeline's defaults */
  inferenceRetry?: Partial<Omit<RetryPolicy, 'minAttemptMs'>>;
  onError?: (err: unknown) => void;
}

/** The queues of the local stack, for redrive and fault tests. */
export interface LocalQueues {
  sqs: SQSClient;
  ingestUrl: string;
  ingestArn: string;
  deadLetterUrl: string;
  deadLetterArn: string;
  maxReceiveCount: number;
  /** Media over the synchronous limits (and its own DLQ, also drained by the dead-letter handler). */
  longMediaUrl: string;
  longMediaDeadLetterUrl: string;
}

/** Hooks to break and mend the local stack's parts while it runs (fault-injection tests). */
export interface LocalStackControl {
  /** The inference server: `stop` kills it, `start` brings it back on the same port. */
  inference: { stop(): Promise<void>; start(): Promise<void> };
  /** The consumer that turns dead letters (of both queues) into `PROCESSING_FAILED` verdicts. */
  deadLetterConsumer: { stop(): Promise<void>; start(): void };
  /** Present with `faultProxies: true`. */
  proxies?: { dynamodb: FaultProxy; inference: FaultProxy };
}

export interface LocalStack {
  bucket: string;
  s3: S3Client;
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Puts an object under uploads/, which triggers the pipeline; resolves to the version it created. */
  upload(key: string, body: Uint8Array): Promise<ObjectRef>;
  /**
   * Waits until each object version has its verdict in DynamoDB, or the timeout passes; the map
   * holds the verdicts found (a missing entry means none arrived in time).
   */
  waitForVerdicts(refs: ObjectRef[], options?: WaitOptions): Promise<Map<ObjectRef, Verdict>>;
  /**
   * Sends the S3 notification for these object versions to the ingest queue again, as S3 does when
   * it delivers an event twice (or for an object deleted since): each gets a fresh sequencer unless
   * the ref carries one.
   */
  notify(refs: ObjectRef[]): Promise<void>;
  queues: LocalQueues;
  control: LocalStackControl;
  stop(): Promise<void>;
}

export interface WaitOptions {
  /** @default 120000 */
  timeoutMs?: number;
  /** Pause between two reads of the table; one BatchGetItem per 100 missing verdicts. @default 10 */
  pollMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called once per verdict, as soon as the poll that found it returns. */
  onVerdict?: (ref: ObjectRef, verdict: Verdict) => void;
}

/** S3 notifications carry form-encoded keys (space → `+`): re-encode s3rver's raw keys the same way. */
function encodeKeyLikeS3(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');
}

/**
 * S3's sequencer, locally: hex, growing with every event (s3rver sends Date.now(), which ties within
 * a millisecond), fixed width so string order is event order.
 */
let lastSequencer = 0n;
function nextSequencer(): string {
  const now = BigInt(Date.now()) << 16n;
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(16, '0');
}

const listen = (server: import('node:http').Server) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'moderation-')));
  await mkdir(join(dataDir, 's3'), { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const pending = new Set<Promise<unknown>>();
  try {
    // S3
    const s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: join(dataDir, 's3'),
      allowMismatchedSignatures: true,
      configureBuckets: [{ name: LOCAL_BUCKET }],
    });
    const s3Address = (await s3rver.run()) as AddressInfo;
    stops.push(() => s3rver.close());
    // SQS
    const fauxqs = await startFauxqs({ port: 0, logger: false });
    stops.push(() => fauxqs.stop());
    const maxReceiveCount = 5;
    const dlq = fauxqs.createQueue(`${QUEUE}-dlq`);
    const queue = fauxqs.createQueue(QUEUE, {
      attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 5),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount }),
      },
    });
    const longDlq = fauxqs.createQueue(`${LONG_MEDIA_QUEUE}-dlq`);
    const longQueue = fauxqs.createQueue(LONG_MEDIA_QUEUE, {
      attributes: {
        VisibilityTimeout: String(options.longMediaVisibilityTimeoutSeconds ?? 60),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: longDlq.queueArn, maxReceiveCount }),
      },
    });
    // DynamoDB
    const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const dynamoPort = await listen(dynamoServer);
    stops.push(() => new Promise((r) => dynamoServer.close(r)));
    // SageMaker Runtime
    const modelsDir = options.modelsDir ?? join(import.meta.dirname, '../../model-artifacts/models');
    let inference: InferenceServer | undefined = await startInferenceServer({
      modelsDir,
      port: 0,
      host: '127.0.0.1',
    });
    const inferencePort = inference.port;
    const inferenceUrl = inference.url;
    stops.push(async () => inference?.close());
    // Fault injection: proxies in front of DynamoDB and the inference server (tests only).
    const dynamoUrl = `http://127.0.0.1:${dynamoPort}`;
    let proxies: LocalStackControl['proxies'];
    if (options.faultProxies) {
      const dynamoProxy = await startFaultProxy(dynamoUrl);
      stops.push(() => dynamoProxy.close());
      const inferenceProxy = await startFaultProxy(inferenceUrl);
      stops.push(() => inferenceProxy.close());
      proxies = { dynamodb: dynamoProxy, inference: inferenceProxy };
    }
    const retryEnv: Record<string, string> = {};
    const retry = options.inferenceRetry ?? {};
    if (retry.maxAttempts !== undefined) retryEnv.INFERENCE_MAX_ATTEMPTS = String(retry.maxAttempts);
    if (retry.attemptTimeoutMs !== undefined) retryEnv.INFERENCE_TIMEOUT_MS = String(retry.attemptTimeoutMs);
    if (retry.baseDelayMs !== undefined) retryEnv.INFERENCE_RETRY_BASE_MS = String(retry.baseDelayMs);
    if (retry.maxDelayMs !== undefined) retryEnv.INFERENCE_RETRY_MAX_DELAY_MS = String(retry.maxDelayMs);
    if (retry.reserveMs !== undefined) retryEnv.INFERENCE_RETRY_RESERVE_MS = String(retry.reserveMs);

    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      // s3rver accepts only its own key id; the other emulators accept any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Address.port}`,
      AWS_ENDPOINT_URL_SQS: fauxqs.address,
      AWS_ENDPOINT_URL_DYNAMODB: proxies?.dynamodb.url ?? dynamoUrl,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: proxies?.inference.url ?? inferenceUrl,
      // s3rver stores streamed bodies with checksum chunk framing in them unless checksums are off.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      S3_FORCE_PATH_STYLE: 'true',
      TABLE_NAME: TABLE,
      POLICY_NAME: options.policyName ?? 'balanced',
      POWERTOOLS_SERVICE_NAME: 'moderation-local',
      MEDIA_MODE: 'sync',
      LONG_MEDIA_QUEUE_URL: longQueue.queueUrl,
      ...retryEnv,
    };
    Object.assign(process.env, env);
    // Defaults the caller may override (e.g. --verbose): keep the local run quiet.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

    const s3 = new S3Client({ forcePathStyle: true });
    // fauxqs names queues by sqs.<region>.localhost URLs; send to its endpoint, not the URL's host.
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    // Straight to dynalite, past any fault proxy: the stack's own reads must work while it misbehaves.
    const dynamo = new DynamoDBClient({ endpoint: dynamoUrl });
    const doc = DynamoDBDocumentClient.from(dynamo);
    await dynamo.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: VERDICT_TABLE.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: VERDICT_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: VERDICT_TABLE.reviewIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: VERDICT_TABLE.reviewIndex.sortKey, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: VERDICT_TABLE.reviewIndex.name,
            KeySchema: [
              { AttributeName: VERDICT_TABLE.reviewIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: VERDICT_TABLE.reviewIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );

    // Bucket notification: ObjectCreated under uploads/ → the ingest queue.
    type EventRecord = { eventName: string; s3: { object: { key: string; sequencer?: unknown } } };
    s3rver.on('event', (event: { Records: EventRecord[] }) => {
      const records = event.Records.filter(
        (r) => r.eventName.startsWith('ObjectCreated') && r.s3.object.key.startsWith(UPLOAD_PREFIX),
      );
      if (!records.length) return;
      for (const r of records) {
        r.s3.object.key = encodeKeyLikeS3(r.s3.object.key);
        r.s3.object.sequencer = nextSequencer();
      }
      const sent = sqs
        .send(
          new SendMessageCommand({
            QueueUrl: queue.queueUrl,
            MessageBody: JSON.stringify({ Records: records }),
          }),
        )
        .catch((err) => options.onError?.(err))
        .finally(() => pending.delete(sent));
      pending.add(sent);
    });

    // Imported only now: the handler reads its configuration and creates its clients at module load.
    // Built here from this stack's environment, not the module's own `handler`, so a second stack
    // in the same process gets clients pointing at its own emulators.
    const { createHandler } = await import('#functions/moderate/handler.ts');
    const handler = createHandler(readPipelineEnv());
    const source = startEventSource({
      sqs,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      handler: handler as SqsHandler,
      onError: options.onError,
    });
    stops.unshift(() => source.stop());
    // The long-media function: the same handler in long mode, one message at a time (as on AWS).
    const longHandler = createHandler({ ...readPipelineEnv(), mediaMode: 'long', longMediaQueueUrl: '' });
    const longSource = startEventSource({
      sqs,
      queueUrl: longQueue.queueUrl,
      queueArn: longQueue.queueArn,
      handler: longHandler as SqsHandler,
      batchSize: 1,
      onError: options.onError,
    });
    stops.unshift(() => longSource.stop());

    // The DLQ's consumer, as on AWS: the same dead-letter handler records `PROCESSING_FAILED`.
    const { handler: deadLetterHandler } = (await import('#functions/dead-letter/handler.ts')) as {
      handler: SqsHandler;
    };
    let deadLetterSources: { stop(): Promise<void> }[] | undefined;
    const deadLetterConsumer = {
      start() {
        deadLetterSources ??= [dlq, longDlq].map((q) =>
          startEventSource({
            sqs,
            queueUrl: q.queueUrl,
            queueArn: q.queueArn,
            handler: deadLetterHandler,
            onError: options.onError,
          }),
        );
      },
      async stop() {
        const running = deadLetterSources;
        deadLetterSources = undefined;
        await Promise.all((running ?? []).map((r) => r.stop()));
      },
    };
    deadLetterConsumer.start();
    stops.unshift(() => deadLetterConsumer.stop());

    const control: LocalStackControl = {
      inference: {
        async stop() {
          const running = inference;
          inference = undefined;
          await running?.close();
        },
        async start() {
          inference ??= await startInferenceServer({ modelsDir, port: inferencePort, host: '127.0.0.1' });
        },
      },
      deadLetterConsumer,
      proxies,
    };

    return {
      bucket: LOCAL_BUCKET,
      s3,
      doc,
      tableName: TABLE,
      queues: {
        sqs,
        ingestUrl: queue.queueUrl,
        ingestArn: queue.queueArn,
        deadLetterUrl: dlq.queueUrl,
        deadLetterArn: dlq.queueArn,
        maxReceiveCount,
        longMediaUrl: longQueue.queueUrl,
        longMediaDeadLetterUrl: longDlq.queueUrl,
      },
      control,
      async notify(refs) {
        const Records = refs.map((ref) => ({
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: ref.bucket },
            object: {
              key: encodeKeyLikeS3(ref.key),
              size: ref.size,
              eTag: ref.eTag,
              versionId: ref.versionId,
              sequencer: ref.sequencer ?? nextSequencer(),
            },
          },
        }));
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: JSON.stringify({ Records }) }),
        );
      },
      async upload(key, body) {
        const fullKey = key.startsWith(UPLOAD_PREFIX) ? key : `${UPLOAD_PREFIX}${key}`;
        const put = await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: fullKey, Body: body }));
        return {
          bucket: LOCAL_BUCKET,
          key: fullKey,
          eTag: put.ETag?.replace(/"/g, ''),
          size: body.byteLength,
        };
      },
      async waitForVerdicts(refs, { timeoutMs = 120_000, pollMs = 10, onProgress, onVerdict } = {}) {
        const found = new Map<ObjectRef, Verdict>();
        const deadline = Date.now() + timeoutMs;
        while (found.size < refs.length && Date.now() < deadline) {
          // One BatchGetItem per 100 missing verdicts (the API's limit), not one GetItem each: a
          // poll of a large upload stays one or two requests, so it can run often without slowing
          // the pipeline it waits for. Keys left unprocessed are simply asked for again next round.
          const missing = new Map<string, ObjectRef[]>();
          for (const ref of refs) {
            if (found.has(ref)) continue;
            const pk = verdictKey(ref);
            missing.set(pk, [...(missing.get(pk) ?? []), ref]);
          }
          const pks = [...missing.keys()];
          const chunks = Array.from({ length: Math.ceil(pks.length / 100) }, (_, i) =>
            pks.slice(i * 100, i * 100 + 100),
          );
          await Promise.all(
            chunks.map(async (chunk) => {
              const { Responses } = await doc.send(
                new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: chunk.map((pk) => ({ pk })) } } }),
              );
              for (const item of Responses?.[TABLE] ?? []) {
                const { pk, ...verdict } = item as Verdict & { pk: string };
                for (const ref of missing.get(pk) ?? []) {
                  found.set(ref, verdict);
                  onVerdict?.(ref, verdict);
                }
              }
            }),
          );
          onProgress?.(found.size, refs.length);
          if (found.size < refs.length) await new Promise((r) => setTimeout(r, pollMs));
        }
        return found;
      },
      async stop() {
        await Promise.allSettled(pending);
        for (const stop of stops) await stop().catch(() => undefined);
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
