/**
 * CloudWatch metric names the functions publish (Powertools EMF) and the dashboards and alarms
 * read (infra/constructs/observability.ts): written once here, so a rename cannot split them.
 */
import type { Decision } from '#shared/domain/verdict.ts';

/** The namespace every function publishes into. */
export const METRICS_NAMESPACE = 'ModerationPipeline';

/** Powertools service names (the `service` dimension), per function. */
export const SERVICE_NAMES = {
  moderate: 'moderation',
  deadLetter: 'moderation-dead-letter',
  api: 'moderation-api',
  webhookSender: 'moderation-webhook-sender',
} as const;

export const METRIC = {
  moderationFailures: 'moderationFailures',
  moderationLatency: 'moderationLatency',
  duplicateDeliveries: 'duplicateDeliveries',
  longMediaForwarded: 'longMediaForwarded',
  deadLettered: 'deadLettered',
  deadLetterUnparseable: 'deadLetterUnparseable',
  /** Verdicts with a match in a bank, one per bank (dimension `METRIC_DIMENSION.bank`). */
  bankMatches: 'bankMatches',
  /** Verdicts with a blocklist hit (dimension `METRIC_DIMENSION.termList`). */
  termListMatches: 'termListMatches',
  /** Scored verdicts written without their kept inputs (KEEP_INPUTS): the put failed or the document was too large. */
  inputsNotKept: 'inputsNotKept',
} as const;

/** Dimensions of the per-bank and per-list metrics. */
export const METRIC_DIMENSION = {
  bank: 'bank',
  termList: 'termList',
} as const;

/** Count of stored verdicts with one decision. */
export const decisionMetric = (decision: Decision): string => `decision_${decision}`;

/** Every decision, once: a Record, so a new `Decision` does not compile until it is listed here. */
const DECISIONS: Readonly<Record<Decision, true>> = { allow: true, review: true, block: true, error: true };

/** The `decision_*` metric of every decision (what the dashboard searches for). */
export const DECISION_METRICS: readonly string[] = (Object.keys(DECISIONS) as Decision[]).map(decisionMetric);
