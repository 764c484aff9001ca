/**
 * The verdict store with its reads coalesced: the records of one SQS batch are handled concurrently
 * (Powertools' BatchProcessor) and each first asks whether its object version already has a verdict.
 * Those `get`s are made in the same event-loop turn, so they go out as one strongly consistent
 * BatchGetItem instead of one GetItem each: one round trip per batch instead of ten, on AWS as
 * locally. A lone `get` stays a GetItem. Writes are conditional and stay one request each.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { VerdictItem, VerdictStore } from './store.ts';

/** BatchGetItem's limit per request. */
const MAX_KEYS = 100;

interface PendingGet {
  pk: string;
  resolve: (item: VerdictItem | undefined) => void;
  reject: (err: unknown) => void;
}

export function withBatchedGets(
  store: VerdictStore,
  doc: DynamoDBDocumentClient,
  tableName: string,
): VerdictStore {
  let pending: PendingGet[] = [];

  async function readBatch(batch: PendingGet[]): Promise<void> {
    const pks = [...new Set(batch.map((p) => p.pk))];
    try {
      const { Responses, UnprocessedKeys } = await doc.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pks.map((pk) => ({ pk })), ConsistentRead: true } },
        }),
      );
      const items = new Map<string, VerdictItem>();
      for (const item of Responses?.[tableName] ?? []) items.set(String(item.pk), item as VerdictItem);
      // Throttled or over the response size: those keys are asked for one by one (each with its own
      // retries), so no caller takes "unprocessed" for "no verdict".
      const unprocessed = new Set((UnprocessedKeys?.[tableName]?.Keys ?? []).map((k) => String(k.pk)));
      const retried = new Map<string, Promise<VerdictItem | undefined>>();
      for (const pk of unprocessed) retried.set(pk, store.get(pk));
      for (const p of batch) {
        const again = retried.get(p.pk);
        if (again) again.then(p.resolve, p.reject);
        else p.resolve(items.get(p.pk));
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  function flush(): void {
    const all = pending;
    pending = [];
    const [only] = all;
    if (only && all.length === 1) {
      store.get(only.pk).then(only.resolve, only.reject);
      return;
    }
    for (let i = 0; i < all.length; i += MAX_KEYS) void readBatch(all.slice(i, i + MAX_KEYS));
  }

  return {
    ...store,
    get(pk) {
      return new Promise((resolve, reject) => {
        // The next turn, not a microtask: records that reach their read a few promise hops apart still meet.
        if (!pending.length) setImmediate(flush);
        pending.push({ pk, resolve, reject });
      });
    },
  };
}
