/**
 * The synchronous API's contract with infra/: the routes the Hono app (shared/api/app.ts) serves,
 * which API Gateway routes to it, and the rate-limit table's layout. A test checks the app answers
 * every route listed here, so the two cannot drift.
 */

/** Who may call a route: a key (checked by the authorizer on AWS, by the app locally), or anyone. */
export type RouteAuth = 'key' | 'none';

export const API_ROUTES: readonly { method: 'GET' | 'POST'; path: string; auth: RouteAuth }[] = [
  { method: 'POST', path: '/v1/moderate', auth: 'key' },
  { method: 'POST', path: '/v1/moderations', auth: 'key' },
  { method: 'POST', path: '/v1alpha1/comments:analyze', auth: 'key' },
  { method: 'GET', path: '/v1/verdicts/{id}', auth: 'key' },
  { method: 'GET', path: '/v1/review/queue', auth: 'key' },
  { method: 'POST', path: '/v1/review/items/{id}/claim', auth: 'key' },
  { method: 'POST', path: '/v1/review/items/{id}/release', auth: 'key' },
  { method: 'POST', path: '/v1/review/items/{id}/decision', auth: 'key' },
  { method: 'POST', path: '/v1/appeals', auth: 'key' },
  { method: 'GET', path: '/health', auth: 'none' },
  { method: 'GET', path: '/openapi.json', auth: 'none' },
];

/** Per-key request counters (shared/api/rate-limit.ts): one item per key and minute, expiring at `expire`. */
export const RATE_LIMIT_TABLE = { partitionKey: 'key', timeToLiveAttribute: 'expire' } as const;
