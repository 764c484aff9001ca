/**
 * `npm run replay -- --models <pack>`: the stored verdicts' kept model inputs (KEEP_INPUTS, docs/REPLAY.md)
 * scored again with another model pack, then decided as replay decides (ops/replay.ts): the same
 * channels through the pipeline's own scoring (shared/moderation/score.ts) and model gateway, on
 * the project's inference server serving that pack's model directories (ONNX sessions made where
 * every session is made, shared/onnx/sessions.ts). Verdicts without kept inputs are counted, not
 * decided on their stored scores; it writes nothing.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DEFAULT_PACK_MANIFESTS } from '#model-artifacts/models/default-pack.ts';
import { loadModel, ModelRegistry } from '#model-artifacts/server/registry.ts';
import { startInferenceServer } from '#model-artifacts/server/server.ts';
import { readInferenceRetryPolicy } from '#shared/contracts/env.ts';
import { KEPT_INPUTS } from '#shared/contracts/kept-inputs.ts';
import { parseS3Uri } from '#shared/contracts/s3-uri.ts';
import { ModerationError } from '#shared/domain/errors.ts';
import { InferenceError } from '#shared/inference/client.ts';
import { readObject } from '#shared/ingest/read-object.ts';
import { decodeKeptInputs, type KeptInputs, KeptInputsError } from '#shared/moderation/kept-inputs.ts';
import {
  loadModelPack,
  type ModelPack,
  packModelDirs,
  STRONG_PACK_DIR,
} from '#shared/moderation/model-pack.ts';
import type { ModelGateway } from '#shared/moderation/models.ts';
import { score } from '#shared/moderation/score.ts';
import { modelGatewayFor } from '#shared/moderation/wiring.ts';
import {
  type CategoryShift,
  createReplayTally,
  isKnownContent,
  LocalVerdictsError,
  type ModelsReplaySummary,
  type ReplayReport,
  type ReplayTableOptions,
  replayPolicy,
  type StoredVerdict,
  scanVerdicts,
} from './replay.ts';

/** The default pack's model directories (what the local stack serves). */
const DEFAULT_MODELS_DIR = join(import.meta.dirname, '../model-artifacts/models');

/** A pack's three models on a local inference server, behind the functions' model gateway. */
export interface ServedPack {
  /** The `--models` argument. */
  arg: string;
  pack: ModelPack;
  gateway: ModelGateway;
  close(): Promise<void>;
}

/** The model directories of a pack, as MODEL_PACK names it. */
function modelDirs(arg: string, pack: ModelPack): string[] {
  if (arg === 'default')
    return [pack.text.name, pack.image.name, pack.fusion.name].map((n) => join(DEFAULT_MODELS_DIR, n));
  const { text, image, fusion } = packModelDirs(arg === 'strong' ? STRONG_PACK_DIR : arg);
  return [text, image, fusion];
}

/**
 * Serves `arg`'s pack (`default`, `strong` or a pack directory, as MODEL_PACK takes it) on
 * 127.0.0.1 and returns a gateway over it: the real inference client (binary wire, coalescing,
 * payload splitting, retries) against the real server, as the local stack runs them. An unknown
 * pack throws UnknownModelPackError before anything is loaded.
 */
export async function servePack(arg: string): Promise<ServedPack> {
  const pack = loadModelPack(arg, DEFAULT_PACK_MANIFESTS);
  const loaded = [];
  try {
    for (const dir of modelDirs(arg, pack)) loaded.push(await loadModel(dir));
  } catch (err) {
    await Promise.all(loaded.map((m) => m.session.release()));
    throw err;
  }
  const server = await startInferenceServer({
    registry: new ModelRegistry(loaded),
    port: 0,
    host: '127.0.0.1',
  });
  const sagemaker = new SageMakerRuntimeClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // One SDK attempt: the gateway's retry wrapper retries, as in the functions.
    maxAttempts: 1,
  });
  const gateway = modelGatewayFor(pack, sagemaker, {
    endpointNames: {},
    inferenceComponentNames: {},
    maxRequestBytes: {},
    inferenceRetry: readInferenceRetryPolicy(),
  });
  return {
    arg,
    pack,
    gateway,
    async close() {
      sagemaker.destroy();
      await server.close();
    },
  };
}

/** `name version` of each model (and engine) entry, without the engines kept with the inputs. */
function modelEntries(versions: Record<string, string> | undefined, engines: Record<string, string> = {}) {
  return Object.entries(versions ?? {})
    .filter(([name]) => !(name in engines))
    .map(([name, version]) => `${name} ${version}`);
}

type Outcome =
  | {
      kind: 'rescored';
      categories: Record<string, number>;
      partial: boolean;
      /** What the server said served each model (and the kept engines), as a verdict records them. */
      modelVersions: Record<string, string>;
      kept: KeptInputs;
      bytes: number;
    }
  | { kind: 'not-rescorable'; reason: string; bytes: number };

/** Why kept inputs cannot be read: one short reason per cause, so the report's counts group them. */
function unreadable(err: unknown): string | undefined {
  if (err instanceof ModerationError)
    return err.code === 'OBJECT_NOT_FOUND'
      ? 'kept inputs missing (expired or deleted)'
      : `kept inputs unreadable (${err.code})`;
  if (err instanceof KeptInputsError) return `kept inputs malformed (not a ${KEPT_INPUTS.format} document)`;
  return undefined;
}

/** One verdict's kept inputs, scored with the served pack. */
async function rescore(v: StoredVerdict, s3: S3Client, served: ServedPack): Promise<Outcome> {
  const location = v.inputs && parseS3Uri(v.inputs.uri);
  if (!location) return { kind: 'not-rescorable', reason: 'kept inputs at no s3:// address', bytes: 0 };
  let kept: KeptInputs;
  let bytes = 0;
  try {
    const body = await readObject(s3, { ...location, maxBytes: KEPT_INPUTS.maxBytes });
    bytes = body.byteLength;
    kept = decodeKeptInputs(body);
  } catch (err) {
    const reason = unreadable(err);
    if (reason === undefined) throw err;
    return { kind: 'not-rescorable', reason, bytes };
  }
  if (Object.keys(kept.omitted).length > 0)
    return { kind: 'not-rescorable', reason: 'image pixels not kept (KEEP_INPUTS=text)', bytes };
  const { pack } = served;
  const hasImages = Object.entries(kept.collected.channels).some(
    ([, items]) => items.length > 0 && 'pixels' in (items[0] as object),
  );
  if (hasImages && kept.imageSize !== pack.image.size)
    return {
      kind: 'not-rescorable',
      reason: `kept images are ${kept.imageSize}×${kept.imageSize}, ${pack.name}'s image model takes ${pack.image.size}×${pack.image.size}`,
      bytes,
    };
  try {
    const scoring = await score(kept.collected, served.gateway);
    return {
      kind: 'rescored',
      categories: scoring.categories as Record<string, number>,
      partial: kept.collected.partial,
      modelVersions: scoring.modelVersions,
      kept,
      bytes,
    };
  } catch (err) {
    // The endpoint refused these inputs (and would on every try); anything else is a failure to report.
    if (err instanceof InferenceError && !err.retryable)
      return { kind: 'not-rescorable', reason: 'the models refused the kept inputs', bytes };
    throw err;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Accumulates the per-category score shifts and the version counts of the re-scored verdicts. */
function createModelsSummary(served: ServedPack) {
  const { pack } = served;
  const summary: ModelsReplaySummary = {
    pack: {
      arg: served.arg,
      name: pack.name,
      models: [pack.text, pack.image, pack.fusion].map((m) => `${m.name} ${m.version}`),
    },
    withInputs: 0,
    rescored: 0,
    knownContent: 0,
    noInputs: 0,
    notRescorable: {},
    versions: { before: {}, after: {} },
    categories: {},
    inputBytes: 0,
  };
  const sums = new Map<string, { before: number; after: number; shift: number }>();
  const shiftOf = (c: string): CategoryShift => {
    summary.categories[c] ??= {
      n: 0,
      meanBefore: 0,
      meanAfter: 0,
      meanShift: 0,
      maxAbsShift: 0,
      onlyBefore: 0,
      onlyAfter: 0,
    };
    return summary.categories[c];
  };
  const count = (into: Record<string, number>, keys: string[]) => {
    for (const k of keys) into[k] = (into[k] ?? 0) + 1;
  };
  return {
    summary,
    rescored(v: StoredVerdict, outcome: Extract<Outcome, { kind: 'rescored' }>) {
      summary.rescored++;
      const { engines } = outcome.kept.collected;
      count(summary.versions.before, modelEntries(v.modelVersions, engines));
      count(summary.versions.after, modelEntries(outcome.modelVersions, engines));
      const before = v.categories as Record<string, number>;
      for (const c of new Set([...Object.keys(before), ...Object.keys(outcome.categories)])) {
        const s = shiftOf(c);
        const [b, a] = [before[c], outcome.categories[c]];
        if (b === undefined) s.onlyAfter++;
        else if (a === undefined) s.onlyBefore++;
        else {
          s.n++;
          const acc = sums.get(c) ?? { before: 0, after: 0, shift: 0 };
          acc.before += b;
          acc.after += a;
          acc.shift += a - b;
          sums.set(c, acc);
          s.maxAbsShift = Math.max(s.maxAbsShift, Math.abs(a - b));
        }
      }
    },
    finish(): ModelsReplaySummary {
      for (const [c, acc] of sums) {
        const s = shiftOf(c);
        s.meanBefore = acc.before / s.n;
        s.meanAfter = acc.after / s.n;
        s.meanShift = acc.shift / s.n;
      }
      return summary;
    },
  };
}

export interface ReplayModelsOptions extends ReplayTableOptions {
  served: ServedPack;
  /** Reads the kept inputs: the uploads bucket on AWS, the data folder's S3 locally (`openLocalInputs`). */
  s3: S3Client;
  /** Verdicts re-scored at once per scan segment (their model calls are batched together). @default 8 */
  concurrency?: number;
}

/**
 * Replays `policy` over the table with each verdict's kept inputs re-scored by `served`: deny-bank
 * verdicts (no model ran) are decided by their match as before, verdicts without kept inputs or
 * whose inputs cannot be re-scored are counted and not replayed. The report's `models` says which.
 */
export async function replayTableWithModels(options: ReplayModelsOptions): Promise<ReplayReport> {
  const { served, s3 } = options;
  const tally = createReplayTally(replayPolicy(options.policy), options);
  const models = createModelsSummary(served);
  const { summary } = models;
  const concurrency = options.concurrency ?? 8;
  await scanVerdicts(options, tally, (items) =>
    eachLimited(items, concurrency, async (item) => {
      if (!tally.accepts(item)) return tally.add(item);
      const v = item as unknown as StoredVerdict;
      if (isKnownContent(v)) {
        summary.knownContent++;
        return tally.add(item);
      }
      if (!v.inputs) {
        summary.noInputs++;
        return tally.withhold(item);
      }
      summary.withInputs++;
      const outcome = await rescore(v, s3, served);
      summary.inputBytes += outcome.bytes;
      if (outcome.kind === 'not-rescorable') {
        summary.notRescorable[outcome.reason] = (summary.notRescorable[outcome.reason] ?? 0) + 1;
        return tally.withhold(item);
      }
      models.rescored(v, outcome);
      tally.add(item, { categories: outcome.categories, partial: outcome.partial });
    }),
  );
  return { ...tally.report(), models: models.finish() };
}

export interface LocalInputs {
  s3: S3Client;
  close(): Promise<void>;
}

/**
 * The S3 buckets of a local data folder (uploads, kept inputs), served on their own by s3rver on
 * the folder's files, to read kept inputs from. Open the verdicts first (`openLocalVerdicts`): it
 * is what refuses a folder a running stack holds.
 */
export async function openLocalInputs(dataDir: string): Promise<LocalInputs> {
  const { localS3Path, localS3rver } = await import('#local/s3-emulator.ts');
  const s3rver = localS3rver(dataDir);
  let address: AddressInfo;
  try {
    address = (await s3rver.run()) as AddressInfo;
  } catch (err) {
    throw new LocalVerdictsError(`cannot serve ${localS3Path(dataDir)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    s3,
    async close() {
      s3.destroy();
      await s3rver.close();
    },
  };
}
