/**
 * The people's side of the verdicts table (docs/REVIEW.md): the queue (a sparse index of items
 * waiting for a person), claims (a lease on the item itself), decisions and appeals. Every write is
 * one conditional UpdateItem on the verdict item, so two reviewers can never both decide it and a
 * decision never overwrites another: the loser gets a 409 naming why.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ApiError } from '#shared/api/errors.ts';
import { AUDIT_TABLE, VERDICT_TABLE, verdictId } from '#shared/contracts/verdict-table.ts';
import type { ReviewRecord, Verdict } from '#shared/domain/verdict.ts';
import type { VerdictItem } from '#shared/verdict/store.ts';

export type QueueKind = 'review' | 'appeal';

/** Who acts: a reviewer key's name and role, or (appeals) an API key's id. */
export interface Actor {
  name: string;
  role?: 'reviewer' | 'lead';
}

/** One audit item: who did what to which verdict, and what changed. */
export interface AuditRecord {
  verdictId: string;
  /** ISO time + `#` + a random suffix: unique and in time order within a verdict. */
  at: string;
  actor: string;
  action: 'claim' | 'release' | 'decision' | 'appeal' | 'bank' | 'webhook-failed';
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

export interface ReviewStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  auditTableName: string;
  /** @default 5 minutes */
  leaseMs?: number;
  now?: () => Date;
}

export const DEFAULT_LEASE_MS = 5 * 60_000;

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';

/** The one reason a conditional write on this item failed, as the 404/409 a reviewer gets. */
function conflict(item: VerdictItem | undefined, actor: Actor, nowIso: string, id: string): ApiError {
  if (!item) return new ApiError(404, 'NOT_FOUND', `no verdict ${id}`);
  if (!item.queue)
    return new ApiError(
      409,
      'CONFLICT',
      `verdict ${id} is not waiting for a person (decided: ${item.finalDecision ?? item.decision})`,
    );
  if (item.lease && item.lease.until > nowIso && item.lease.reviewer !== actor.name)
    return new ApiError(
      409,
      'CONFLICT',
      `verdict ${id} is claimed by ${item.lease.reviewer} until ${item.lease.until}`,
    );
  if (item.queue === 'appeal' && item.review?.reviewer === actor.name)
    return new ApiError(
      409,
      'CONFLICT',
      `${actor.name} decided verdict ${id}; its appeal goes to another reviewer`,
    );
  return new ApiError(409, 'CONFLICT', `verdict ${id} changed while it was being decided; read it again`);
}

/** Appends one audit item (the review store's, and the webhook sender's dead letters). */
export async function appendAudit(
  doc: DynamoDBDocumentClient,
  auditTableName: string,
  record: Omit<AuditRecord, 'at'>,
  at: Date = new Date(),
): Promise<void> {
  await doc.send(
    new PutCommand({
      TableName: auditTableName,
      Item: { ...record, [AUDIT_TABLE.sortKey]: `${at.toISOString()}#${randomUUID().slice(0, 8)}` },
      // Append-only: an audit item is written once and never replaced.
      ConditionExpression: 'attribute_not_exists(#at)',
      ExpressionAttributeNames: { '#at': AUDIT_TABLE.sortKey },
    }),
  );
}

export function createReviewStore(options: ReviewStoreOptions) {
  const { doc, tableName } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const now = options.now ?? (() => new Date());

  /**
   * Free for this actor: not claimed by another (a lead may take over a claim), and an appeal is
   * never decided by the reviewer whose decision is appealed.
   */
  const freeFor = (actor: Actor) => {
    const lead = actor.role === 'lead';
    return {
      expression:
        'attribute_exists(#queue)' +
        (lead
          ? ''
          : ' AND (attribute_not_exists(#lease) OR #lease.#until < :now OR #lease.#reviewer = :me)') +
        ' AND (#queue = :reviewKind OR attribute_not_exists(#review) OR #review.#reviewer <> :me)',
      // DynamoDB refuses names an expression does not use: #until only appears in the lease clause.
      names: {
        '#queue': 'queue',
        '#lease': 'lease',
        '#reviewer': 'reviewer',
        '#review': 'review',
        ...(!lead && { '#until': 'until' }),
      },
      // Likewise :now, used only by the lease clause.
      values: { ':me': actor.name, ':reviewKind': 'review', ...(!lead && { ':now': now().toISOString() }) },
    };
  };

  async function update(
    pk: string,
    actor: Actor,
    params: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>,
  ) {
    const nowIso = now().toISOString();
    try {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [VERDICT_TABLE.partitionKey]: pk },
          ReturnValues: 'ALL_NEW',
          ...params,
        }),
      );
      return Attributes as VerdictItem;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Read what is there now, to say why (dynalite has no ReturnValuesOnConditionCheckFailure).
      const { Item } = await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: { [VERDICT_TABLE.partitionKey]: pk },
          ConsistentRead: true,
        }),
      );
      throw conflict(Item?.object ? (Item as VerdictItem) : undefined, actor, nowIso, verdictId(pk));
    }
  }

  const audit = (record: Omit<AuditRecord, 'at'>) => appendAudit(doc, options.auditTableName, record, now());

  return {
    audit,

    /** Items waiting in a queue, oldest first, skipping those under an unexpired claim. */
    async queue(
      kind: QueueKind,
      limit: number,
      keep: (v: VerdictItem) => boolean = () => true,
    ): Promise<VerdictItem[]> {
      const nowIso = now().toISOString();
      const out: VerdictItem[] = [];
      let start: Record<string, unknown> | undefined;
      // Bounded: at most 10 index pages per request, however many items the filters drop.
      for (let page = 0; page < 10 && out.length < limit; page++) {
        const res = await doc.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: VERDICT_TABLE.queueIndex.name,
            KeyConditionExpression: '#q = :kind',
            ExpressionAttributeNames: { '#q': VERDICT_TABLE.queueIndex.partitionKey },
            ExpressionAttributeValues: { ':kind': kind },
            ScanIndexForward: true,
            Limit: 100,
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
        for (const item of (res.Items ?? []) as VerdictItem[]) {
          const claimed = item.lease && item.lease.until > nowIso;
          if (!claimed && keep(item) && out.length < limit) out.push(item);
        }
        start = res.LastEvaluatedKey;
        if (!start) break;
      }
      return out;
    },

    /** A lease on the item for `leaseMs`; renewing one's own claim extends it. */
    async claim(pk: string, actor: Actor): Promise<VerdictItem> {
      const free = freeFor(actor);
      const until = new Date(now().getTime() + leaseMs).toISOString();
      const item = await update(pk, actor, {
        UpdateExpression: 'SET #lease = :lease',
        ConditionExpression: free.expression,
        ExpressionAttributeNames: free.names,
        ExpressionAttributeValues: { ...free.values, ':lease': { reviewer: actor.name, until } },
      });
      await audit({
        verdictId: verdictId(pk),
        actor: actor.name,
        action: 'claim',
        after: { lease: item.lease },
      });
      return item;
    },

    /**
     * Gives a claim back (a skipped item returns to the queue at once): by the reviewer who holds it,
     * expired or not, or by a lead whoever holds it. No claim, or another reviewer's, is 409.
     */
    async release(pk: string, actor: Actor): Promise<VerdictItem> {
      const lead = actor.role === 'lead';
      const nowIso = now().toISOString();
      let item: VerdictItem;
      try {
        item = await update(pk, actor, {
          UpdateExpression: 'REMOVE #lease',
          ConditionExpression: `attribute_exists(#queue) AND attribute_exists(#lease)${lead ? '' : ' AND #lease.#reviewer = :me'}`,
          ExpressionAttributeNames: {
            '#queue': 'queue',
            '#lease': 'lease',
            ...(!lead && { '#reviewer': 'reviewer' }),
          },
          ...(!lead && { ExpressionAttributeValues: { ':me': actor.name } }),
          ReturnValues: 'ALL_OLD',
        });
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 409) throw err;
        // update() names the lease or the queue; what is left is "nothing to release".
        const current = await doc.send(
          new GetCommand({
            TableName: tableName,
            Key: { [VERDICT_TABLE.partitionKey]: pk },
            ConsistentRead: true,
          }),
        );
        const held = current.Item as VerdictItem | undefined;
        if (held?.queue && !held.lease)
          throw new ApiError(
            409,
            'CONFLICT',
            `verdict ${verdictId(pk)} is not claimed; there is nothing to release`,
          );
        if (held?.queue && held.lease && held.lease.reviewer !== actor.name && held.lease.until <= nowIso)
          throw new ApiError(
            409,
            'CONFLICT',
            `verdict ${verdictId(pk)} was claimed by ${held.lease.reviewer}, whose claim has run out; only they or a lead may release it`,
          );
        throw err;
      }
      const { lease, ...released } = item;
      await audit({
        verdictId: verdictId(pk),
        actor: actor.name,
        action: 'release',
        before: { lease },
      });
      return released as VerdictItem;
    },

    /**
     * Records a person's decision: the item leaves its queue, keeps its automatic `decision`, and gains
     * `review`, `reviews` and `finalDecision`. Allowed unclaimed only when no one else holds a claim.
     */
    async decide(
      pk: string,
      actor: Actor,
      review: Omit<ReviewRecord, 'reviewer' | 'at' | 'kind'>,
    ): Promise<VerdictItem> {
      const free = freeFor(actor);
      const at = now().toISOString();
      // The kind is the queue it was decided from: read back through the condition (#queue = :appealKind).
      const record = (kind: 'review' | 'appeal'): ReviewRecord => ({
        ...review,
        reviewer: actor.name,
        at,
        kind,
      });
      const attempt = async (kind: 'review' | 'appeal') =>
        update(pk, actor, {
          UpdateExpression:
            'SET #review = :review, #reviews = list_append(if_not_exists(#reviews, :none), :reviewList), #final = :final REMOVE #queue, #queuedAt, #lease',
          ConditionExpression: `${free.expression} AND #queue = :kind`,
          ExpressionAttributeNames: {
            ...free.names,
            '#reviews': 'reviews',
            '#final': 'finalDecision',
            '#queuedAt': 'queuedAt',
          },
          ExpressionAttributeValues: {
            ...free.values,
            ':kind': kind,
            ':review': record(kind),
            ':reviewList': [record(kind)],
            ':none': [],
            ':final': review.decision,
          },
        });
      let item: VerdictItem;
      try {
        item = await attempt('review');
      } catch (err) {
        // Not in the review queue: it may be an appeal (anything else fails again with its reason).
        if (!(err instanceof ApiError) || err.status !== 409) throw err;
        item = await attempt('appeal');
      }
      const previous = (item.reviews ?? []).at(-2);
      await audit({
        verdictId: verdictId(pk),
        actor: actor.name,
        action: 'decision',
        before: { finalDecision: previous?.decision ?? item.decision, queue: item.review?.kind },
        after: { finalDecision: item.finalDecision, review: item.review },
      });
      return item;
    },

    /** Puts a verdict back in front of a person as an appeal; one appeal per verdict. */
    async appeal(pk: string, by: string, reason: string): Promise<VerdictItem> {
      const at = now().toISOString();
      const item = await update(
        pk,
        { name: by },
        {
          UpdateExpression: 'SET #queue = :appealKind, #queuedAt = :at, #appeal = :appeal',
          ConditionExpression:
            'attribute_exists(#pk) AND attribute_not_exists(#queue) AND attribute_not_exists(#appeal)',
          ExpressionAttributeNames: {
            '#pk': VERDICT_TABLE.partitionKey,
            '#queue': 'queue',
            '#queuedAt': 'queuedAt',
            '#appeal': 'appeal',
          },
          ExpressionAttributeValues: { ':appealKind': 'appeal', ':at': at, ':appeal': { reason, at, by } },
        },
      ).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 409)
          throw new ApiError(
            409,
            'CONFLICT',
            `verdict ${verdictId(pk)} is already waiting for a person or was appealed before`,
          );
        throw err;
      });
      await audit({
        verdictId: verdictId(pk),
        actor: by,
        action: 'appeal',
        after: { queue: 'appeal', appeal: item.appeal },
      });
      return item;
    },
  };
}

export type ReviewStore = ReturnType<typeof createReviewStore>;

/** What a queue item or decision answer shows: the verdict, without the table key. */
export function reviewView(item: VerdictItem): Verdict {
  const { pk: _pk, ...verdict } = item;
  return verdict;
}
