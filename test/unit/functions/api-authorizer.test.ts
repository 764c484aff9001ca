/** API Gateway's Lambda authorizer: it never refuses, it says who is calling. */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { callerFromAuthorizer, createKeyring, hashKey, type Keyring } from '#shared/api/keys.ts';

type Authorizer = (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<{ isAuthorized: boolean; context: Record<string, unknown> }>;
let createAuthorizer: (keyring: () => Promise<Keyring>) => Authorizer;

beforeAll(async () => {
  // The module reads its environment when loaded (its exported handler); the secret is never fetched here.
  process.env.API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api-keys';
  ({ createAuthorizer } = (await import('#functions/api-authorizer/handler.ts')) as unknown as {
    createAuthorizer: typeof createAuthorizer;
  });
});

const KEY = 'mod_test_key';
const keyring = createKeyring({
  keys: [{ sha256: hashKey(KEY), tenant: 'acme', policy: 'strict', ratePerMinute: 12 }],
});

function event(headers: Record<string, string> = {}, query?: Record<string, string>) {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/POST/v1/moderations',
    identitySource: [],
    routeKey: 'POST /v1/moderations',
    rawPath: '/v1/moderations',
    rawQueryString: '',
    headers,
    ...(query && { queryStringParameters: query }),
    requestContext: {},
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

describe('api authorizer', () => {
  const authorize = (e: APIGatewayRequestAuthorizerEventV2) => createAuthorizer(async () => keyring)(e);

  it('marks a request with a known Bearer key authenticated, naming the caller', async () => {
    const res = await authorize(event({ authorization: `Bearer ${KEY}` }));
    expect(res.isAuthorized).toBe(true);
    expect(res.context).toEqual({
      authenticated: true,
      keyId: hashKey(KEY).slice(0, 12),
      // No name in the key table: the key id names it.
      name: hashKey(KEY).slice(0, 12),
      tenant: 'acme',
      policy: 'strict',
      ratePerMinute: 12,
      uploads: false,
    });
    // What the API function makes of it.
    expect(callerFromAuthorizer(res.context)).toMatchObject({ tenant: 'acme', policy: 'strict' });
  });

  it('accepts the key as the ?key= query parameter, as Perspective clients send it', async () => {
    const res = await authorize(event({}, { key: KEY }));
    expect(res.isAuthorized).toBe(true);
    expect(res.context.authenticated).toBe(true);
    expect(res.context.tenant).toBe('acme');
  });

  it('lets an unknown, missing or malformed key through unauthenticated (the function answers 401)', async () => {
    for (const e of [
      event(),
      event({ authorization: 'Bearer wrong-key' }),
      event({ authorization: KEY }),
      event({ authorization: `Basic ${Buffer.from(`u:${KEY}`).toString('base64')}` }),
      event({}, { key: 'wrong-key' }),
      event({}, { key: '' }),
      { ...event(), headers: undefined } as unknown as APIGatewayRequestAuthorizerEventV2,
    ]) {
      const res = await authorize(e);
      expect(res.isAuthorized).toBe(true);
      expect(res.context).toEqual({ authenticated: false });
      expect(callerFromAuthorizer(res.context)).toBeUndefined();
    }
  });

  it('reads the key table for each request through the given loader (a revoked key stops working)', async () => {
    let ring = keyring;
    const authorizer = createAuthorizer(async () => ring);
    expect((await authorizer(event({ authorization: `Bearer ${KEY}` }))).context.authenticated).toBe(true);
    ring = createKeyring({ keys: [] });
    expect((await authorizer(event({ authorization: `Bearer ${KEY}` }))).context.authenticated).toBe(false);
  });
});
