/**
 * The HTTP API end to end in process: createApiApp (shared/api/app.ts) through Hono's
 * `app.request`, with a stub identity and rate limiter, an in-memory verdict store and the real
 * moderation code over a fixed-probability endpoint; then the Lambda function's own wiring
 * (functions/api/handler.ts) in both of its auth modes, with DynamoDB mocked.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'hono';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { type ApiDeps, createApiApp, MAX_BODY_BYTES, PERSPECTIVE_PATH } from '#shared/api/app.ts';
import { ApiError } from '#shared/api/errors.ts';
import { authorizerContext, type Caller, createKeyring, hashKey, presentedKey } from '#shared/api/keys.ts';
import { NO_FETCH } from '#shared/api/media.ts';
import type { RateLimiter } from '#shared/api/rate-limit.ts';
import { verdictId } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import type { ContentModeratorDeps } from '#shared/moderation/moderate-content.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { LatestPointer, VerdictItem, VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

const pack = loadPack();
const ACME_KEY = 'key-acme';
const PLATFORM_KEY = 'key-platform';
const keyring = createKeyring({
  keys: [
    { sha256: hashKey(ACME_KEY), tenant: 'acme', policy: 'balanced' },
    { sha256: hashKey('key-globex'), tenant: 'globex', policy: 'balanced' },
    { sha256: hashKey(PLATFORM_KEY), tenant: 'platform', policy: 'balanced', uploads: true },
  ],
});

function memoryStore() {
  const items = new Map<string, VerdictItem | LatestPointer>();
  const store: VerdictStore = {
    get: async (pk) => structuredClone(items.get(pk)) as VerdictItem | undefined,
    async putOnce(pk, verdict) {
      verdict.id = verdictId(pk);
      if (items.has(pk)) return 'duplicate';
      items.set(pk, structuredClone({ pk, ...verdict }));
      return 'written';
    },
    advanceLatest: async () => 'unordered',
    getCurrent: async () => undefined,
  };
  return { store, items };
}

interface Harness {
  app: ReturnType<typeof createApiApp>;
  items: Map<string, VerdictItem | LatestPointer>;
  authCalls: number;
  limiter: { refuse: ApiError | undefined; consumed: string[] };
  serverErrors: unknown[];
  moderated: string[];
}

function harness(overrides: Partial<ApiDeps> = {}): Harness {
  const { store, items } = memoryStore();
  const moderator: ContentModeratorDeps = {
    store,
    models: createModelGateway(fixedInference(pack), pack),
    policy: loadPolicy('balanced'),
    engines: testEngines('sync', { ocr: () => undefined }),
  };
  const h = {
    items,
    authCalls: 0,
    limiter: { refuse: undefined as ApiError | undefined, consumed: [] as string[] },
    serverErrors: [] as unknown[],
    moderated: [] as string[],
  };
  const rateLimiter: RateLimiter = {
    async consume(caller) {
      h.limiter.consumed.push(caller.tenant);
      if (h.limiter.refuse) throw h.limiter.refuse;
    },
  };
  const app = createApiApp({
    moderatorFor: () => moderator,
    store,
    authenticate(c: Context) {
      h.authCalls++;
      return keyring.authenticate(presentedKey(c.req.header('authorization'), c.req.query('key')));
    },
    rateLimiter,
    fetch: NO_FETCH,
    modelName: 'moderation-pipeline/test',
    onModerated: (_v, outcome) => h.moderated.push(outcome),
    onServerError: (err) => h.serverErrors.push(err),
    ...overrides,
  });
  return {
    app,
    ...h,
    get authCalls() {
      return h.authCalls;
    },
  } as Harness;
}

const auth = (key = ACME_KEY) => ({ authorization: `Bearer ${key}` });
const json = (body: unknown, key = ACME_KEY): RequestInit => ({
  method: 'POST',
  headers: { ...auth(key), 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
type ErrorBody = { error: { code: string; message: string; type: string; param: string | null } };
type GoogleError = {
  error: { code: number; message: string; status: string; details: { reason: string }[] };
};

describe('createApiApp: open routes', () => {
  it('serves /health and /openapi.json without a key, and never asks who is calling', async () => {
    const h = harness();
    const health = await h.app.request('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const doc = await h.app.request('/openapi.json');
    expect(doc.status).toBe(200);
    const openapi = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/moderate', '/v1/moderations', PERSPECTIVE_PATH]),
    );
    expect(h.authCalls).toBe(0);
  });
});

describe('createApiApp: authentication and limits', () => {
  it('answers a request without a valid key with 401 JSON and WWW-Authenticate', async () => {
    const h = harness();
    const requests: RequestInit[] = [
      { method: 'POST', body: '{"text":"hi"}', headers: { 'content-type': 'application/json' } },
      { method: 'POST', body: '{"text":"hi"}', headers: { authorization: 'Bearer nope' } },
    ];
    for (const init of requests) {
      const res = await h.app.request('/v1/moderate', init);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).toBe('UNAUTHENTICATED');
      expect(body.error.type).toBe('invalid_request_error');
    }
    expect(h.authCalls).toBe(2);
    expect(h.limiter.consumed).toEqual([]);
    expect(h.items.size).toBe(0);
  });

  it('accepts the key as ?key=', async () => {
    const h = harness();
    const res = await h.app.request(`/v1/moderate?key=${ACME_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"hello"}',
    });
    expect(res.status).toBe(200);
  });

  it('answers 429 with Retry-After when the key is over its limit, before reading the body', async () => {
    const h = harness();
    h.limiter.refuse = new ApiError(
      429,
      'RATE_LIMITED',
      'this key may make 1 requests per minute',
      undefined,
      17,
    );
    const res = await h.app.request('/v1/moderations', json({ input: 'hello' }));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('17');
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'RATE_LIMITED', type: 'rate_limit_error' });
    expect(h.items.size).toBe(0);
  });

  it('answers an unknown route with a 404 JSON body', async () => {
    const h = harness();
    for (const [path, method] of [
      ['/v2/nothing', 'GET'],
      ['/v1alpha1/comments:suggestscore', 'POST'],
      ['/v1/moderate', 'PUT'],
    ] as const) {
      const res = await h.app.request(path, { method, headers: auth() });
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code).toBe('NOT_FOUND');
    }
  });

  it('answers a body over MAX_BODY_BYTES with 413, declared in Content-Length', async () => {
    const h = harness();
    const res = await h.app.request('/v1/moderate', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain', 'content-length': String(MAX_BODY_BYTES + 1) },
      body: 'small really',
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('TOO_LARGE');
  });

  it('answers a streamed body that grows over MAX_BODY_BYTES with 413', async () => {
    const h = harness();
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await h.app.request('/v1/moderate', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('TOO_LARGE');
    expect(h.items.size).toBe(0);
  });
});

describe('createApiApp: dialects', () => {
  it('POST /v1/moderate answers the stored verdict contract, without the table key', async () => {
    const h = harness();
    const res = await h.app.request('/v1/moderate', json({ text: 'have a nice day' }));
    expect(res.status).toBe(200);
    const verdict = (await res.json()) as Verdict & { pk?: string };
    expect(verdict).not.toHaveProperty('pk');
    expect(verdict.object).toMatch(/^api:\/\/acme\/[0-9a-f]{64}$/);
    expect(verdict.id).toBe(verdictId(verdict.object));
    expect(['allow', 'review', 'block']).toContain(verdict.decision);
    expect(h.items.has(verdict.object)).toBe(true);
    // The same request again is the same verdict, not a second one.
    const again = (await (
      await h.app.request('/v1/moderate', json({ text: 'have a nice day' }))
    ).json()) as Verdict;
    expect(again.id).toBe(verdict.id);
    expect(h.moderated).toEqual(['written', 'already-moderated']);
    expect(h.items.size).toBe(1);
  });

  it('POST /v1/moderate answers content it cannot moderate with its code and status', async () => {
    const h = harness();
    const empty = await h.app.request('/v1/moderate', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: new Uint8Array(),
    });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error.code).toBe('EMPTY_OBJECT');
    const badBase64 = await h.app.request('/v1/moderate', json({ media: [{ data: 'not base64!' }] }));
    expect(badBase64.status).toBe(400);
    expect(((await badBase64.json()) as ErrorBody).error).toMatchObject({
      code: 'INVALID_REQUEST',
      param: 'media[0].data',
    });
    const dup = await h.app.request('/v1/moderate', {
      ...json({}),
      body: '{"text":"fine","text":"the hidden one"}',
    });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as ErrorBody).error.message).toContain('"text"');
  });

  it('POST /v1/moderations answers in OpenAI shape, one result per string', async () => {
    const h = harness();
    const res = await h.app.request('/v1/moderations', json({ input: ['hello', 'goodbye'], model: 'omni' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      id: string;
      model: string;
      results: { flagged: boolean; verdict_id: string }[];
    };
    expect(body.id).toMatch(/^modr-/);
    expect(body.model).toBe('moderation-pipeline/test');
    expect(body.results).toHaveLength(2);
    expect(new Set(body.results.map((r) => r.verdict_id)).size).toBe(2);
    for (const r of body.results) expect(typeof r.flagged).toBe('boolean');
  });

  it('POST /v1/moderations refuses an image URL off the allow-list, naming the part', async () => {
    const h = harness();
    const res = await h.app.request(
      '/v1/moderations',
      json({
        input: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/latest/meta-data/' } }],
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'URL_NOT_ALLOWED',
      param: 'input[0].image_url.url',
      type: 'invalid_request_error',
    });
  });

  it('the Perspective route answers attributeScores, and doNotStore stores nothing', async () => {
    const h = harness();
    const res = await h.app.request(`${PERSPECTIVE_PATH}?key=${ACME_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        comment: { text: 'what kind of idiot name is foo?' },
        languages: ['en'],
        requestedAttributes: { TOXICITY: {} },
        doNotStore: true,
        clientToken: 'abc',
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      attributeScores: { TOXICITY: { summaryScore: { value: number; type: string } } };
      clientToken: string;
    };
    expect(body.attributeScores.TOXICITY.summaryScore.type).toBe('PROBABILITY');
    expect(body.attributeScores.TOXICITY.summaryScore.value).toBeGreaterThanOrEqual(0);
    expect(body.clientToken).toBe('abc');
    expect(h.items.size).toBe(0);
    expect(h.moderated).toEqual(['not-stored']);
  });

  it("the Perspective route's errors come in Google's shape", async () => {
    const h = harness();
    const analyze = (init: RequestInit) => h.app.request(PERSPECTIVE_PATH, init);
    const unknownAttr = await analyze(
      json({ comment: { text: 'hi' }, requestedAttributes: { FLIRTATION: {} } }),
    );
    expect(unknownAttr.status).toBe(400);
    const a = (await unknownAttr.json()) as GoogleError;
    expect(a.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(a.error.details[0]?.reason).toBe('UNSUPPORTED_ATTRIBUTE');
    expect(a.error.message).toContain('FLIRTATION');

    const malformed = await analyze({ ...json({}), body: '{"comment":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as GoogleError).error.status).toBe('INVALID_ARGUMENT');

    const anonymous = await analyze({ method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
    const u = (await anonymous.json()) as GoogleError;
    expect(u.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(u.error.details[0]?.reason).toBe('UNAUTHENTICATED');
  });

  it('answers a failing dependency with 503 and Retry-After, and reports it', async () => {
    const failing: VerdictStore = {
      get: async () => {
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      },
      putOnce: async () => 'written',
      advanceLatest: async () => 'unordered',
      getCurrent: async () => undefined,
    };
    const h = harness({ store: failing });
    const res = await h.app.request(`/v1/verdicts/${verdictId('api://acme/x')}`, { headers: auth() });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'DEPENDENCY_FAILED', type: 'server_error' });
    expect(body.error.message).not.toContain('socket');
    expect(h.serverErrors).toHaveLength(1);
  });
});

describe('createApiApp: GET /v1/verdicts/{id}', () => {
  let h: Harness;
  let own: Verdict;
  const uploadPk = 'uploads/photos/cat.png#v1';

  beforeEach(async () => {
    h = harness();
    own = (await (
      await h.app.request('/v1/moderate', json({ text: 'a verdict of my own' }))
    ).json()) as Verdict;
    h.items.set(uploadPk, {
      ...own,
      pk: uploadPk,
      id: verdictId(uploadPk),
      object: 's3://uploads/photos/cat.png',
    });
  });

  const get = (id: string, key = ACME_KEY) => h.app.request(`/v1/verdicts/${id}`, { headers: auth(key) });

  it("returns the caller's own verdict, without the table key", async () => {
    const res = await get(own.id!);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Verdict;
    expect(body).not.toHaveProperty('pk');
    expect(body).toEqual(own);
  });

  it("answers another tenant's verdict with 404, as if it did not exist", async () => {
    const res = await get(own.id!, 'key-globex');
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe('NOT_FOUND');
    expect((await get(verdictId(`${own.object}-nope`))).status).toBe(404);
  });

  it('answers a malformed id with 404', async () => {
    for (const id of ['not*base64', `${own.id}=`, 'Q', 'a'.repeat(3000)]) {
      const res = await get(encodeURIComponent(id));
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code).toBe('NOT_FOUND');
    }
  });

  it("shows S3 uploads' verdicts only to a key allowed to read them", async () => {
    expect((await get(verdictId(uploadPk))).status).toBe(404);
    const res = await get(verdictId(uploadPk), PLATFORM_KEY);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Verdict).object).toBe('s3://uploads/photos/cat.png');
  });

  it('answers the id of a non-verdict item in the same table (a latest pointer) with 404', async () => {
    const pointerPk = 'latest#uploads/photos/cat.png';
    h.items.set(pointerPk, { pk: pointerPk, verdictPk: uploadPk, sequencer: '0001', updatedAt: '' });
    const res = await get(verdictId(pointerPk), PLATFORM_KEY);
    expect(res.status).toBe(404);
    expect(h.serverErrors).toEqual([]);
  });
});

describe('functions/api/handler.ts: createApiFunctionApp', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  type Fn = typeof import('#functions/api/handler.ts');
  let createApiFunctionApp: Fn['createApiFunctionApp'];
  let readPipelineEnv: typeof import('#shared/contracts/env.ts').readPipelineEnv;
  let readApiEnv: typeof import('#shared/contracts/env.ts').readApiEnv;
  let createAwsClients: typeof import('#shared/clients/aws.ts').createAwsClients;
  const ownPk = 'api://acme/0123';
  const stored = { pk: ownPk, object: ownPk, decision: 'allow', id: verdictId(ownPk) };
  const noLimit: RateLimiter = { consume: async () => undefined };

  beforeAll(async () => {
    process.env.TABLE_NAME = 'verdicts';
    process.env.RATE_LIMIT_TABLE_NAME = 'rate';
    process.env.AWS_REGION = 'us-east-1';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    ({ createApiFunctionApp } = await import('#functions/api/handler.ts'));
    ({ readPipelineEnv, readApiEnv } = await import('#shared/contracts/env.ts'));
    ({ createAwsClients } = await import('#shared/clients/aws.ts'));
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { TableName: 'verdicts', Key: { pk: ownPk } }).resolves({ Item: stored });
    ddb.on(PutCommand).resolves({});
  });

  const make = (auth: 'keys' | 'authorizer', pipelineEnv: Record<string, string> = {}) => {
    const env = readPipelineEnv({ ...process.env, ...pipelineEnv });
    return createApiFunctionApp(
      env,
      { ...readApiEnv(), auth },
      {
        clients: createAwsClients(env),
        engines: testEngines('sync', { ocr: () => undefined }),
        keyring,
        rateLimiter: noLimit,
      },
    );
  };

  it("with API_AUTH=authorizer, takes the caller from the authorizer's context in the Lambda event", async () => {
    const app = make('authorizer');
    const lambdaEvent = (context: unknown) => ({
      event: { requestContext: { authorizer: { lambda: context } } },
    });
    const caller: Caller = {
      keyId: 'abcdef012345',
      tenant: 'acme',
      policy: 'balanced',
      uploads: false,
      name: 'acme-app',
    };
    const own = await app.request(
      `/v1/verdicts/${verdictId(ownPk)}`,
      {},
      lambdaEvent(authorizerContext(caller)),
    );
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ object: ownPk, decision: 'allow', id: verdictId(ownPk) });
    // A bearer key is not checked in this mode: only the authorizer's word counts.
    const anonymous = await app.request(
      `/v1/verdicts/${verdictId(ownPk)}`,
      { headers: auth() },
      lambdaEvent(authorizerContext(undefined)),
    );
    expect(anonymous.status).toBe(401);
    expect((await app.request(`/v1/verdicts/${verdictId(ownPk)}`, { headers: auth() })).status).toBe(401);
  });

  it('with API_AUTH=keys, checks a Bearer key or ?key= against the keyring', async () => {
    const app = make('keys');
    const path = `/v1/verdicts/${verdictId(ownPk)}`;
    expect((await app.request(path, { headers: auth() })).status).toBe(200);
    expect((await app.request(`${path}?key=${ACME_KEY}`)).status).toBe(200);
    expect((await app.request(path, { headers: auth('key-globex') })).status).toBe(404);
    expect((await app.request(path, { headers: auth('wrong') })).status).toBe(401);
    const reads = ddb.commandCalls(GetCommand).map((c) => c.args[0].input);
    expect(reads.every((r) => r.TableName === 'verdicts' && r.ConsistentRead === true)).toBe(true);
  });

  it('with MEDIA_DECODING=none (no ffmpeg in the function), refuses audio with 415 MEDIA_NEEDS_UPLOAD', async () => {
    const app = make('keys', { MEDIA_DECODING: 'none' });
    // One second of 8 kHz 16-bit silence: sniffed as audio/wav, never decoded.
    const pcm = Buffer.alloc(16_000);
    const fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(1, 0);
    fmt.writeUInt16LE(1, 2);
    fmt.writeUInt32LE(8000, 4);
    fmt.writeUInt32LE(16_000, 8);
    fmt.writeUInt16LE(2, 12);
    fmt.writeUInt16LE(16, 14);
    const chunk = (id: string, data: Buffer) => {
      const head = Buffer.alloc(8);
      head.write(id, 0, 'ascii');
      head.writeUInt32LE(data.length, 4);
      return Buffer.concat([head, data]);
    };
    const wav = chunk('RIFF', Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('data', pcm)]));
    const res = await app.request('/v1/moderate', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: wav,
    });
    expect(res.status).toBe(415);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('MEDIA_NEEDS_UPLOAD');
    expect(body.error.message).toContain('uploads bucket');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });
});
