import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { verdictId } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { latestKey, type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';

/** The DynamoDB item: the verdict contract plus its key. */
export type VerdictItem = Verdict & { pk: string };

/**
 * The per-key pointer item (`latest#bucket/key`): which object version's verdict is current. It has
 * no `decision`/`createdAt`, so it never shows up in the review index.
 */
export interface LatestPointer {
  pk: string;
  /** The verdict item of the newest version seen so far. */
  verdictPk: string;
  objectVersion?: string;
  /** That version's S3 sequencer, normalised (fixed width): string order is event order. */
  sequencer: string;
  updatedAt: string;
}

/**
 * 'advanced': the pointer now names this version. 'not-newer': a version with the same or a later
 * sequencer is already current (a redelivery, or an older version processed late). 'unordered': the
 * notification had no sequencer, so nothing can be said about order and the pointer is left alone.
 */
export type LatestOutcome = 'advanced' | 'not-newer' | 'unordered';

export interface PutOnceOptions {
  /**
   * Replace an existing `error` verdict with this code instead of keeping it: a redriven upload whose
   * placeholder says `PROCESSING_FAILED` gets its real verdict. Any other existing verdict is kept.
   */
  replaceErrorCode?: string;
}

export interface VerdictStore {
  get(pk: string): Promise<VerdictItem | undefined>;
  /**
   * Writes the verdict unless one exists for this object version: 'duplicate' means another delivery
   * won. It stamps the verdict with its `id` (verdictId of `pk`) first, so the caller's copy has it too.
   */
  putOnce(pk: string, verdict: Verdict, options?: PutOnceOptions): Promise<'written' | 'duplicate'>;
  /** Points the key's "latest" item at this version's verdict, unless a later version got there first. */
  advanceLatest(ref: ObjectRef, now?: Date): Promise<LatestOutcome>;
  /** The verdict of the newest version of a key (by S3 event order) that has one. */
  getCurrent(ref: Pick<ObjectRef, 'bucket' | 'key'>): Promise<VerdictItem | undefined>;
}

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';

export function createVerdictStore(doc: DynamoDBDocumentClient, tableName: string): VerdictStore {
  const get = async <T>(pk: string) => {
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }),
    );
    return Item as T | undefined;
  };
  return {
    get: (pk) => get<VerdictItem>(pk),
    async putOnce(pk, verdict, options = {}) {
      const replace = options.replaceErrorCode;
      verdict.id = verdictId(pk);
      // An automatic `review` waits for a person from the moment it exists (VERDICT_TABLE.queueIndex).
      if (verdict.decision === 'review' && verdict.queue === undefined) {
        verdict.queue = 'review';
        verdict.queuedAt = verdict.createdAt;
      }
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk, ...verdict },
            // Idempotent per object version: redeliveries and duplicate notifications can't overwrite.
            ...(replace === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'attribute_not_exists(pk) OR #error.#code = :replace',
                  ExpressionAttributeNames: { '#error': 'error', '#code': 'code' },
                  ExpressionAttributeValues: { ':replace': replace },
                }),
          }),
        );
        return 'written';
      } catch (err) {
        if (isConditionFailure(err)) return 'duplicate';
        throw err;
      }
    },
    async advanceLatest(ref, now = new Date()) {
      if (!ref.sequencer) return 'unordered';
      const pointer: LatestPointer = {
        pk: latestKey(ref),
        verdictPk: verdictKey(ref),
        objectVersion: ref.versionId ?? ref.eTag,
        sequencer: ref.sequencer,
        updatedAt: now.toISOString(),
      };
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: pointer,
            // S3 may deliver an older version's event after a newer one's: only move forward.
            ConditionExpression: 'attribute_not_exists(pk) OR #seq < :seq',
            ExpressionAttributeNames: { '#seq': 'sequencer' },
            ExpressionAttributeValues: { ':seq': ref.sequencer },
          }),
        );
        return 'advanced';
      } catch (err) {
        if (isConditionFailure(err)) return 'not-newer';
        throw err;
      }
    },
    async getCurrent(ref) {
      const pointer = await get<LatestPointer>(latestKey(ref));
      return pointer ? get<VerdictItem>(pointer.verdictPk) : undefined;
    },
  };
}
