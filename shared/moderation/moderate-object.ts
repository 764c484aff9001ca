import type { S3Client } from '@aws-sdk/client-s3';
import { s3Uri } from '#shared/contracts/s3-uri.ts';
import { type ErrorCode, ModerationError } from '#shared/domain/errors.ts';
import { errorVerdict, type Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';
import { InferenceError } from '#shared/inference/client.ts';
import type { InFlight } from '#shared/inference/coalesce.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { readObjectAndTagCount } from '#shared/ingest/read-object.ts';
import type { LatestOutcome, VerdictStore } from '#shared/verdict/store.ts';
import { MediaDecodingDeferral, s3Objects } from './collect.ts';
import { elapsed, type JudgeDeps, judge } from './judge.ts';

export interface ModeratorDeps extends JudgeDeps {
  s3: S3Client;
  store: VerdictStore;
  /**
   * Media over the synchronous limits is handed to the long-media path instead of getting a
   * `TOO_LONG_FOR_SYNC` verdict: `moderateObject` then throws `LongMediaDeferral` and writes nothing.
   * @default false
   */
  deferLongMedia?: boolean;
  /**
   * Runs once the verdict is stored (tag, quarantine, event), beside the latest pointer's advance;
   * absent locally unless configured. Also on a redelivery, which is how a failed action is retried.
   */
  onVerdict?: (verdict: Verdict, upload: UploadTags) => Promise<unknown>;
  /**
   * Counts the objects whose model calls may still come, for the coalescing client's `callers`
   * (`createInFlight`): an object counts until its verdict is decided, not while it is stored.
   */
  inFlight?: InFlight;
}

/**
 * Thrown instead of writing a verdict when `deferLongMedia` is on and the upload is over the
 * synchronous limits (`TOO_LONG_FOR_SYNC`) or needs ffmpeg where there is none
 * (`MediaDecodingDeferral`): the caller forwards the notification to the media queue, whose
 * consumer writes the one verdict.
 */
export class LongMediaDeferral extends Error {
  override name = 'LongMediaDeferral';
  /** Why it was forwarded, for the log. */
  readonly reason: 'needs-media-decoding' | 'over-sync-limits';
  constructor(
    readonly ref: ObjectRef,
    cause: ModerationError | MediaDecodingDeferral,
  ) {
    super(cause.message, { cause });
    this.reason = cause instanceof MediaDecodingDeferral ? 'needs-media-decoding' : 'over-sync-limits';
  }
}

/** What the moderation learnt of the upload's tags, for the actions that tag it. */
export interface UploadTags {
  /**
   * The upload had no tags when it was read, less than `TAG_COUNT_TRUSTED_MS` ago, so the verdict's
   * tags can be written without reading its tags first.
   */
  untagged: boolean;
}

/**
 * How long the tag count of the upload's read (GetObject's `x-amz-tagging-count`) is trusted. Within
 * it the actions skip their tag read, one S3 request of the seven an upload costs; tags someone adds
 * in that window are replaced, as they would be in the gap between a read and a write. After it (long
 * media, a slow endpoint) the actions read the tags again, so that nothing added meanwhile is lost.
 */
export const TAG_COUNT_TRUSTED_MS = 5_000;

export type Outcome = 'written' | 'duplicate' | 'already-moderated';

export interface ModerationResult {
  verdict: Verdict;
  outcome: Outcome;
  /** Whether this version became the key's current one (by S3 event order). */
  latest: LatestOutcome;
}

/**
 * The placeholder the dead-letter handler records. A redriven message finds it and moderates the
 * object after all, replacing it; every other existing verdict is final.
 */
const REDRIVABLE: ErrorCode = 'PROCESSING_FAILED';

/**
 * Moderates one object version end to end, stores exactly one verdict for it and acts on it
 * (`onVerdict`). Problems with the upload itself become an `error` verdict; failures of what we
 * call (S3, endpoints, DynamoDB, the actions) are thrown so the queue redelivers the message.
 */
export async function moderateObject(ref: ObjectRef, deps: ModeratorDeps): Promise<ModerationResult> {
  const pk = verdictKey(ref);
  const decided = await (deps.inFlight
    ? deps.inFlight.track(() => decide(ref, pk, deps))
    : decide(ref, pk, deps));
  if ('existing' in decided) {
    // A redelivery or duplicate notification: still advance the pointer (the delivery that wrote
    // the verdict may have died before doing so) and run the actions again.
    const { existing } = decided;
    return {
      verdict: existing,
      outcome: 'already-moderated',
      latest: await afterStored(ref, existing, deps, { untagged: false }),
    };
  }
  const { verdict, untaggedAt } = decided;
  const outcome = await deps.store.putOnce(pk, verdict, { replaceErrorCode: REDRIVABLE });
  const untagged = untaggedAt !== undefined && nowMs(deps) - untaggedAt < TAG_COUNT_TRUSTED_MS;
  // A lost race ('duplicate') leaves the actions to the delivery that won.
  const latest = await afterStored(ref, outcome === 'duplicate' ? undefined : verdict, deps, { untagged });
  return { verdict, outcome, latest };
}

/**
 * After the verdict is stored, and only then: the latest pointer (so a reader following it always
 * finds a verdict) and the actions (so a failed one is retried with the verdict already safe),
 * side by side, since neither needs the other. Both are idempotent (tags overwrite, the quarantine
 * copy has a fixed key, consumers dedupe events), so a failure of either fails the record and its
 * redelivery runs both again.
 */
async function afterStored(
  ref: ObjectRef,
  actOn: Verdict | undefined,
  deps: ModeratorDeps,
  upload: UploadTags,
): Promise<LatestOutcome> {
  const [latest] = await Promise.all([
    deps.store.advanceLatest(ref),
    actOn ? deps.onVerdict?.(actOn, upload) : undefined,
  ]);
  return latest;
}

const nowMs = (deps: ModeratorDeps) => (deps.now?.() ?? new Date()).getTime();

/**
 * The object's verdict: the stored one if it is final, else a new one (not yet stored), with when
 * the read that found the upload without tags started.
 */
async function decide(
  ref: ObjectRef,
  pk: string,
  deps: ModeratorDeps,
): Promise<{ existing: Verdict } | { verdict: Verdict; untaggedAt?: number }> {
  const started = performance.now();
  // The object is read while the table is asked for an existing verdict: a first delivery (nearly
  // every one) needs both, so the two round trips overlap instead of adding up. A redelivery reads
  // the object for nothing; its result (or error) is then dropped.
  const tooLarge = (ref.size ?? 0) > LIMITS.maxObjectBytes;
  const readAt = nowMs(deps);
  const reading = tooLarge
    ? undefined
    : settled(readObjectAndTagCount(deps.s3, { ...ref, maxBytes: LIMITS.maxObjectBytes }));
  const existing = await deps.store.get(pk);
  // Spend no GPU time on an object that has its verdict (the redrivable placeholder excepted).
  if (existing && existing.error?.code !== REDRIVABLE) return { existing };

  const timings: Record<string, number> = {};
  const base = {
    object: s3Uri(ref),
    objectVersion: ref.versionId ?? ref.eTag,
    policyVersion: deps.policy.version,
  };
  let verdict: Verdict;
  let untaggedAt: number | undefined;
  try {
    if (!reading) {
      throw new ModerationError(
        'TOO_LARGE',
        `object is ${ref.size} bytes; the limit is ${LIMITS.maxObjectBytes}`,
      );
    }
    const read = await reading;
    if ('error' in read) throw read.error;
    timings.fetchMs = read.ms;
    if (read.value.tagCount === 0) untaggedAt = readAt;
    verdict = await judge(
      read.value.bytes,
      { objects: s3Objects(deps.s3, ref.bucket), key: ref.key, keepInputsAs: pk },
      base,
      timings,
      deps,
    );
  } catch (err) {
    const now = deps.now?.() ?? new Date();
    // Decided from the probe (or the decoded length) before any frame or speech work was done.
    // Or, with MEDIA_DECODING=forward, from the sniffed type before anything was decoded.
    if (deps.deferLongMedia) {
      if (err instanceof MediaDecodingDeferral) throw new LongMediaDeferral(ref, err);
      if (err instanceof ModerationError && err.code === 'TOO_LONG_FOR_SYNC')
        throw new LongMediaDeferral(ref, err);
    }
    if (err instanceof ModerationError) verdict = errorVerdict(base, err.code, err.message, timings, now);
    // An endpoint that rejects the input will reject it on every retry: record it instead of looping.
    else if (err instanceof InferenceError && !err.retryable) {
      verdict = errorVerdict(base, 'INFERENCE_REJECTED', err.message, timings, now);
    } else throw err;
  }
  verdict.timings.totalMs = elapsed(started);
  return { verdict, untaggedAt };
}

/** A promise that never rejects (so one left unawaited is no unhandled rejection), with its duration. */
function settled<T>(promise: Promise<T>): Promise<{ value: T; ms: number } | { error: unknown }> {
  const t = performance.now();
  return promise.then(
    (value) => ({ value, ms: elapsed(t) }),
    (error: unknown) => ({ error }),
  );
}

export { errorVerdict };
