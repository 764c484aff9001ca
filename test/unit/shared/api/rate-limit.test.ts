/** Per-key limits: one atomic counter per key and minute in DynamoDB (mocked), a clock given here. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError, toApiError } from '#shared/api/errors.ts';
import type { Caller } from '#shared/api/keys.ts';
import { createRateLimiter } from '#shared/api/rate-limit.ts';
import { RATE_LIMIT_TABLE } from '#shared/contracts/api.ts';

const doc = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
);
const ddb = mockClient(doc);

const caller = (keyId: string, ratePerMinute?: number): Caller => ({
  keyId,
  tenant: 'acme',
  policy: 'balanced',
  uploads: false,
  name: keyId,
  ...(ratePerMinute !== undefined && { ratePerMinute }),
});

/** 20 s into a minute. */
const WINDOW = 29_000_000;
const T0 = WINDOW * 60_000 + 20_000;

function limiter(defaultPerMinute: number) {
  const clock = { t: T0 };
  const rl = createRateLimiter({ doc, tableName: 'rate', defaultPerMinute, now: () => clock.t });
  return { rl, clock };
}
const counted = (count: number) => ddb.on(UpdateCommand).resolves({ Attributes: { count } });
const updates = () => ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);

beforeEach(() => {
  ddb.reset();
});

describe('createRateLimiter', () => {
  it("counts a request in the key's row for this minute, expiring after the window", async () => {
    counted(3);
    const { rl } = limiter(10);
    await expect(rl.consume(caller('key-a'))).resolves.toBeUndefined();
    const [input] = updates();
    expect(updates()).toHaveLength(1);
    expect(input?.TableName).toBe('rate');
    expect(input?.Key).toEqual({ [RATE_LIMIT_TABLE.partitionKey]: `key-a#${WINDOW}` });
    // The TTL is after the window's end (epoch seconds), so a live counter is never removed.
    const expire = Object.values(input?.ExpressionAttributeValues ?? {}).find(
      (v) => typeof v === 'number' && v > 1e6,
    );
    expect(expire).toBeGreaterThanOrEqual((WINDOW + 1) * 60);
  });

  it('lets the request that reaches the limit exactly through', async () => {
    counted(10);
    await expect(limiter(10).rl.consume(caller('key-b'))).resolves.toBeUndefined();
  });

  it('refuses a request over the limit with 429 and Retry-After until the window ends', async () => {
    counted(11);
    const err = await limiter(10)
      .rl.consume(caller('key-c'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfter: 40 });
    expect((err as ApiError).message).toContain('10 requests per minute');
  });

  it('refuses an over-limit key from memory for the rest of its window, then counts it again', async () => {
    counted(11);
    const { rl, clock } = limiter(10);
    await expect(rl.consume(caller('key-d'))).rejects.toMatchObject({ status: 429 });
    clock.t += 30_000;
    await expect(rl.consume(caller('key-d'))).rejects.toMatchObject({ status: 429, retryAfter: 10 });
    expect(updates()).toHaveLength(1);
    // Another key is still counted in the table meanwhile.
    counted(1);
    await expect(rl.consume(caller('key-e'))).resolves.toBeUndefined();
    expect(updates()).toHaveLength(2);
    // The next minute is a fresh row.
    clock.t += 15_000;
    await expect(rl.consume(caller('key-d'))).resolves.toBeUndefined();
    expect(updates().at(-1)?.Key).toEqual({ [RATE_LIMIT_TABLE.partitionKey]: `key-d#${WINDOW + 1}` });
  });

  it('holds a key to its own ratePerMinute rather than the default', async () => {
    counted(4);
    const { rl } = limiter(100);
    await expect(rl.consume(caller('key-f', 3))).rejects.toMatchObject({ status: 429 });
    await expect(rl.consume(caller('key-g'))).resolves.toBeUndefined();
  });

  it('lets a failing table fail as a dependency failure (503), not as a rate limit', async () => {
    const throttled = Object.assign(new Error('throughput exceeded'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    ddb.on(UpdateCommand).rejects(throttled);
    const err = await limiter(10)
      .rl.consume(caller('key-h'))
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApiError);
    expect(toApiError(err)).toMatchObject({ status: 503, code: 'DEPENDENCY_FAILED' });
  });
});
