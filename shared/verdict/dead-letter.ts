import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { METRIC } from '#shared/contracts/metrics.ts';
import { s3Uri } from '#shared/contracts/s3-uri.ts';
import { ERROR_CODES } from '#shared/domain/errors.ts';
import { errorVerdict, type Verdict } from '#shared/domain/verdict.ts';
import {
  NotificationParseError,
  type ObjectRef,
  parseS3Notification,
  verdictKey,
} from '#shared/events/s3-notification.ts';
import { objectId } from '#shared/logging/redact.ts';
import type { VerdictStore } from './store.ts';

/** The code every dead-lettered upload's verdict carries (shared/domain/errors.ts). */
export const DEAD_LETTER_CODE = 'PROCESSING_FAILED';

export interface DeadLetterDeps {
  store: VerdictStore;
  /** Stamped on the verdict: the policy the pipeline would have applied. */
  policyVersion: string;
  now?: () => Date;
}

export interface DeadLetterResult {
  /** Objects that got an `error` verdict now. */
  written: ObjectRef[];
  /** Objects that already had a verdict (moderated after all, or recorded by an earlier delivery). */
  existing: ObjectRef[];
}

/** The `error` verdict for an upload the pipeline gave up on. */
export function deadLetterVerdict(
  ref: ObjectRef,
  message: string,
  policyVersion: string,
  now: Date,
): Verdict {
  return errorVerdict(
    { object: s3Uri(ref), objectVersion: ref.versionId ?? ref.eTag, policyVersion },
    DEAD_LETTER_CODE,
    message,
    {},
    now,
  );
}

/**
 * Records an `error` verdict for each object named in a dead-lettered notification, so a client
 * polling for the verdict learns that moderation failed instead of waiting forever. The write is
 * conditional: a verdict that exists (a late success, or a redelivery of this message) is kept.
 * A body that is not an S3 notification throws (NotificationParseError).
 */
export async function recordDeadLetter(body: string, deps: DeadLetterDeps): Promise<DeadLetterResult> {
  // The redrive leaves the body as it was: the original S3 notification.
  const refs = parseS3Notification(body);
  const now = deps.now?.() ?? new Date();
  const text = ERROR_CODES[DEAD_LETTER_CODE];
  const result: DeadLetterResult = { written: [], existing: [] };
  for (const ref of refs) {
    const outcome = await deps.store.putOnce(
      verdictKey(ref),
      deadLetterVerdict(ref, text, deps.policyVersion, now),
    );
    (outcome === 'written' ? result.written : result.existing).push(ref);
    // If this is the key's newest version, its (error) verdict is the key's current one.
    await deps.store.advanceLatest(ref, now);
  }
  return result;
}

export interface DeadLetterRecordHandlerDeps extends DeadLetterDeps {
  logger: Logger;
  metrics: Metrics;
}

/**
 * Handles one dead-letter queue record. A body that is no S3 notification can never be recorded,
 * so it is logged and dropped (the DeadLetterArrivals alarm has already fired for it); a failed
 * write throws, and the record stays in the queue for the next attempt.
 */
export function createDeadLetterRecordHandler(deps: DeadLetterRecordHandlerDeps) {
  return async (record: SQSRecord): Promise<void> => {
    let result: DeadLetterResult;
    try {
      result = await recordDeadLetter(record.body, deps);
    } catch (err) {
      if (!(err instanceof NotificationParseError)) throw err;
      deps.logger.error('dead letter is not an S3 notification; dropped', {
        messageId: record.messageId,
        error: err,
      });
      deps.metrics.addMetric(METRIC.deadLetterUnparseable, MetricUnit.Count, 1);
      return;
    }
    // Pseudonyms only: neither object contents nor the (user-chosen) keys reach the logs.
    deps.logger.warn('dead-lettered uploads recorded as error verdicts', {
      messageId: record.messageId,
      written: result.written.map(objectId),
      existing: result.existing.map(objectId),
    });
    deps.metrics.addMetric(METRIC.deadLettered, MetricUnit.Count, result.written.length);
  };
}
