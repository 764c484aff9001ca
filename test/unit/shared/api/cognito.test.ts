/**
 * Reviewers' Cognito sign-in (shared/api/cognito.ts): ID tokens signed with a locally generated RSA
 * key, whose JWKS is handed to aws-jwt-verify (`cacheJwks`), so nothing is fetched. A valid token
 * becomes a reviewer or lead of its tenant; an expired one, one for another app client or pool, an
 * access token and a user in no review group are refused, and the API answers those with its 401
 * JSON, saying why. Both paths are checked: the Lambda authorizer's context read by the API
 * function (AWS), and the app checking the token itself (API_AUTH=keys).
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  authenticateBearer,
  createCognitoAuthenticator,
  looksLikeJwt,
  type TokenResult,
} from '#shared/api/cognito.ts';
import { createKeyring, hashKey, type Keyring } from '#shared/api/keys.ts';
import type { RateLimiter } from '#shared/api/rate-limit.ts';
import { testEngines } from '#test/fixtures/engines.ts';

const POOL = 'us-east-1_TestPool1';
const CLIENT = 'console-client-id';
const ISSUER = `https://cognito-idp.us-east-1.amazonaws.com/${POOL}`;
const KID = 'test-signing-key';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = {
  keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }],
} as unknown as Jwks;

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** An ID token as the pool issues one, with `claims` changed. */
function idToken(claims: Record<string, unknown> = {}, key = privateKey): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: KID, typ: 'JWT' }));
  const payload = b64url(
    JSON.stringify({
      sub: '5f1e0c2a-0000-4000-8000-000000000001',
      iss: ISSUER,
      aud: CLIENT,
      token_use: 'id',
      auth_time: now() - 60,
      iat: now() - 60,
      exp: now() + 3600,
      email: 'ana@example.com',
      'cognito:username': 'ana',
      'cognito:groups': ['reviewer'],
      'custom:tenant': 'acme',
      ...claims,
    }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${b64url(signature)}`;
}

const verify = createCognitoAuthenticator({ userPoolId: POOL, clientId: CLIENT, jwks: JWKS });
const refused = async (token: string) => ((await verify(token)) as { refused?: string }).refused;

describe('createCognitoAuthenticator', () => {
  it('maps a valid ID token to a reviewer of its tenant, named by the email', async () => {
    const result = (await verify(idToken())) as Extract<TokenResult, { caller: unknown }>;
    expect(result.caller).toMatchObject({
      tenant: 'acme',
      role: 'reviewer',
      name: 'ana@example.com',
      uploads: true,
    });
    expect(result.caller.keyId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('makes a user in the lead group a lead, and names a user without email by username', async () => {
    const result = await verify(idToken({ 'cognito:groups': ['reviewer', 'lead'], email: undefined }));
    expect(result).toMatchObject({ caller: { role: 'lead', name: 'ana' } });
  });

  it('refuses an expired token', async () => {
    expect(await refused(idToken({ exp: now() - 10, iat: now() - 3700 }))).toMatch(/expired/);
  });

  it('refuses a token for another app client', async () => {
    expect(await refused(idToken({ aud: 'another-client' }))).toMatch(/another app client/);
  });

  it('refuses a token from another user pool', async () => {
    expect(
      await refused(idToken({ iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool' })),
    ).toMatch(/another user pool/);
  });

  it('refuses a user in neither review group, and one with no group at all', async () => {
    expect(await refused(idToken({ 'cognito:groups': ['admins'] }))).toMatch(
      /neither the reviewer nor the lead/,
    );
    expect(await refused(idToken({ 'cognito:groups': undefined }))).toMatch(/neither/);
  });

  it('refuses an access token, a token without a tenant, and a signature from another key', async () => {
    expect(await refused(idToken({ token_use: 'access' }))).toMatch(/ID token/);
    expect(await refused(idToken({ 'custom:tenant': undefined }))).toMatch(/custom:tenant/);
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(await refused(idToken({}, stranger))).toMatch(/signature/);
  });

  it('tells a JWT from a key; a key still goes to the key table, a JWT without a pool is refused', async () => {
    const keyring = createKeyring({
      keys: [{ sha256: hashKey('rev-key'), tenant: 'acme', policy: 'balanced', role: 'reviewer' }],
    });
    expect(looksLikeJwt(idToken())).toBe(true);
    expect(looksLikeJwt('mod_review_abc-DEF_123')).toBe(false);
    expect(await authenticateBearer('rev-key', keyring, verify)).toMatchObject({
      caller: { tenant: 'acme', role: 'reviewer' },
    });
    expect(await authenticateBearer('unknown-key', keyring, verify)).toBeUndefined();
    expect(await authenticateBearer(undefined, keyring, verify)).toBeUndefined();
    expect(await authenticateBearer(idToken(), keyring)).toMatchObject({ refused: /no user pool/ });
  });
});

describe('the API with Cognito sign-in', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const keyring = createKeyring({ keys: [] });
  const noLimit: RateLimiter = { consume: async () => undefined };
  type Authorizer = (
    keyring: () => Promise<Keyring>,
    verifyToken?: (t: string) => Promise<TokenResult>,
  ) => (e: APIGatewayRequestAuthorizerEventV2) => Promise<{ isAuthorized: boolean; context: unknown }>;
  let createAuthorizer: Authorizer;
  let app: (auth: 'keys' | 'authorizer') => { request: (...a: never[]) => Promise<Response> };

  beforeAll(async () => {
    process.env.TABLE_NAME = 'verdicts';
    process.env.RATE_LIMIT_TABLE_NAME = 'rate';
    process.env.AWS_REGION = 'us-east-1';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api-keys';
    ({ createAuthorizer } = (await import('#functions/api-authorizer/handler.ts')) as unknown as {
      createAuthorizer: Authorizer;
    });
    const { createApiFunctionApp } = await import('#functions/api/handler.ts');
    const { readPipelineEnv, readApiEnv } = await import('#shared/contracts/env.ts');
    const { createAwsClients } = await import('#shared/clients/aws.ts');
    app = (auth) => {
      const env = readPipelineEnv();
      return createApiFunctionApp(
        env,
        { ...readApiEnv(), auth },
        {
          clients: createAwsClients(env),
          engines: testEngines('sync', { ocr: () => undefined }),
          keyring,
          rateLimiter: noLimit,
          cognito: { userPoolId: POOL, clientId: CLIENT, jwks: JWKS },
        },
      ) as never;
    };
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(GetCommand).resolves({});
  });

  const authorizerEvent = (token: string) =>
    ({
      version: '2.0',
      type: 'REQUEST',
      routeKey: 'GET /v1/verdicts/{id}',
      rawPath: '/v1/verdicts/x',
      headers: { authorization: `Bearer ${token}` },
      requestContext: {},
    }) as unknown as APIGatewayRequestAuthorizerEventV2;

  /** A request through the authorizer (AWS): its context is what the API function reads. */
  async function throughAuthorizer(token: string) {
    const { context } = await createAuthorizer(async () => keyring, verify)(authorizerEvent(token));
    const lambda = { event: { requestContext: { authorizer: { lambda: context } } } };
    return (app('authorizer').request as (p: string, i: object, e: object) => Promise<Response>)(
      '/v1/verdicts/bm9wZQ',
      { headers: { authorization: `Bearer ${token}` } },
      lambda,
    );
  }
  /** A request the app authenticates itself (API_AUTH=keys). */
  const direct = (token: string) =>
    (app('keys').request as (p: string, i: object) => Promise<Response>)('/v1/verdicts/bm9wZQ', {
      headers: { authorization: `Bearer ${token}` },
    });

  for (const [mode, send] of [
    ['the authorizer', throughAuthorizer],
    ['the app itself', direct],
  ] as const) {
    it(`authenticates a valid token (${mode}): the route runs and answers 404 for an unknown id`, async () => {
      const res = await send(idToken());
      expect(res.status).toBe(404);
    });

    it(`answers bad tokens with 401 JSON saying why (${mode})`, async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ exp: now() - 10, iat: now() - 3700 }, /expired/],
        [{ aud: 'another-client' }, /another app client/],
        [{ iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool' }, /another user pool/],
        [{ 'cognito:groups': undefined }, /neither the reviewer nor the lead/],
      ];
      for (const [claims, message] of cases) {
        const res = await send(idToken(claims));
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('UNAUTHENTICATED');
        expect(body.error.message).toMatch(message);
      }
    });
  }
});
