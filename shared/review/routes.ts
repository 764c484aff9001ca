/**
 * The review and appeal routes (docs/REVIEW.md), on the API's server and auth: reviewer keys (role
 * `reviewer` or `lead`) use /v1/review/*, API keys appeal their tenant's verdicts. Thin: parse,
 * check who may, one conditional write in the review store, then what a final decision causes
 * (bank the item's hashes, the decision event; the tenant's webhook follows from the event).
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { parseJsonBody } from '#shared/api/body.ts';
import { ApiError } from '#shared/api/errors.ts';
import { type Caller, ownedBy } from '#shared/api/keys.ts';
import { verdictPkOf } from '#shared/contracts/verdict-table.ts';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { BANK_NAME } from '#shared/matching/banks.ts';
import type { VerdictItem, VerdictStore } from '#shared/verdict/store.ts';
import { type DecisionEvents, decisionDetail } from './events.ts';
import { type QueueKind, type ReviewStore, reviewView } from './store.ts';

export interface ReviewDeps {
  store: ReviewStore;
  verdicts: VerdictStore;
  events: DecisionEvents;
  /** Adds hashes to a bank (creating it as `kind`); resolves when the bank object is written. */
  addToBank(
    bank: string,
    kind: 'deny' | 'allow',
    label: string,
    signals: NonNullable<Verdict['signals']>,
  ): Promise<unknown>;
  /** A failure after the decision was recorded (the event): for the logs. */
  onAfterDecisionError?: (what: string, err: unknown) => void;
}

type Env = { Variables: { caller: Caller } };

export const decisionRequestSchema = z.strictObject({
  decision: z.enum(['allow', 'block']),
  reason: z.string().trim().min(1, 'give a reason').max(2000),
  labels: z.partialRecord(z.enum(CATEGORIES), z.boolean()).optional(),
  bank: z.string().regex(BANK_NAME, 'a bank name: letters, digits, . _ -, at most 64').optional(),
});

export const appealRequestSchema = z.strictObject({
  verdictId: z.string().min(1),
  reason: z.string().trim().min(1, 'give a reason').max(2000),
});

const queueQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  kind: z.enum(['review', 'appeal']).default('review'),
  category: z.enum(CATEGORIES).optional(),
  modality: z.string().max(32).optional(),
});

function reviewer(c: Context<Env>): Caller {
  const caller = c.get('caller');
  if (!caller.role) throw new ApiError(403, 'FORBIDDEN', 'the review routes need a reviewer key');
  return caller;
}

/** The tenant whose content a verdict is: its API tenant, or (an S3 upload) the reviewer's own. */
const tenantOf = (verdict: Verdict, caller: Caller) =>
  /^api:\/\/([^/]+)\//.exec(verdict.object)?.[1] ?? caller.tenant;

export function mountReviewRoutes(app: Hono<Env>, deps: ReviewDeps): void {
  /** The verdict an id names, if the caller may see it (404 otherwise, whoever owns it). */
  const owned = async (caller: Caller, id: string): Promise<{ pk: string; item: VerdictItem }> => {
    const pk = verdictPkOf(id);
    const item = pk === undefined ? undefined : await deps.verdicts.get(pk);
    if (!pk || !item || !ownedBy(caller, item.object))
      throw new ApiError(404, 'NOT_FOUND', `no verdict ${id}`);
    return { pk, item };
  };

  app.get('/v1/review/queue', async (c) => {
    const caller = reviewer(c);
    const parsed = queueQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue?.path[0] ?? 'query');
      throw new ApiError(400, 'INVALID_REQUEST', `${field}: ${issue?.message}`, field);
    }
    const q = parsed.data;
    const items = await deps.store.queue(q.kind as QueueKind, q.limit, (v) => {
      if (!ownedBy(caller, v.object)) return false;
      // The category a reviewer specialises in: one the policy flagged (its reasons name it).
      if (q.category && !v.reasons.some((r) => r.startsWith(`${q.category} `))) return false;
      return !q.modality || v.modalities[q.modality] !== undefined;
    });
    return c.json({ items: items.map(reviewView) });
  });

  app.post('/v1/review/items/:id/claim', async (c) => {
    const caller = reviewer(c);
    const { pk } = await owned(caller, c.req.param('id'));
    const item = await deps.store.claim(pk, caller);
    return c.json({ id: item.id, reviewer: item.lease?.reviewer, leaseUntil: item.lease?.until });
  });

  // Gives the claim back (the console's skip): the item is in the queue again for everyone at once.
  app.post('/v1/review/items/:id/release', async (c) => {
    const caller = reviewer(c);
    const { pk } = await owned(caller, c.req.param('id'));
    const item = await deps.store.release(pk, caller);
    return c.json({ id: item.id, released: true });
  });

  app.post('/v1/review/items/:id/decision', async (c) => {
    const caller = reviewer(c);
    const body = parseJsonBody(await c.req.text(), decisionRequestSchema);
    const { pk, item: before } = await owned(caller, c.req.param('id'));
    // Checked before the decision is written, so a bank that cannot take the item fails the request whole.
    if (body.bank && !before.signals?.length)
      throw new ApiError(422, 'INVALID_REQUEST', `verdict ${before.id} kept no hashes to bank`, 'bank');
    const item = await deps.store.decide(pk, caller, {
      decision: body.decision,
      reason: body.reason,
      ...(body.labels && { labels: body.labels }),
      ...(body.bank && { bank: body.bank }),
    });
    const verdict = reviewView(item);
    if (body.bank && before.signals) {
      await deps.addToBank(
        body.bank,
        body.decision === 'block' ? 'deny' : 'allow',
        `review ${item.id}: ${body.reason}`,
        before.signals,
      );
      await deps.store.audit({
        verdictId: item.id ?? '',
        actor: caller.name,
        action: 'bank',
        after: { bank: body.bank, signals: before.signals.length },
      });
    }
    await afterDecision(verdict, caller);
    return c.json(verdict);
  });

  app.post('/v1/appeals', async (c) => {
    const caller = c.get('caller');
    if (caller.role)
      throw new ApiError(403, 'FORBIDDEN', 'appeals come from the tenant’s API key, not a reviewer key');
    const body = parseJsonBody(await c.req.text(), appealRequestSchema);
    const { pk } = await owned(caller, body.verdictId);
    const item = await deps.store.appeal(pk, caller.keyId, body.reason);
    return c.json(reviewView(item), 202);
  });

  /**
   * The decision stands once written; what follows is told, not undone: the event goes on the bus
   * (and from there to the tenant's webhook, through the webhook queue and its sender); a failed
   * publish is recorded in the audit trail (a dead letter to replay), never a failed decision.
   */
  async function afterDecision(verdict: Verdict, caller: Caller): Promise<void> {
    const detail = decisionDetail(verdict, tenantOf(verdict, caller));
    await deps.events.publish(detail).catch(async (err: unknown) => {
      deps.onAfterDecisionError?.('decision event', err);
      await deps.store.audit({
        verdictId: verdict.id ?? '',
        actor: caller.name,
        action: 'webhook-failed',
        after: { target: 'event-bus', error: String(err), detail },
      });
    });
  }
}
