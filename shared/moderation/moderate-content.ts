/**
 * The synchronous path (the HTTP API): content that arrived in a request, judged by the same code
 * as an S3 upload (judge.ts) and stored in the same verdicts table, keyed by what was judged so a
 * retried request finds its verdict instead of counting twice.
 */
import { createHash } from 'node:crypto';
import { ModerationError, RetryableError } from '#shared/domain/errors.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { InferenceError } from '#shared/inference/client.ts';
import type { Sniffed } from '#shared/ingest/sniff.ts';
import type { VerdictStore } from '#shared/verdict/store.ts';
import { inlineObjects, MediaDecodingDeferral } from './collect.ts';
import { elapsed, type JudgeDeps, judge } from './judge.ts';

/** One request's content: its parts by name, and the one to moderate (a post's manifest names the others). */
export interface Submission {
  tenant: string;
  parts: ReadonlyMap<string, Uint8Array>;
  key: string;
  /** The request said what `key` is (a JSON text field is text): not sniffed. @default sniffed */
  sniffed?: Sniffed;
}

export interface ContentModeratorDeps extends JudgeDeps {
  store: VerdictStore;
}

export interface ContentResult {
  verdict: Verdict;
  /** 'written': judged now; 'already-moderated': the same content under the same policy was judged before. */
  outcome: 'written' | 'already-moderated' | 'not-stored';
}

/**
 * The verdict's table key and `object`: `api://<tenant>/<sha256>`, over the policy version and every
 * part (name, length, bytes), so the same content under the same policy is one verdict per tenant.
 */
export function submissionKey(sub: Submission, policyVersion: string): string {
  const hash = createHash('sha256').update(`${policyVersion}\n${sub.key}\n${sub.sniffed?.kind ?? ''}\n`);
  for (const [name, bytes] of [...sub.parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`${name}\n${bytes.byteLength}\n`).update(bytes);
  }
  return `api://${sub.tenant}/${hash.digest('hex')}`;
}

/**
 * Moderates a submission and stores its verdict once (unless `store` is false: Perspective's
 * `doNotStore`). A problem with the content itself throws a ModerationError, which the API answers
 * with a 4xx and does not store: the caller has the answer. Failing dependencies throw as they are.
 */
export async function moderateContent(
  sub: Submission,
  deps: ContentModeratorDeps,
  options: { store: boolean } = { store: true },
): Promise<ContentResult> {
  const pk = submissionKey(sub, deps.policy.version);
  // No read first: a retry is rare, and on the synchronous path every round trip is latency. The
  // conditional write below finds the earlier verdict, and that is the one answered.
  const started = performance.now();
  const timings: Record<string, number> = {};
  const base = { object: pk, policyVersion: deps.policy.version };
  let verdict: Verdict;
  try {
    verdict = await judge(
      sub.parts.get(sub.key) ?? new Uint8Array(),
      {
        objects: inlineObjects(sub.parts),
        key: sub.key,
        ...(sub.sniffed && { sniffed: sub.sniffed }),
        // A request that asked not to be stored (Perspective's doNotStore) keeps no inputs either.
        ...(options.store && { keepInputsAs: pk }),
      },
      base,
      timings,
      deps,
    );
  } catch (err) {
    // No ffmpeg here (MEDIA_DECODING=none): the caller learns where audio and video are moderated.
    if (err instanceof MediaDecodingDeferral)
      throw new ModerationError(
        'MEDIA_NEEDS_UPLOAD',
        `${err.kind} is not decoded by this API deployment: put the file in the uploads bucket, whose media function moderates it, and read its verdict there`,
        { cause: err },
      );
    // The endpoint refused this input: asking again would not help, so it is the content's error.
    if (err instanceof InferenceError && !err.retryable)
      throw new ModerationError('INFERENCE_REJECTED', err.message, { cause: err });
    throw err;
  }
  verdict.timings.totalMs = elapsed(started);
  if (!options.store) return { verdict, outcome: 'not-stored' };
  const outcome = await deps.store.putOnce(pk, verdict);
  // The same request was answered before (a retry, or a concurrent twin): answer what was stored.
  if (outcome === 'duplicate') {
    const stored = await deps.store.get(pk);
    // A strongly consistent read right after a lost conditional write finds the winner's verdict.
    if (!stored)
      throw new RetryableError(`the verdict ${pk} was written by another request but cannot be read`);
    return { verdict: stored, outcome: 'already-moderated' };
  }
  return { verdict, outcome: 'written' };
}
