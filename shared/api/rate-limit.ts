/**
 * Per-key rate limits: a fixed one-minute window per key, counted in DynamoDB with one atomic
 * `UpdateItem … ADD` per request (every Lambda instance shares the count; locally the same code
 * counts in dynalite). A key over its limit is then refused from memory until its window ends,
 * with no further table traffic.
 *
 * Written here rather than taken from rate-limiter-flexible: its DynamoDB store spends two
 * conditional round trips on most requests (set-if-expired, then increment), and on a synchronous
 * path the round trips are the latency. A fixed window lets a key make up to twice its limit across
 * a window boundary; that is the usual trade for one write per request.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RATE_LIMIT_TABLE } from '#shared/contracts/api.ts';
import { ApiError } from './errors.ts';
import type { Caller } from './keys.ts';

const WINDOW_MS = 60_000;
/** Counter items outlive their window a little, then DynamoDB's TTL (on `expire`) removes them. */
const KEEP_SECONDS = 120;

export interface RateLimiter {
  /** Counts one request of this caller; throws a 429 ApiError (with Retry-After) once it is over its limit. */
  consume(caller: Caller): Promise<void>;
}

export interface RateLimitOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** For a key whose entry names no limit. */
  defaultPerMinute: number;
  now?: () => number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? Date.now;
  /** keyId → when its current window ends, for keys already over their limit. */
  const blocked = new Map<string, number>();
  const refuse = (limit: number, windowEnd: number) => {
    const retryAfter = Math.max(1, Math.ceil((windowEnd - now()) / 1000));
    return new ApiError(
      429,
      'RATE_LIMITED',
      `this key may make ${limit} requests per minute; retry in ${retryAfter} s`,
      undefined,
      retryAfter,
    );
  };
  return {
    async consume(caller) {
      const limit = caller.ratePerMinute ?? options.defaultPerMinute;
      const t = now();
      const window = Math.floor(t / WINDOW_MS);
      const windowEnd = (window + 1) * WINDOW_MS;
      const until = blocked.get(caller.keyId);
      if (until !== undefined && until > t) throw refuse(limit, until);
      blocked.delete(caller.keyId);
      const { Attributes } = await options.doc.send(
        new UpdateCommand({
          TableName: options.tableName,
          Key: { [RATE_LIMIT_TABLE.partitionKey]: `${caller.keyId}#${window}` },
          UpdateExpression: 'ADD #count :one SET #expire = if_not_exists(#expire, :expire)',
          ExpressionAttributeNames: { '#count': 'count', '#expire': RATE_LIMIT_TABLE.timeToLiveAttribute },
          ExpressionAttributeValues: { ':one': 1, ':expire': Math.ceil(windowEnd / 1000) + KEEP_SECONDS },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      if (Number(Attributes?.count ?? 0) <= limit) return;
      blocked.set(caller.keyId, windowEnd);
      throw refuse(limit, windowEnd);
    },
  };
}
