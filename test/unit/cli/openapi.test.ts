import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatOpenApi, OPENAPI_PATH } from '#cli/openapi.ts';
import { createApiApp } from '#shared/api/app.ts';
import { NO_FETCH } from '#shared/api/media.ts';
import { API_ROUTES } from '#shared/contracts/api.ts';

describe('the OpenAPI document and the route contract', () => {
  it('docs/openapi.json is the document the API serves (npm run openapi rewrites it)', async () => {
    expect(await readFile(OPENAPI_PATH, 'utf8')).toBe(formatOpenApi());
  });

  it('documents every route API Gateway is given, with the same auth', () => {
    const doc = JSON.parse(formatOpenApi()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    for (const route of API_ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op?.security?.length === 0 ? 'none' : 'key').toBe(route.auth);
    }
  });

  it('the app answers every route of the contract (none falls through to "no route")', async () => {
    const app = createApiApp({
      moderatorFor: () => {
        throw new Error('not reached: unauthenticated');
      },
      store: { get: async () => undefined } as never,
      authenticate: () => undefined,
      rateLimiter: { consume: async () => undefined },
      fetch: NO_FETCH,
      modelName: 'test',
    });
    for (const route of API_ROUTES) {
      const res = await app.request(route.path.replace('{id}', 'abc'), { method: route.method });
      // A keyed route answers 401 (it exists and wants a key); a public one answers 200.
      expect(res.status, `${route.method} ${route.path}`).toBe(route.auth === 'key' ? 401 : 200);
    }
  });
});
