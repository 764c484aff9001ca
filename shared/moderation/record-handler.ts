import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import type { MediaDecoding } from '#shared/contracts/env.ts';
import { decisionMetric, METRIC, METRIC_DIMENSION } from '#shared/contracts/metrics.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { decodeS3Key, type ObjectRef, parseS3Notification } from '#shared/events/s3-notification.ts';
import { describeError, objectId } from '#shared/logging/redact.ts';
import { deadlineFromContext, runWithDeadline } from '#shared/retry/deadline.ts';
import { LongMediaDeferral, type ModeratorDeps, moderateObject } from './moderate-object.ts';

/** Where media over the synchronous limits goes (docs/MEDIA.md, "Asynchronous path"). */
export interface LongMediaQueue {
  sqs: SQSClient;
  queueUrl: string;
}

export interface RecordHandlerDeps extends ModeratorDeps {
  logger: Logger;
  metrics: Metrics;
  /**
   * In the synchronous mode: media over its limits is forwarded here (the original notification,
   * that one object) and gets no verdict from this handler. Absent: it gets `TOO_LONG_FOR_SYNC`.
   */
  longMedia?: LongMediaQueue;
  /**
   * `forward`: audio and video (and posts with them) go to `longMedia` from their sniffed type,
   * because this function has no ffmpeg (docs/MEDIA.md, "Where media is decoded"). @default 'local'
   */
  mediaDecoding?: MediaDecoding;
}

/**
 * The notification to forward for one object: the message body itself when it names only that
 * object (S3 sends one record per message), else the body with only that object's record.
 */
export function singleObjectNotification(body: string, ref: ObjectRef): string {
  const parsed = JSON.parse(body) as { Records: { s3: { object: { key: string; versionId?: string } } }[] };
  if (parsed.Records.length === 1) return body;
  const Records = parsed.Records.filter(
    (r) => decodeS3Key(r.s3.object.key) === ref.key && r.s3.object.versionId === ref.versionId,
  ).slice(0, 1);
  return JSON.stringify({ ...parsed, Records });
}

/**
 * Handles one SQS record (an S3 notification naming one or more objects). Throwing marks only this
 * record as failed, so the rest of the batch is kept and this one is redelivered. The invocation's
 * remaining time is published to the retry wrapper (shared/retry/deadline.ts) so model-call retries
 * stop in time to return.
 */
export function createRecordHandler(deps: RecordHandlerDeps) {
  const { longMedia } = deps;
  // The long-media consumer itself never forwards: over its own limits is a `TOO_LONG` verdict.
  const forwards = longMedia !== undefined && deps.engines.mode === 'sync';
  const moderatorDeps: ModeratorDeps = {
    ...deps,
    deferLongMedia: forwards,
    deferMediaDecoding: forwards && deps.mediaDecoding === 'forward',
  };
  return (record: SQSRecord, context?: Context): Promise<void> =>
    runWithDeadline(deadlineFromContext(context), async () => {
      const refs = parseS3Notification(record.body);
      for (const ref of refs) {
        let result: Awaited<ReturnType<typeof moderateObject>>;
        try {
          result = await moderateObject(ref, moderatorDeps);
        } catch (err) {
          if (err instanceof LongMediaDeferral && longMedia) {
            // Over the synchronous limits: the long-media consumer writes this object's one verdict.
            await longMedia.sqs.send(
              new SendMessageCommand({
                QueueUrl: longMedia.queueUrl,
                MessageBody: singleObjectNotification(record.body, ref),
              }),
            );
            deps.logger.info('forwarded to the long-media queue', {
              object: objectId(ref),
              reason: err.reason,
            });
            deps.metrics.addMetric(METRIC.longMediaForwarded, MetricUnit.Count, 1);
            continue;
          }
          // Moderation or its actions failed (the verdict may be stored: the redelivery then acts on it).
          // Pseudonym, error class and receive count only: messages can quote keys or manifest text.
          deps.logger.warn('moderation failed; the message goes back to the queue', {
            object: objectId(ref),
            receiveCount: record.attributes?.ApproximateReceiveCount,
            error: describeError(err),
          });
          deps.metrics.addMetric(METRIC.moderationFailures, MetricUnit.Count, 1);
          throw err;
        }
        const { verdict, outcome, latest } = result;
        // Pseudonym and decision only: object contents, excerpts and user-chosen keys never reach the logs.
        deps.logger.info('moderated', {
          object: objectId(ref),
          decision: verdict.decision,
          errorCode: verdict.error?.code,
          outcome,
          latest,
          totalMs: verdict.timings.totalMs,
        });
        if (outcome === 'written') {
          deps.metrics.addMetric(decisionMetric(verdict.decision), MetricUnit.Count, 1);
          countMatches(deps.metrics, verdict);
          if (verdict.timings.totalMs !== undefined) {
            deps.metrics.addMetric(
              METRIC.moderationLatency,
              MetricUnit.Milliseconds,
              verdict.timings.totalMs,
            );
          }
        } else {
          deps.metrics.addMetric(METRIC.duplicateDeliveries, MetricUnit.Count, 1);
        }
      }
    });
}

/**
 * One count per bank (and per term list) that matched the verdict, each under its own dimension:
 * a single-metric blob apiece, since the batch's other metrics share one dimension set.
 */
function countMatches(metrics: Metrics, verdict: Verdict): void {
  const banks = new Set<string>();
  const lists = new Set<string>();
  for (const m of verdict.matches ?? []) (m.signalType === 'term' ? lists : banks).add(m.bank);
  for (const [names, metric, dimension] of [
    [banks, METRIC.bankMatches, METRIC_DIMENSION.bank],
    [lists, METRIC.termListMatches, METRIC_DIMENSION.termList],
  ] as const) {
    for (const name of names) {
      const single = metrics.singleMetric();
      single.addDimension(dimension, name);
      single.addMetric(metric, MetricUnit.Count, 1);
    }
  }
}
