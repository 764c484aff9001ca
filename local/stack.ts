/**
 * The embedded local stack: the same handler code on real wire protocols, on 127.0.0.1, with no AWS
 * account and no Docker. S3 is s3rver (its put events drive the pipeline, as bucket notifications
 * do on AWS), SQS is fauxqs, DynamoDB is dynalite, and SageMaker is our own inference server
 * answering the SageMaker Runtime path. Ports are ephemeral, so several stacks can run at once.
 * S3 and the functions run in threads of their own (local/thread.ts), like the separate services
 * they stand for: they share nothing with this thread but the wire, and use the machine's cores.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ClassicLevel } from 'classic-level';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { type InferenceServer, startInferenceServer } from '#model-artifacts/server/server.ts';
import { RATE_LIMIT_TABLE } from '#shared/contracts/api.ts';
import { ENV, type MediaDecoding, readDeadLetterEnv } from '#shared/contracts/env.ts';
import type { KeepInputsMode } from '#shared/contracts/kept-inputs.ts';
import { AUDIT_TABLE, VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import { keepIdleConnections } from '#shared/http/idle-connections.ts';
import type { Bank } from '#shared/matching/banks.ts';
import { writeBank, writeTermList } from '#shared/matching/store.ts';
import type { TermList } from '#shared/matching/terms.ts';
import type { RetryPolicy } from '#shared/retry/retry.ts';
import { type EventSource, type SqsHandler, startEventSource } from './event-source.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import type { FunctionSource } from './function-worker.ts';
import { localS3Path } from './s3-emulator.ts';
import type { S3rverEvent, S3ThreadData } from './s3-thread.ts';
import { type TableWrites, watchTableWrites } from './table-writes.ts';
import { type LocalThread, startLocalThread } from './thread.ts';

export const LOCAL_BUCKET = 'moderation-uploads';
/** Banks and term lists (shared/contracts/match-lists.ts), kept with the rest under the data folder. */
export const MATCH_LISTS_BUCKET = 'moderation-match-lists';
export const UPLOAD_PREFIX = 'uploads/';
const TABLE = 'moderation-verdicts';
/** The verdicts table's name in the local stack (`npm run replay` reads it from a data folder). */
export const LOCAL_VERDICT_TABLE = TABLE;
/** Per-key request counters of the API (shared/api/rate-limit.ts), as the CDK construct makes them. */
const RATE_LIMIT_TABLE_NAME = 'moderation-rate-limits';
/** People's actions (review, appeals), append-only, as the CDK construct makes it. */
const AUDIT_TABLE_NAME = 'moderation-audit';
const QUEUE = 'moderation-ingest';
/** Media over the synchronous limits, consumed by the same handler in long mode (docs/MEDIA.md). */
const LONG_MEDIA_QUEUE = 'moderation-long-media';

export interface LocalStackOptions {
  /** Where the emulators keep their data. @default a temporary folder, removed on stop */
  dataDir?: string;
  /**
   * Whether the emulators' tables and objects must outlive the stack in `dataDir`. `false` (a folder
   * the caller removes afterwards, as `npm start` does with its own) keeps them in memory; only
   * object bodies over 1 MiB are written to the folder (local/s3-memory-store.ts).
   * @default true with `dataDir`; without it, the temporary folder is never kept
   */
  persistData?: boolean;
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
  /**
   * Banks and the policy's term lists to load before anything is moderated (written to the match-lists
   * bucket, replacing a bank or list of the same name; with `dataDir` they persist for later runs).
   * @default none added (what `dataDir` already holds stays)
   */
  matchLists?: LocalMatchLists;
  /**
   * `forward` runs the AWS shape (docs/MEDIA.md, "Where media is decoded"): the ingest handler sends
   * every audio and video upload to the long-media queue, whose handler decodes it. @default 'local'
   * (or `MEDIA_DECODING` from the environment)
   */
  mediaDecoding?: MediaDecoding;
  /**
   * What the models read, kept per scored verdict under `inputs/` in the uploads bucket, for
   * `npm run replay -- --models` (docs/REPLAY.md). `all` locally, where the data is the user's own,
   * so replay with another pack works out of the box; AWS keeps nothing unless configured.
   * @default 'all' (or `KEEP_INPUTS` from the environment)
   */
  keepInputs?: KeepInputsMode;
  onError?: (err: unknown) => void;
}

export interface LocalMatchLists {
  banks?: readonly Bank[];
  blocklist?: TermList;
  allowlist?: TermList;
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
  /** Where the emulators keep their data (the caller's --data-dir, or a temporary folder). */
  dataDir: string;
  /** The match-lists bucket (banks, term lists). */
  matchListsBucket: string;
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
  /**
   * Ends the stack's threads (S3, the functions) at once, work in flight dropped: for a process
   * that will exit without waiting for `stop` (the CLI at its deadline). Exiting with a busy thread
   * can abort the process (local/thread.ts, `exit`).
   */
  abandon(): Promise<void>;
}

export interface WaitOptions {
  /** @default 120000 */
  timeoutMs?: number;
  /**
   * Least pause between two reads of the table. After a first read of every key, verdicts are taken
   * from the writes that store them, and a read asks only for keys written some other way (one
   * BatchGetItem per 100), so a long wait costs no reads. @default 10
   */
  pollMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called once per verdict, as soon as the stack sees it stored (or a read finds it). */
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

/** local/ sits at the repository root, next to model-artifacts/. */
const DEFAULT_MODELS_DIR = join(import.meta.dirname, '../model-artifacts/models');
const MAX_RECEIVE_COUNT = 5;

/**
 * What to undo, in the order `stop` runs it: event sources are unshifted (they stop first, while
 * the emulators they read still answer), servers pushed in start order. A failed start runs it reversed.
 */
type Stops = (() => Promise<unknown>)[];
/** The stack's threads, for `abandon`. */
type Threads = LocalThread<unknown>[];
type Queue = { queueUrl: string; queueArn: string };
/** A queue and the dead-letter queue its redrive policy moves messages to after MAX_RECEIVE_COUNT receives. */
type RedrivenQueue = { queue: Queue; dlq: Queue };
type StackQueues = {
  endpoint: string;
  ingest: RedrivenQueue;
  longMedia: RedrivenQueue;
  /** S3's own delivery of one bucket notification to the ingest queue (`forwardUploadEvents`). */
  deliverToIngest: (body: string) => void;
};
type InferenceRetryOverrides = NonNullable<LocalStackOptions['inferenceRetry']>;
type FaultProxies = NonNullable<LocalStackControl['proxies']>;
type OnError = LocalStackOptions['onError'];

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { onError } = options;
  const data = await prepareDataDir(options.dataDir, options.persistData);
  const stops: Stops = [];
  const threads: Threads = [];
  /** Notifications of this turn's uploads not yet in the ingest queue; `stop` lets them land first. */
  const pending = new Set<Promise<unknown>>();
  // The functions' thread starts first: it loads the handler's dependencies while the emulators
  // start, and gets its queues (and the environment that names the emulators) once they are up.
  // Assigned by the promise's executor, which runs at once.
  let functionQueues!: { resolve(queues: StackQueues): void; reject(err: unknown): void };
  const functions = startModerateFunctions(
    new Promise<StackQueues>((resolve, reject) => {
      functionQueues = { resolve, reject };
    }),
    onError,
    stops,
    threads,
  );
  // Awaited below; a thread that fails before then must not be an unhandled rejection meanwhile.
  functions.catch(() => undefined);
  try {
    // Upload events forwarded once the stack's SQS client exists (below); until then only the stack
    // itself writes to S3, outside uploads/.
    let onUploadEvent: ((event: S3rverEvent) => void) | undefined;
    // The emulators and the inference server need nothing of each other: they start side by side
    // (S3's thread loads its modules while this one loads the models).
    const [s3Emulator, queues, dynamo, inference] = await allStarted([
      startS3Emulator(data, (event) => onUploadEvent?.(event), onError, stops, threads),
      startQueues(options, stops),
      startDynamoDb(stops, data.persisted ? localDynamoDbPath(data.dir) : undefined),
      startRestartableInferenceServer(options.modelsDir ?? DEFAULT_MODELS_DIR, stops),
    ] as const);
    const dynamoUrl = dynamo.url;
    // Fault injection: proxies in front of DynamoDB and the inference server (tests only).
    const proxies = options.faultProxies
      ? await startFaultProxies({ dynamodb: dynamoUrl, inference: inference.url }, stops)
      : undefined;
    applyToProcessEnv(
      pipelineEnvironment({
        s3Url: s3Emulator.url,
        sqsUrl: queues.endpoint,
        dynamoUrl: proxies?.dynamodb.url ?? dynamoUrl,
        inferenceUrl: proxies?.inference.url ?? inference.url,
        longMediaQueueUrl: queues.longMedia.queue.queueUrl,
        mediaDecoding: options.mediaDecoding ?? (process.env[ENV.mediaDecoding] as MediaDecoding | undefined),
        keepInputs:
          options.keepInputs ?? ((process.env[ENV.keepInputs] || undefined) as KeepInputsMode | undefined),
        policyName: options.policyName,
        inferenceRetry: options.inferenceRetry,
      }),
    );
    // From here on, every client and handler is built from the environment just written.
    const { s3, sqs, dynamoClient, doc } = createStackClients(dynamoUrl);
    await createVerdictTable(dynamoClient, TABLE).catch(tableExists);
    await createRateLimitTable(dynamoClient, RATE_LIMIT_TABLE_NAME).catch(tableExists);
    await createAuditTable(dynamoClient, AUDIT_TABLE_NAME).catch(tableExists);
    // Before the functions start, so their first load (their cold start) finds them.
    await writeMatchLists(s3, options.matchLists, options.policyName ?? 'balanced');
    onUploadEvent = forwardUploadEvents(queues.deliverToIngest, pending, onError);
    functionQueues.resolve(queues);
    const deadLetterQueues = [queues.ingest.dlq, queues.longMedia.dlq];
    // The functions' thread imports the handler while this one loads the dead-letter handler.
    const [, deadLetterConsumer] = await allStarted([
      functions,
      startDeadLetterConsumer(sqs, deadLetterQueues, onError, stops),
    ] as const);

    return {
      bucket: LOCAL_BUCKET,
      dataDir: data.dir,
      matchListsBucket: MATCH_LISTS_BUCKET,
      s3,
      doc,
      tableName: TABLE,
      queues: describeQueues(sqs, queues),
      control: { inference: inference.control, deadLetterConsumer, proxies },
      notify: async (refs) => queues.deliverToIngest(objectCreatedNotification(refs)),
      upload: (key, body) => uploadUnderPrefix(s3, key, body),
      waitForVerdicts: (refs, waitOptions) =>
        waitForVerdictWrites(doc, TABLE, dynamo.writes, refs, waitOptions),
      async stop() {
        await Promise.allSettled(pending);
        for (const stop of stops) await stop().catch(() => undefined);
        await data.remove();
      },
      async abandon() {
        await Promise.all(threads.map((thread) => thread.exit()));
      },
    };
  } catch (err) {
    // The functions' thread, still waiting for its queues, exits; then every part that started stops.
    functionQueues.reject(err);
    await functions.catch(() => undefined);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await data.remove();
    throw err;
  }
}

/**
 * `Promise.all` for parts that start side by side, except that when one fails it still waits for
 * the others: each registers its stop once started, and the caller's cleanup stops every part that
 * did start, not only those that were quicker than the failure.
 */
async function allStarted<T extends readonly unknown[]>(
  parts: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  await Promise.allSettled(parts);
  return Promise.all(parts) as Promise<T>;
}

interface DataDir {
  dir: string;
  /** The emulators keep their data in the folder's files (else in memory, large bodies apart). */
  persisted: boolean;
  remove(): Promise<void>;
}

/** The emulators' data folder: the caller's (kept), or a temporary one that `remove` deletes. */
async function prepareDataDir(dataDir: string | undefined, persistData = true): Promise<DataDir> {
  const owned = !dataDir;
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'moderation-')));
  await mkdir(localS3Path(dir), { recursive: true });
  return {
    dir,
    persisted: !owned && persistData,
    async remove() {
      if (owned) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * S3: s3rver with the uploads bucket, in a thread of its own (local/s3-thread.ts); its put events
 * stand in for the bucket notification and reach `onEvent` here.
 */
async function startS3Emulator(
  data: DataDir,
  onEvent: (event: S3rverEvent) => void,
  onError: OnError,
  stops: Stops,
  threads: Threads,
): Promise<{ url: string }> {
  const s3 = await startLocalThread<S3ThreadData, { url: string }, S3rverEvent>(
    new URL('./s3-thread.ts', import.meta.url),
    { dataDir: data.dir, buckets: [LOCAL_BUCKET, MATCH_LISTS_BUCKET], inMemory: !data.persisted },
    { onEvent, onError },
  );
  stops.push(() => s3.stop());
  threads.push(s3);
  return s3.ready;
}

/** SQS: fauxqs with the ingest and long-media queues, each redriven to its own DLQ. */
async function startQueues(options: LocalStackOptions, stops: Stops): Promise<StackQueues> {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  stops.push(() => fauxqs.stop());
  const createRedrivenQueue = (name: string, visibilityTimeoutSeconds: number): RedrivenQueue => {
    const dlq = fauxqs.createQueue(`${name}-dlq`);
    const queue = fauxqs.createQueue(name, {
      attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlq.queueArn,
          maxReceiveCount: MAX_RECEIVE_COUNT,
        }),
      },
    });
    return { queue, dlq };
  };
  return {
    endpoint: fauxqs.address,
    ingest: createRedrivenQueue(QUEUE, options.visibilityTimeoutSeconds ?? 5),
    longMedia: createRedrivenQueue(LONG_MEDIA_QUEUE, options.longMediaVisibilityTimeoutSeconds ?? 60),
    // Into the queue itself, as S3 delivers its notifications on AWS: not through the SQS API, which
    // only the queue's consumers use. fauxqs checks the body as SendMessage would, and wakes a
    // waiting receive (docs/PERFORMANCE.md, "Notifications straight into the queue").
    deliverToIngest: (body) => {
      fauxqs.sendMessage(QUEUE, body);
    },
  };
}

/** Where a data folder keeps its DynamoDB tables (LevelDB). */
export const localDynamoDbPath = (dataDir: string) => join(dataDir, 'dynamodb');

/**
 * Fails when another process holds the folder's LevelDB (a running `npm run api` on the same
 * --data-dir): dynalite would start anyway and crash the process on its first request.
 */
export async function assertLocalDynamoDbFree(path: string): Promise<void> {
  const db = new ClassicLevel(path);
  try {
    await db.open();
  } catch (err) {
    throw new Error(`${path} is in use by another process (a local stack on the same --data-dir?)`, {
      cause: err,
    });
  }
  await db.close();
}

/**
 * DynamoDB: dynalite, with table operations that complete at once; in memory, or in LevelDB under
 * `path` so a data folder keeps its verdicts between runs. Resolves to its URL and a watch on the
 * items it writes (for `waitForVerdicts`).
 */
async function startDynamoDb(stops: Stops, path?: string): Promise<{ url: string; writes: TableWrites }> {
  if (path) await assertLocalDynamoDbFree(path);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path && { path }) });
  keepIdleConnections(server);
  const writes = watchTableWrites(server, VERDICT_TABLE.partitionKey);
  const port = await listen(server);
  stops.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${port}`, writes };
}

/** A table kept in the data folder by an earlier run already exists, with the same definition. */
function tableExists(err: unknown): void {
  if ((err as Error).name !== 'ResourceInUseException') throw err;
}

/** The verdicts table with the same key design as the CDK construct (VERDICT_TABLE). */
async function createVerdictTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, reviewIndex, queueIndex } = VERDICT_TABLE;
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: reviewIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: reviewIndex.sortKey, AttributeType: 'S' },
        { AttributeName: queueIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: queueIndex.sortKey, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: reviewIndex.name,
          KeySchema: [
            { AttributeName: reviewIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: reviewIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: queueIndex.name,
          KeySchema: [
            { AttributeName: queueIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: queueIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
}

/** One item per key and minute (shared/api/rate-limit.ts), expiring at `expire` on AWS (dynalite has no TTL). */
async function createRateLimitTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: RATE_LIMIT_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: RATE_LIMIT_TABLE.partitionKey, AttributeType: 'S' }],
    }),
  );
}

async function createAuditTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: AUDIT_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: AUDIT_TABLE.sortKey, AttributeType: 'S' },
      ],
    }),
  );
}

/**
 * SageMaker Runtime: our inference server. `control.stop` kills it and `control.start` brings it
 * back on the same port, so the pipeline's endpoint URL stays valid (fault tests).
 */
async function startRestartableInferenceServer(
  modelsDir: string,
  stops: Stops,
): Promise<{ url: string; control: LocalStackControl['inference'] }> {
  let server: InferenceServer | undefined = await startInferenceServer({
    modelsDir,
    port: 0,
    host: '127.0.0.1',
  });
  const { port, url } = server;
  stops.push(async () => server?.close());
  return {
    url,
    control: {
      async stop() {
        const running = server;
        server = undefined;
        await running?.close();
      },
      async start() {
        server ??= await startInferenceServer({ modelsDir, port, host: '127.0.0.1' });
      },
    },
  };
}

async function startFaultProxies(
  targets: { dynamodb: string; inference: string },
  stops: Stops,
): Promise<FaultProxies> {
  const dynamodb = await startFaultProxy(targets.dynamodb);
  stops.push(() => dynamodb.close());
  const inference = await startFaultProxy(targets.inference);
  stops.push(() => inference.close());
  return { dynamodb, inference };
}

/** Each model-call retry setting and the variable that overrides it. */
const INFERENCE_RETRY_ENV = {
  maxAttempts: ENV.inferenceMaxAttempts,
  attemptTimeoutMs: ENV.inferenceTimeoutMs,
  baseDelayMs: ENV.inferenceRetryBaseMs,
  maxDelayMs: ENV.inferenceRetryMaxDelayMs,
  reserveMs: ENV.inferenceRetryReserveMs,
} as const satisfies Record<keyof InferenceRetryOverrides, string>;

/** Only the settings given: the others keep the pipeline's defaults. */
function inferenceRetryEnvironment(retry: InferenceRetryOverrides = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [setting, name] of Object.entries(INFERENCE_RETRY_ENV)) {
    const value = retry[setting as keyof InferenceRetryOverrides];
    if (value !== undefined) env[name] = String(value);
  }
  return env;
}

/** The variables the CDK stack gives the functions on AWS, pointed at this stack's emulators. */
function pipelineEnvironment(settings: {
  s3Url: string;
  sqsUrl: string;
  dynamoUrl: string;
  inferenceUrl: string;
  longMediaQueueUrl: string;
  mediaDecoding?: MediaDecoding;
  keepInputs?: KeepInputsMode;
  policyName?: string;
  inferenceRetry?: InferenceRetryOverrides;
}): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    // s3rver accepts only its own key id; the other emulators accept any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: settings.s3Url,
    AWS_ENDPOINT_URL_SQS: settings.sqsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: settings.dynamoUrl,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: settings.inferenceUrl,
    // s3rver stores streamed bodies with checksum chunk framing in them unless checksums are off.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    [ENV.s3ForcePathStyle]: 'true',
    [ENV.tableName]: TABLE,
    [ENV.rateLimitTableName]: RATE_LIMIT_TABLE_NAME,
    [ENV.auditTableName]: AUDIT_TABLE_NAME,
    [ENV.policyName]: settings.policyName ?? 'balanced',
    [ENV.serviceName]: 'moderation-local',
    [ENV.mediaMode]: 'sync',
    [ENV.longMediaQueueUrl]: settings.longMediaQueueUrl,
    [ENV.mediaDecoding]: settings.mediaDecoding ?? 'local',
    [ENV.matchListsBucket]: MATCH_LISTS_BUCKET,
    // Beside the uploads, outside uploads/: the upload events below never see them (as on AWS).
    [ENV.keepInputs]: settings.keepInputs ?? 'all',
    [ENV.inputsBucket]: LOCAL_BUCKET,
    ...inferenceRetryEnvironment(settings.inferenceRetry),
  };
}

/** Writes the given banks and term lists into the match-lists bucket, as an operator would on AWS. */
async function writeMatchLists(s3: S3Client, lists: LocalMatchLists = {}, policyName: string): Promise<void> {
  for (const bank of lists.banks ?? []) await writeBank(s3, MATCH_LISTS_BUCKET, bank);
  for (const list of [lists.blocklist, lists.allowlist]) {
    if (list) await writeTermList(s3, MATCH_LISTS_BUCKET, policyName, list);
  }
}

/** The handlers and the SDK read their configuration from process.env, as in a Lambda. */
function applyToProcessEnv(env: Record<string, string>): void {
  Object.assign(process.env, env);
  // Defaults the caller may override (e.g. --verbose): keep the local run quiet.
  process.env[ENV.logLevel] ??= 'ERROR';
  process.env[ENV.metricsDisabled] ??= 'true';
}

/** The stack's own clients (for uploads, event sources and verdict reads). */
function createStackClients(dynamoUrl: string) {
  const s3 = new S3Client({ forcePathStyle: true });
  // fauxqs names queues by sqs.<region>.localhost URLs; send to its endpoint, not the URL's host.
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  // Straight to dynalite, past any fault proxy: the stack's own reads must work while it misbehaves.
  const dynamoClient = new DynamoDBClient({ endpoint: dynamoUrl });
  return { s3, sqs, dynamoClient, doc: DynamoDBDocumentClient.from(dynamoClient) };
}

/**
 * Bucket notification: ObjectCreated under uploads/ → the ingest queue, one message per event as S3
 * sends them. The events of one event-loop turn (a burst of uploads) land together, after the turn,
 * so that a waiting receive takes them as one batch rather than the first alone. A message the
 * queue refuses (too large, invalid characters) is an error for `onError`, like a failed send.
 */
export function forwardUploadEvents(
  deliver: (body: string) => void,
  pending: Set<Promise<unknown>>,
  onError: OnError,
): (event: S3rverEvent) => void {
  let bodies: string[] = [];
  const flush = () => {
    const batch = bodies;
    bodies = [];
    for (const body of batch) {
      try {
        deliver(body);
      } catch (err) {
        onError?.(err);
      }
    }
  };
  return (event) => {
    const records = event.Records.filter(
      (r) => r.eventName.startsWith('ObjectCreated') && r.s3.object.key.startsWith(UPLOAD_PREFIX),
    );
    if (!records.length) return;
    for (const r of records) {
      r.s3.object.key = encodeKeyLikeS3(r.s3.object.key);
      r.s3.object.sequencer = nextSequencer();
    }
    if (!bodies.length) {
      const landed = new Promise((resolve) => setImmediate(resolve)).then(() => {
        flush();
        pending.delete(landed);
      });
      pending.add(landed);
    }
    bodies.push(JSON.stringify({ Records: records }));
  };
}

const MODERATE_POLL_SECONDS = 20;

/**
 * The moderate function twice, as on AWS: the ingest queue's consumer and the long-media one, in a
 * thread of their own (local/function-worker.ts) built from this stack's environment, so a second
 * stack in the same process gets clients pointing at its own emulators.
 */
async function startModerateFunctions(
  queuesReady: Promise<StackQueues>,
  onError: OnError,
  stops: Stops,
  threads: Threads,
): Promise<void> {
  const functions = await startLocalThread<FunctionSource[], null>(
    new URL('./function-worker.ts', import.meta.url),
    queuesReady.then((queues) => [
      {
        queueUrl: queues.ingest.queue.queueUrl,
        queueArn: queues.ingest.queue.queueArn,
        // SQS's longest wait, as Lambda's pollers use: these two stop only with the stack, and an idle
        // queue (the long-media one, most of the time) then costs one receive per 20 s, not one a second.
        waitTimeSeconds: MODERATE_POLL_SECONDS,
      },
      {
        // The long-media function: the same handler in long mode, one message at a time (as on AWS).
        queueUrl: queues.longMedia.queue.queueUrl,
        queueArn: queues.longMedia.queue.queueArn,
        env: { mediaMode: 'long', longMediaQueueUrl: '', mediaDecoding: 'local' },
        batchSize: 1,
        waitTimeSeconds: MODERATE_POLL_SECONDS,
      },
    ]),
    { onError },
  );
  stops.unshift(() => functions.stop());
  threads.push(functions);
}

/**
 * The DLQs' consumer, as on AWS: the same dead-letter handler records `PROCESSING_FAILED`. Built
 * from this stack's environment (like the moderate function), so each stack gets its own clients.
 * Started here; the returned hooks stop and restart it (fault tests).
 */
async function startDeadLetterConsumer(
  sqs: SQSClient,
  deadLetterQueues: Queue[],
  onError: OnError,
  stops: Stops,
): Promise<LocalStackControl['deadLetterConsumer']> {
  const { createHandler } = await import('#functions/dead-letter/handler.ts');
  const handler = createHandler(readDeadLetterEnv()) as SqsHandler;
  let sources: EventSource[] | undefined;
  const stopSources = async (options?: { abortReceive: boolean }) => {
    const running = sources;
    sources = undefined;
    await Promise.all((running ?? []).map((r) => r.stop(options)));
  };
  const consumer: LocalStackControl['deadLetterConsumer'] = {
    start() {
      sources ??= deadLetterQueues.map((q) =>
        startEventSource({ sqs, queueUrl: q.queueUrl, queueArn: q.queueArn, handler, onError }),
      );
    },
    // Paused while the queues live on: receives in flight finish (EventSource.stop).
    stop: () => stopSources(),
  };
  consumer.start();
  // The stack stopping takes the queues with it: nothing is lost by cutting a receive short, and
  // letting it run out took up to a second of every `npm start`.
  stops.unshift(() => stopSources({ abortReceive: true }));
  return consumer;
}

function describeQueues(sqs: SQSClient, queues: StackQueues): LocalQueues {
  return {
    sqs,
    ingestUrl: queues.ingest.queue.queueUrl,
    ingestArn: queues.ingest.queue.queueArn,
    deadLetterUrl: queues.ingest.dlq.queueUrl,
    deadLetterArn: queues.ingest.dlq.queueArn,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    longMediaUrl: queues.longMedia.queue.queueUrl,
    longMediaDeadLetterUrl: queues.longMedia.dlq.queueUrl,
  };
}

/** `LocalStack.notify`: the S3 notification for these versions, as one message. */
function objectCreatedNotification(refs: ObjectRef[]): string {
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
  return JSON.stringify({ Records });
}

/** `LocalStack.upload`: puts the object under uploads/ (adding the prefix if missing). */
async function uploadUnderPrefix(s3: S3Client, key: string, body: Uint8Array): Promise<ObjectRef> {
  const fullKey = key.startsWith(UPLOAD_PREFIX) ? key : `${UPLOAD_PREFIX}${key}`;
  const put = await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: fullKey, Body: body }));
  return {
    bucket: LOCAL_BUCKET,
    key: fullKey,
    eTag: put.ETag?.replace(/"/g, ''),
    size: body.byteLength,
  };
}

/**
 * With nothing written, how often `waitForVerdicts` still reads every missing key: writes it did not
 * see (none are expected: every write goes through the watched emulator) are found within this.
 */
const FULL_READ_MS = 5_000;
/** BatchGetItem's limit, and how many of them one round sends at a time. */
const BATCH_GET_KEYS = 100;
const BATCH_GETS_IN_FLIGHT = 8;

/**
 * `LocalStack.waitForVerdicts`: reads every key once (verdicts may exist already: a data folder, a
 * notification sent again), then takes each verdict from the write that stores it (table-writes.ts:
 * a put's item is what a read would return), reading only keys written some other way (an update),
 * at most one read per `pollMs`, until every ref has its verdict or the time is up.
 */
async function waitForVerdictWrites(
  doc: DynamoDBDocumentClient,
  tableName: string,
  writes: TableWrites,
  refs: ObjectRef[],
  { timeoutMs = 120_000, pollMs = 10, onProgress, onVerdict }: WaitOptions = {},
): Promise<Map<ObjectRef, Verdict>> {
  const found = new Map<ObjectRef, Verdict>();
  const deadline = Date.now() + timeoutMs;
  const missing = new Map<string, ObjectRef[]>();
  for (const ref of refs) {
    const pk = verdictKey(ref);
    const same = missing.get(pk);
    if (same) same.push(ref);
    else missing.set(pk, [ref]);
  }
  const take = (item: Record<string, unknown>) => {
    const { [VERDICT_TABLE.partitionKey]: pk, ...verdict } = item as Verdict & Record<string, unknown>;
    for (const ref of missing.get(String(pk)) ?? []) {
      found.set(ref, verdict);
      onVerdict?.(ref, verdict);
    }
    missing.delete(String(pk));
  };
  const written = new Set<string>();
  // Whichever pause the loop is in ends early once its condition holds (checked after each write).
  let check: (() => void) | undefined;
  const pause = (ms: number, until: () => boolean) =>
    new Promise<void>((resolve) => {
      if (until()) return resolve();
      const finish = () => {
        clearTimeout(timer);
        check = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      check = () => {
        if (until()) finish();
      };
    });
  const stopWatching = writes.onWrite(({ table, pk, item }) => {
    if (table !== tableName || !missing.has(pk)) return;
    if (item) {
      take(unmarshall(item));
      onProgress?.(found.size, refs.length);
    } else written.add(pk);
    check?.();
  });
  try {
    let keys = [...missing.keys()];
    let lastFullRead = Date.now();
    while (missing.size && Date.now() < deadline) {
      for (const pk of await readVerdicts(doc, tableName, keys, take)) written.add(pk);
      onProgress?.(found.size, refs.length);
      if (!missing.size) break;
      await pause(pollMs, () => !missing.size);
      const waitMs = Math.max(0, Math.min(lastFullRead + FULL_READ_MS, deadline) - Date.now());
      await pause(waitMs, () => !missing.size || [...written].some((pk) => missing.has(pk)));
      if (!missing.size) break;
      if (Date.now() - lastFullRead >= FULL_READ_MS) {
        keys = [...missing.keys()];
        lastFullRead = Date.now();
      } else keys = [...written].filter((pk) => missing.has(pk));
      written.clear();
    }
  } finally {
    stopWatching();
  }
  return found;
}

/**
 * One round: BatchGetItem for these keys (100 a request, a few requests at a time), handing each
 * item found to `take`. Resolves to the keys DynamoDB left unprocessed, to ask again.
 */
async function readVerdicts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pks: string[],
  take: (item: Record<string, unknown>) => void,
): Promise<string[]> {
  const { partitionKey } = VERDICT_TABLE;
  const unprocessed: string[] = [];
  const chunks = Array.from({ length: Math.ceil(pks.length / BATCH_GET_KEYS) }, (_, i) =>
    pks.slice(i * BATCH_GET_KEYS, (i + 1) * BATCH_GET_KEYS),
  );
  for (let i = 0; i < chunks.length; i += BATCH_GETS_IN_FLIGHT) {
    await Promise.all(
      chunks.slice(i, i + BATCH_GETS_IN_FLIGHT).map(async (chunk) => {
        const { Responses, UnprocessedKeys } = await doc.send(
          new BatchGetCommand({
            RequestItems: { [tableName]: { Keys: chunk.map((pk) => ({ [partitionKey]: pk })) } },
          }),
        );
        for (const item of Responses?.[tableName] ?? []) take(item);
        for (const key of UnprocessedKeys?.[tableName]?.Keys ?? [])
          unprocessed.push(String(key[partitionKey]));
      }),
    );
  }
  return unprocessed;
}
