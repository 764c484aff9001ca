/**
 * The synchronous moderation API (docs/API.md): one Hono app, served by @hono/node-server locally
 * (`npm run api`) and by `hono/aws-lambda` behind API Gateway, so both run this code. Routes are
 * thin: authenticate, count, parse the dialect, moderate through the S3 path's code
 * (shared/moderation/moderate-content.ts), answer in the dialect.
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { verdictPkOf } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import {
  type ContentModeratorDeps,
  type ContentResult,
  moderateContent,
  type Submission,
} from '#shared/moderation/moderate-content.ts';
import { mountReviewRoutes, type ReviewDeps } from '#shared/review/routes.ts';
import type { VerdictItem, VerdictStore } from '#shared/verdict/store.ts';
import { parseJsonBody } from './body.ts';
import { ApiError, toApiError } from './errors.ts';
import { type Caller, ownedBy } from './keys.ts';
import { type FetchPolicy, resolveMediaUrl } from './media.ts';
import { nativeSubmission } from './native.ts';
import { type OpenAiPart, openAiItems, openAiRequestSchema, openAiResponse, openAiResult } from './openai.ts';
import { openApiDocument } from './openapi.ts';
import {
  checkPerspectiveRequest,
  perspectiveError,
  perspectiveRequestSchema,
  perspectiveResponse,
} from './perspective.ts';
import type { RateLimiter } from './rate-limit.ts';
import { submissionOf } from './submission.ts';

export const PERSPECTIVE_PATH = '/v1alpha1/comments:analyze';

/** The largest request body: a medium at the object size limit, base64-encoded, with room for JSON. */
export const MAX_BODY_BYTES = Math.ceil((LIMITS.maxObjectBytes * 4) / 3) + 64 * 1024;

export interface ApiDeps {
  /** The moderation dependencies under a policy preset (the caller's key names it). */
  moderatorFor(policy: string): ContentModeratorDeps;
  store: VerdictStore;
  /**
   * Who is calling: checked against the key table (or the user pool) here, or taken from API
   * Gateway's authorizer. `refused` says why a presented sign-in token was not accepted.
   */
  authenticate(c: Context): Authenticated | Promise<Authenticated>;
  rateLimiter: RateLimiter;
  fetch: FetchPolicy;
  /** What the OpenAI dialect's `model` field says. */
  modelName: string;
  /** After each moderation (logs, metrics): `outcome` says whether it was a new verdict. */
  onModerated?: (verdict: Verdict, result: ContentResult['outcome'], caller: Caller) => void;
  /** An error answered with a 5xx: for the logs. */
  onServerError?: (err: unknown) => void;
  /** The review and appeal routes (docs/REVIEW.md); absent = not served. */
  review?: ReviewDeps;
}

type Env = { Variables: { caller: Caller } };

/** A caller, a refused credential with its reason, or nothing (no credential, an unknown key). */
export type Authenticated = Caller | { refused: string } | undefined;

/** The verdict as the contract has it: the table key stays inside. */
export function publicVerdict(item: Verdict | VerdictItem): Verdict {
  const { pk: _pk, ...verdict } = item as VerdictItem;
  return verdict;
}

function errorBody(err: ApiError, path: string) {
  if (path === PERSPECTIVE_PATH) return perspectiveError(err);
  // OpenAI's clients read error.message, .type, .param and .code; this body carries all four.
  return {
    error: {
      code: err.code,
      message: err.message,
      type:
        err.status >= 500
          ? 'server_error'
          : err.status === 429
            ? 'rate_limit_error'
            : 'invalid_request_error',
      param: err.field ?? null,
    },
  };
}

export function createApiApp(deps: ApiDeps) {
  const app = new Hono<Env>();

  app.onError((err, c) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) deps.onServerError?.(err);
    if (apiError.retryAfter !== undefined) c.header('Retry-After', String(apiError.retryAfter));
    return c.json(errorBody(apiError, c.req.path), apiError.status as 400);
  });
  app.notFound((c) => {
    throw new ApiError(404, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`);
  });

  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  const authenticated = new Hono<Env>();
  authenticated.use(async (c, next) => {
    const result = await deps.authenticate(c);
    if (!result || 'refused' in result) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        result?.refused ?? 'a valid API key is required: Authorization: Bearer <key>, or ?key=<key>',
      );
    }
    const caller = result;
    await deps.rateLimiter.consume(caller);
    c.set('caller', caller);
    await next();
  });
  authenticated.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'TOO_LARGE', `the request body is over the ${MAX_BODY_BYTES}-byte limit`);
      },
    }),
  );

  const moderate = async (c: Context<Env>, sub: Submission, store = true) => {
    const caller = c.get('caller');
    if (caller.role) throw new ApiError(403, 'FORBIDDEN', 'a reviewer key may not moderate; use an API key');
    const moderator = deps.moderatorFor(caller.policy);
    const result = await moderateContent(sub, moderator, { store });
    deps.onModerated?.(result.verdict, result.outcome, caller);
    return { verdict: publicVerdict(result.verdict), policy: moderator.policy };
  };

  authenticated.post('/v1/moderate', async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const sub = nativeSubmission(c.get('caller').tenant, c.req.header('content-type') ?? '', body);
    const { verdict } = await moderate(c, sub);
    return c.json(verdict);
  });

  authenticated.post('/v1/moderations', async (c) => {
    const request = parseJsonBody(await c.req.text(), openAiRequestSchema);
    const tenant = c.get('caller').tenant;
    const items = openAiItems(request);
    const results = await Promise.all(
      items.map(async (item) => {
        const sub =
          'text' in item
            ? submissionOf(tenant, item.text, [])
            : await partsSubmission(tenant, item.parts, deps.fetch);
        const { verdict, policy } = await moderate(c, sub);
        return openAiResult(verdict, policy);
      }),
    );
    return c.json(openAiResponse(deps.modelName, results));
  });

  // Hono reads `:analyze` as a parameter, so the method is matched by hand.
  authenticated.post('/v1alpha1/:method', async (c) => {
    if (c.req.path !== PERSPECTIVE_PATH) throw new ApiError(404, 'NOT_FOUND', `no route POST ${c.req.path}`);
    const request = parseJsonBody(await c.req.text(), perspectiveRequestSchema, { relaxed: true });
    checkPerspectiveRequest(request);
    const sub = submissionOf(c.get('caller').tenant, request.comment.text, []);
    // doNotStore: the comment is scored and forgotten, as Perspective promises.
    const { verdict } = await moderate(c, sub, request.doNotStore !== true);
    return c.json(perspectiveResponse(request, verdict));
  });

  authenticated.get('/v1/verdicts/:id', async (c) => {
    const caller = c.get('caller');
    const pk = verdictPkOf(c.req.param('id'));
    const item = pk === undefined ? undefined : await deps.store.get(pk);
    // Another tenant's verdict is "not found", not "forbidden": ids reveal nothing about others.
    // ownedBy refuses anything without an `object`, such as the table's per-key "latest" pointers.
    if (!item || !ownedBy(caller, item.object))
      throw new ApiError(404, 'NOT_FOUND', `no verdict ${c.req.param('id')}`);
    return c.json(publicVerdict(item));
  });

  if (deps.review) mountReviewRoutes(authenticated, deps.review);
  app.route('/', authenticated);
  return app;
}

/** OpenAI's multi-modal parts as one post: the texts joined as its caption, the images as its media. */
async function partsSubmission(
  tenant: string,
  parts: readonly OpenAiPart[],
  fetchPolicy: FetchPolicy,
): Promise<Submission> {
  const texts: string[] = [];
  const images: Promise<Uint8Array>[] = [];
  for (const [i, part] of parts.entries()) {
    if (part.type === 'text') texts.push(part.text);
    else images.push(resolveMediaUrl(part.image_url.url, `input[${i}].image_url.url`, fetchPolicy));
  }
  return submissionOf(tenant, texts.length > 0 ? texts.join('\n') : undefined, await Promise.all(images));
}
