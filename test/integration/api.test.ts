/**
 * The synchronous API on the local stack, called as its users call it: the official `openai`
 * client pointed at it by `baseURL`, Perspective's documented request bodies sent as they are
 * written, curl-style native requests, and every way a request can be wrong. No mocks: the real
 * handler, the emulators and the real models. The table of bad requests is written to
 * reports/API_ERRORS.md (the closing note and docs/API.md quote it).
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import {
  errorSchema,
  openAiResponseSchema,
  perspectiveResponseSchema,
  verdictSchema,
} from '#shared/api/openapi.ts';
import { verdictPkOf } from '#shared/contracts/verdict-table.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { pngPixelBomb, solidJpeg, solidPng } from '#test/fixtures/hostile-inputs.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

let stack: LocalStack;
let api: LocalApi;
/** A second API on the same stack whose key may make only a few requests a minute. */
let limited: LocalApi;
/** An allow-listed image host, standing in for a platform's CDN. */
let cdn: Server;
let cdnHost: string;
let jpeg: Buffer;

const ABUSE = 'You are a worthless idiot and everyone laughs at you.';
const FRIENDLY = 'Thank you for the lovely dinner last night, the soup was delicious.';

beforeAll(async () => {
  jpeg = await solidJpeg(640, 480);
  cdn = createServer((req, res) => {
    if (req.url === '/photo.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  cdnHost = `127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  stack = await startLocalStack();
  api = await startLocalApi(stack, { key: 'test-key', fetchAllowedHosts: [cdnHost] });
  limited = await startLocalApi(stack, { key: 'limited-key', ratePerMinute: 3 });
}, 180_000);

afterAll(async () => {
  await limited?.close();
  await api?.close();
  await stack?.stop();
  await new Promise((r) => cdn?.close(r));
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}, base = api) =>
  fetch(`${base.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${base.key}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });

const dataUrl = (bytes: Uint8Array, type = 'image/jpeg') =>
  `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;

describe('the OpenAI client, pointed at this API', () => {
  const client = () => new OpenAI({ apiKey: api.key, baseURL: `${api.url}/v1`, maxRetries: 0 });

  it('moderates a text with moderations.create and answers in its typed shape', async () => {
    const res = await client().moderations.create({ model: 'omni-moderation-latest', input: ABUSE });
    expect(openAiResponseSchema.parse(res)).toBeTruthy();
    expect(res.id).toMatch(/^modr-/);
    const [result] = res.results;
    expect(result?.flagged).toBe(true);
    expect(result?.categories.harassment).toBe(true);
    expect(result?.category_scores.harassment).toBeGreaterThan(0.5);
    expect(result?.category_applied_input_types.harassment).toEqual(['text']);
    // Not scored by any model here: reported as not applied, with no invented score.
    expect(result?.category_applied_input_types['self-harm']).toEqual([]);
    expect(result?.category_scores).not.toHaveProperty('self-harm');
  });

  it('gives one result per string of an array, in order', async () => {
    const res = await client().moderations.create({ input: [FRIENDLY, ABUSE] });
    expect(res.results.map((r) => r.flagged)).toEqual([false, true]);
  });

  it('moderates an image sent as a data: URL', async () => {
    const res = await client().moderations.create({
      model: 'omni-moderation-latest',
      input: [{ type: 'image_url', image_url: { url: dataUrl(jpeg) } }],
    });
    const [result] = res.results;
    expect(result?.category_applied_input_types.sexual).toEqual(['image']);
    expect(result?.category_scores.sexual).toBeLessThan(0.5);
    expect(result?.flagged).toBe(false);
  });

  it('moderates text and an allow-listed image URL together as one post', async () => {
    const res = await client().moderations.create({
      input: [
        { type: 'text', text: ABUSE },
        { type: 'image_url', image_url: { url: `http://${cdnHost}/photo.jpg` } },
      ],
    });
    expect(res.results).toHaveLength(1);
    const [result] = res.results;
    expect(result?.category_applied_input_types.sexual).toContain('image');
    expect(result?.category_applied_input_types.harassment).toContain('text');
    expect(result?.flagged).toBe(true);
  });

  it('surfaces an error as the client’s typed APIError with the status and message', async () => {
    const err = await client()
      .moderations.create({
        input: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/latest' } }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/allow-list/);
  });
});

describe('Perspective’s documented requests, sent verbatim', () => {
  const analyze = (body: string) =>
    fetch(`${api.url}/v1alpha1/comments:analyze?key=${api.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it('answers the curl example of “Get started” (unquoted keys, as Google’s frontends accept)', async () => {
    const res = await analyze(`{comment: {text: "what kind of idiot name is foo?"},
       languages: ["en"],
       requestedAttributes: {TOXICITY:{}} }`);
    expect(res.status).toBe(200);
    const body = perspectiveResponseSchema.parse(await res.json());
    expect(body.attributeScores.TOXICITY?.summaryScore.type).toBe('PROBABILITY');
    expect(body.attributeScores.TOXICITY?.summaryScore.value).toBeGreaterThan(0.5);
    expect(body.languages).toEqual(['en']);
  });

  it('answers the Python sample’s body (single quotes)', async () => {
    const res = await analyze(`{
  'comment': { 'text': 'friendly greetings from python' },
  'requestedAttributes': {'TOXICITY': {}}
}`);
    const body = perspectiveResponseSchema.parse(await res.json());
    expect(body.attributeScores.TOXICITY?.summaryScore.value).toBeLessThan(0.5);
  });

  it('answers every documented field: span scores, thresholds, client token, doNotStore', async () => {
    const res = await analyze(
      JSON.stringify({
        comment: { text: ABUSE, type: 'PLAIN_TEXT' },
        requestedAttributes: {
          TOXICITY: {},
          INSULT: { scoreType: 'PROBABILITY' },
          PROFANITY: { scoreThreshold: 0.999 },
        },
        spanAnnotations: true,
        languages: ['en'],
        doNotStore: true,
        clientToken: 'ticket-42',
        sessionId: 's-1',
        communityId: 'c-1',
      }),
    );
    const body = perspectiveResponseSchema.parse(await res.json());
    expect(body.clientToken).toBe('ticket-42');
    expect(Object.keys(body.attributeScores).sort()).toEqual(
      // PROFANITY scores under its 0.999 threshold, so Perspective leaves it out.
      body.attributeScores.PROFANITY ? ['INSULT', 'PROFANITY', 'TOXICITY'] : ['INSULT', 'TOXICITY'],
    );
    const spans = body.attributeScores.INSULT?.spanScores ?? [];
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) expect(s.end).toBeGreaterThan(s.begin);
    expect(body.attributeScores.INSULT?.summaryScore.value).toBeGreaterThan(0.5);
  });
});

describe('native requests and stored verdicts', () => {
  it('answers the verdict contract, stores it, and serves it by id', async () => {
    const res = await post('/v1/moderate', { text: ABUSE });
    expect(res.status).toBe(200);
    const verdict = verdictSchema.parse(await res.json());
    expect(verdict.decision).not.toBe('allow');
    expect(verdict.object).toMatch(/^api:\/\/local\/[0-9a-f]{64}$/);
    const got = await fetch(`${api.url}/v1/verdicts/${verdict.id}`, {
      headers: { authorization: `Bearer ${api.key}` },
    });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(verdict);
  });

  it('is idempotent: a retried request finds its verdict instead of writing another', async () => {
    const text = `${ABUSE} (retry ${Date.now()})`;
    const first = verdictSchema.parse(await (await post('/v1/moderate', { text })).json());
    const again = await Promise.all(
      [1, 2, 3].map(async () => verdictSchema.parse(await (await post('/v1/moderate', { text })).json())),
    );
    for (const v of again) {
      expect(v.id).toBe(first.id);
      expect(v.createdAt).toBe(first.createdAt);
    }
  });

  it('takes a raw image body and sniffs it, and a post of text and media', async () => {
    const raw = verdictSchema.parse(
      await (await post('/v1/moderate', new Uint8Array(jpeg), { 'content-type': 'image/jpeg' })).json(),
    );
    expect(raw.contentType).toBe('image/jpeg');
    const png = await solidPng(64, 64);
    const postVerdict = verdictSchema.parse(
      await (
        await post('/v1/moderate', {
          text: ABUSE,
          media: [{ data: png.toString('base64'), contentType: 'image/png' }],
        })
      ).json(),
    );
    expect(postVerdict.contentType).toBe('application/vnd.moderation.post+json');
    expect(Object.keys(postVerdict.modalities).sort()).toEqual(expect.arrayContaining(['image', 'text']));
  });

  it('treats a JSON text field as text even when it reads like a post manifest', async () => {
    const text = JSON.stringify({ text: ABUSE, media: ['elsewhere.png'] });
    const res = await post('/v1/moderate', { text });
    expect(res.status).toBe(200);
    expect(verdictSchema.parse(await res.json()).contentType).toBe('text/plain');
  });

  it('does not store what Perspective was told not to store', async () => {
    const before = (await scanApiVerdicts()).items.length;
    const res = await fetch(`${api.url}/v1alpha1/comments:analyze?key=${api.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        comment: { text: `never stored ${Date.now()}` },
        requestedAttributes: { TOXICITY: {} },
        doNotStore: true,
      }),
    });
    expect(res.status).toBe(200);
    expect((await scanApiVerdicts()).items.length).toBe(before);
    // The same request without doNotStore is stored: the count can move.
    await fetch(`${api.url}/v1alpha1/comments:analyze?key=${api.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        comment: { text: `stored ${Date.now()}` },
        requestedAttributes: { TOXICITY: {} },
      }),
    });
    expect((await scanApiVerdicts()).items.length).toBe(before + 1);
  });

  it('serves the OpenAPI document and health without a key', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/moderate',
        '/v1/moderations',
        '/v1alpha1/comments:analyze',
        '/v1/verdicts/{id}',
      ]),
    );
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });
});

async function scanApiVerdicts() {
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  const out = await stack.doc.send(new ScanCommand({ TableName: stack.tableName }));
  return { items: (out.Items ?? []).filter((i) => String(i.pk).startsWith('api://')) };
}

interface BadCase {
  name: string;
  send: () => Promise<Response>;
  status: number;
  code: string | number;
}

const BAD: BadCase[] = [
  {
    name: 'no key',
    send: () => fetch(`${api.url}/v1/moderate`, { method: 'POST', body: '{}' }),
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'unknown key',
    send: () => post('/v1/moderate', { text: 'x' }, { authorization: 'Bearer nope' }),
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'body not JSON',
    send: () => post('/v1/moderate', '{"text": '),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'duplicate key',
    send: () => post('/v1/moderate', '{"text":"a","text":"b"}'),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'neither text nor media',
    send: () => post('/v1/moderate', {}),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'text not a string',
    send: () => post('/v1/moderate', { text: 5 }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'unknown field',
    send: () => post('/v1/moderate', { text: 'hi', lang: 'en' }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'media not base64',
    send: () => post('/v1/moderate', { media: [{ data: '@@not base64@@' }] }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'whitespace-only text',
    send: () => post('/v1/moderate', { text: '   ' }),
    status: 400,
    code: 'EMPTY_OBJECT',
  },
  {
    name: 'too many media',
    send: () =>
      post('/v1/moderate', {
        media: Array.from({ length: LIMITS.post.maxMedia + 1 }, () => ({ data: 'AAAA' })),
      }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'raw body over the size limit',
    send: () =>
      post('/v1/moderate', new Uint8Array(LIMITS.maxObjectBytes + 1), {
        'content-type': 'application/octet-stream',
      }),
    status: 413,
    code: 'TOO_LARGE',
  },
  {
    name: 'PNG over the pixel limit',
    send: () => post('/v1/moderate', new Uint8Array(pngPixelBomb()), { 'content-type': 'image/png' }),
    status: 413,
    code: 'IMAGE_TOO_MANY_PIXELS',
  },
  {
    name: 'PDF',
    send: () =>
      post('/v1/moderate', new TextEncoder().encode('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'), {
        'content-type': 'application/pdf',
      }),
    status: 415,
    code: 'UNSUPPORTED_TYPE',
  },
  {
    name: 'truncated PNG',
    send: () =>
      post('/v1/moderate', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), {
        'content-type': 'image/png',
      }),
    status: 422,
    code: 'IMAGE_DECODE_FAILED',
  },
  {
    name: 'OpenAI: image URL off the allow-list',
    send: () =>
      post('/v1/moderations', {
        input: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/latest/meta-data' } }],
      }),
    status: 400,
    code: 'URL_NOT_ALLOWED',
  },
  {
    name: 'OpenAI: file: URL',
    send: () =>
      post('/v1/moderations', { input: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }),
    status: 400,
    code: 'URL_NOT_ALLOWED',
  },
  {
    name: 'OpenAI: allow-listed URL that 404s',
    send: () =>
      post('/v1/moderations', {
        input: [{ type: 'image_url', image_url: { url: `http://${cdnHost}/missing.jpg` } }],
      }),
    status: 422,
    code: 'FETCH_FAILED',
  },
  {
    name: 'OpenAI: input missing',
    send: () => post('/v1/moderations', { model: 'omni-moderation-latest' }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'OpenAI: more than 32 strings',
    send: () => post('/v1/moderations', { input: Array.from({ length: 33 }, () => 'hi') }),
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'Perspective: unknown attribute',
    send: () =>
      post(
        `/v1alpha1/comments:analyze?key=${api.key}`,
        { comment: { text: 'hi' }, requestedAttributes: { FLIRTATION: {} } },
        { authorization: '' },
      ),
    status: 400,
    code: 400,
  },
  {
    name: 'Perspective: language not supported',
    send: () =>
      post(
        `/v1alpha1/comments:analyze?key=${api.key}`,
        { comment: { text: 'hallo' }, languages: ['de'], requestedAttributes: { TOXICITY: {} } },
        { authorization: '' },
      ),
    status: 400,
    code: 400,
  },
  {
    name: 'Perspective: no attributes',
    send: () =>
      post(
        `/v1alpha1/comments:analyze?key=${api.key}`,
        { comment: { text: 'hi' }, requestedAttributes: {} },
        { authorization: '' },
      ),
    status: 400,
    code: 400,
  },
  {
    name: 'verdict id malformed',
    send: () => fetch(`${api.url}/v1/verdicts/%%%`, { headers: { authorization: `Bearer ${api.key}` } }),
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'verdict of another tenant',
    send: () =>
      fetch(`${api.url}/v1/verdicts/${Buffer.from('api://other/abc').toString('base64url')}`, {
        headers: { authorization: `Bearer ${api.key}` },
      }),
    status: 404,
    code: 'NOT_FOUND',
  },
  { name: 'unknown route', send: () => post('/v2/moderate', { text: 'hi' }), status: 404, code: 'NOT_FOUND' },
];

describe('bad requests: a status and a JSON body naming the problem', () => {
  const rows: string[] = [];

  afterAll(async () => {
    await writeFile(
      join(REPO_ROOT, 'reports', 'API_ERRORS.md'),
      `# What each bad request gets\n\nWritten by test/integration/api.test.ts on the local API (\`npm run api\`'s code).\n\n| request | status | body |\n|---|---|---|\n${rows.join('\n')}\n`,
    );
  });

  for (const c of BAD) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await c.send();
      const body = (await res.json()) as {
        error: { code: string | number; message: string; details?: { reason: string }[] };
      };
      rows.push(`| ${c.name} | ${res.status} | \`${JSON.stringify(body).replaceAll('|', '\\|')}\` |`);
      expect(res.status).toBe(c.status);
      expect(body.error.code).toBe(c.code);
      expect(body.error.message.length).toBeGreaterThan(0);
      if (typeof c.code === 'string') expect(errorSchema.parse(body)).toBeTruthy();
    });
  }

  it('a key over its rate limit → 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/moderate', { text: FRIENDLY }, {}, limited);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        rows.push(`| key over its rate limit (3/min) | 429 | \`${JSON.stringify(await res.json())}\` |`);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('the models unreachable → 503 with Retry-After, and the request can be retried', async () => {
    await stack.control.inference.stop();
    try {
      const res = await post('/v1/moderate', { text: `${FRIENDLY} ${Date.now()}` });
      const body = await res.json();
      rows.push(`| inference endpoint down | 503 | \`${JSON.stringify(body)}\` |`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((body as { error: { code: string } }).error.code).toBe('DEPENDENCY_FAILED');
    } finally {
      await stack.control.inference.start();
    }
    expect((await post('/v1/moderate', { text: FRIENDLY })).status).toBe(200);
  }, 120_000);
});

describe('verdict ids', () => {
  it('name the table key they were made from', async () => {
    const verdict = verdictSchema.parse(await (await post('/v1/moderate', { text: FRIENDLY })).json());
    expect(verdictPkOf(verdict.id ?? '')).toBe(verdict.object);
  });
});
