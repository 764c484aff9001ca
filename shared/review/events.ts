/**
 * What a final decision tells the platform (docs/REVIEW.md): a `Moderation Decision` event on the
 * event bus (locally, a line in the event log). A rule copies it to the webhook queue, whose sender
 * (webhook-sender.ts) POSTs it to the tenant's webhook, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` so the platform can check it came from here and is fresh.
 */
import { createHmac } from 'node:crypto';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DECISION_EVENT } from '#shared/contracts/review.ts';
import type { Verdict } from '#shared/domain/verdict.ts';

export { DECISION_EVENT };

/**
 * The event's detail: what the platform needs to take the content down or restore it. `tenant` is
 * whose content it is (whose webhook the sender calls).
 */
export function decisionDetail(verdict: Verdict, tenant: string) {
  return {
    verdictId: verdict.id,
    tenant,
    object: verdict.object,
    objectVersion: verdict.objectVersion,
    decision: verdict.decision,
    finalDecision: verdict.finalDecision,
    review: verdict.review,
    appeal: verdict.appeal,
    policyVersion: verdict.policyVersion,
  };
}
export type DecisionDetail = ReturnType<typeof decisionDetail>;

/** Where decision events go: EventBridge on AWS, the local event log in the local mode. */
export interface DecisionEvents {
  publish(detail: DecisionDetail): Promise<void>;
}

/** No bus configured: decisions are still stored and audited (and no webhook is sent). */
export const NO_DECISION_EVENTS: DecisionEvents = { publish: async () => undefined };

export function eventBridgeDecisions(eventBridge: EventBridgeClient, eventBusName: string): DecisionEvents {
  return {
    async publish(detail) {
      const out = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: eventBusName,
              Source: DECISION_EVENT.source,
              DetailType: DECISION_EVENT.detailType,
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
      if ((out.FailedEntryCount ?? 0) > 0)
        throw new Error(`publishing the decision event failed: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
    },
  };
}

export const SIGNATURE_HEADER = 'x-moderation-signature';
export const TIMESTAMP_HEADER = 'x-moderation-timestamp';

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): what the receiver recomputes. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  /** @default 3 */
  attempts?: number;
  /** Before the second attempt; doubles each time. @default 200 */
  baseDelayMs?: number;
  /** Per attempt. @default 3000 */
  timeoutMs?: number;
}

/**
 * POSTs the event to the webhook until it answers 2xx or the attempts run out; resolves to whether
 * it was delivered (the caller records a dead letter when not) and the last failure.
 */
export async function deliverWebhook(
  webhook: { url: string; secret: string },
  detail: DecisionDetail,
  options: WebhookOptions = {},
): Promise<{ delivered: boolean; attempts: number; lastError?: string }> {
  const attempts = options.attempts ?? 3;
  const body = JSON.stringify({ type: DECISION_EVENT.detailType, detail });
  let lastError: string | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(webhook.secret, timestamp, body),
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { delivered: true, attempts: attempt };
      lastError = `answered ${res.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (attempt < attempts)
      await new Promise((r) => setTimeout(r, (options.baseDelayMs ?? 200) * 2 ** (attempt - 1)));
  }
  return { delivered: false, attempts, ...(lastError && { lastError }) };
}
