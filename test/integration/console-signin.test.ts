/**
 * The console's Cognito hosted sign-in (console/auth.js, docs/CONSOLE.md "Sign-in") in a real
 * browser, end to end: headless Debian Chromium (playwright-core) against the local API configured
 * for Cognito sign-in (`startLocalApi`'s `cognito`), with `oauth2-mock-server` as the pool's hosted
 * UI and token endpoint (test/fixtures/cognito-hosted-ui.ts: Cognito's paths, token shapes and
 * checks). The API verifies the ID tokens with aws-jwt-verify as in production, given the
 * stand-in's JWKS (the verifier fetches only the real pool's https URL).
 *
 * A reviewer is sent to the hosted UI, comes back with `?code&state`, the code and her PKCE
 * verifier become tokens, and the queue loads with her ID token; she decides an item, and the
 * audit trail names her. A user of the `lead` group takes over her claim, which she cannot do to
 * his. Tampered and expired tokens get a 401; an expired one in the tab is renewed on its 401, and
 * a short-lived one by the timer before it expires; a user in no review group is renewed once and
 * then signed out (not in a loop). A state the tab did not send is refused. Sign-out revokes the
 * refresh token and goes through the hosted UI's /logout back to the signed-out page.
 *
 * The items are texts with a blocklist term, so they wait for review whatever the model scores.
 * Waits are for selectors, responses and polled state, never fixed sleeps.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { fetchJwks, type HostedUi, type PoolUser, startHostedUi } from '#test/fixtures/cognito-hosted-ui.ts';

const TERM = 'zorblax';
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(import.meta.dirname, '../../reports/console-signed-in.png');
const POOL = 'eu-west-1_ReviewTest1';
const CLIENT = 'console-app-client';
const SESSION = 'moderation-console.cognito';
const WAIT = { timeout: 60_000 };

const ANA: PoolUser = { username: 'ana', email: 'ana@example.com', groups: ['reviewer'], tenant: 'local' };
const LEE: PoolUser = { username: 'lee', email: 'lee@example.com', groups: ['lead'], tenant: 'local' };
const SAM: PoolUser = { username: 'sam', email: 'sam@example.com', groups: ['admins'], tenant: 'local' };

let stack: LocalStack;
let api: LocalApi;
let ui: HostedUi;
let browser: Browser;
/** One tab (and browser context, so its own sessionStorage) per user. */
const pages: Record<'ana' | 'lee' | 'sam', Page> = {} as never;
/** Script errors and console errors (a CSP violation is one) in the pages. */
const pageErrors: string[] = [];
/** The review API calls the pages made: the bearer they carried and the status they got. */
const reviewCalls: { page: string; url: string; authorization: string | undefined; status: number }[] = [];
const items: Record<'a' | 'b' | 'c' | 'd', Verdict> = {} as never;

type Session = { idToken: string; refreshToken?: string; expiresAt: number };

const call = (bearer: string, method: string, path: string, body?: unknown) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

const tokenEndpoint = (form: Record<string, string>) =>
  fetch(`${ui.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT, ...form }),
  });

const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string } }).error.message;

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The same token with `changes` in its payload and its original signature. */
function tamper(jwt: string, changes: Record<string, unknown>): string {
  const [header, , signature] = jwt.split('.');
  const payload = Buffer.from(JSON.stringify({ ...claimsOf(jwt), ...changes })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

const session = (page: Page) =>
  page.evaluate(
    (key) =>
      JSON.parse(
        (
          globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
        ).sessionStorage.getItem(key) ?? 'null',
      ),
    SESSION,
  ) as Promise<Session | null>;

const verdict = async (id: string | undefined) =>
  (await (await call(api.key, 'GET', `/v1/verdicts/${id}`)).json()) as Verdict;

async function moderate(text: string): Promise<Verdict> {
  const res = await call(api.key, 'POST', '/v1/moderate', { text });
  expect(res.status).toBe(200);
  return (await res.json()) as Verdict;
}

async function openPage(name: keyof typeof pages): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${name}: ${m.text()} (${m.location().url})`);
  });
  page.on('response', (res) => {
    if (res.url().includes('/v1/review/'))
      reviewCalls.push({
        page: name,
        url: res.url(),
        authorization: res.request().headers().authorization,
        status: res.status(),
      });
  });
  pages[name] = page;
  return page;
}

/** Opens the console signed out, presses "Sign in", and comes back from the hosted UI as `user`. */
async function signIn(page: Page, user: PoolUser) {
  ui.signInAs(user);
  await page.goto(api.consoleUrl);
  await page.click('.sign-in button[type="submit"]');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh as root (it installs Debian's chromium)`);
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 120_000 });
  ui = await startHostedUi({ userPoolId: POOL, clientId: CLIENT });
  stack = await startLocalStack({ matchLists: { blocklist: parseTermList(`${TERM}\n`, 'blocklist') } });
  api = await startLocalApi(stack, {
    key: 'api-key',
    cognito: { userPoolId: POOL, clientId: CLIENT, jwks: await fetchJwks(ui), signInUrl: ui.url },
  });
  ui.registerApp(api.consoleUrl);
  items.a = await moderate(`We met the ${TERM} people on the first day.`);
  items.b = await moderate(`Second note: the ${TERM} choir sang all evening.`);
  items.c = await moderate(`Third: a ${TERM} poster in the hall.`);
  items.d = await moderate(`Fourth: the ${TERM} newsletter came.`);
  await mkdir(join(SCREENSHOT, '..'), { recursive: true });
  browser = await launching;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await stack?.stop();
  await ui?.close();
});

// Generous: a loaded 2-core machine runs the browser, the emulators and the models together.
describe('the console signed in with the Cognito hosted UI', { timeout: 120_000 }, () => {
  it('serves a config.json for the hosted sign-in, and a CSP that lets the page reach the token endpoint', async () => {
    const config = await (await fetch(`${api.consoleUrl}config.json`)).json();
    expect(config).toEqual({
      apiBaseUrl: '',
      mediaUrl: '/review/media',
      auth: 'cognito',
      cognito: { signInUrl: ui.url, userPoolClientId: CLIENT, redirectUrl: api.consoleUrl },
    });
    const csp = (await fetch(api.consoleUrl)).headers.get('content-security-policy');
    expect(csp).toContain(`connect-src 'self' ${ui.url};`);
    expect(items.a.decision).toBe('review');
  });

  it('the stand-in refuses what a pool refuses, and issues ID tokens the API accepts', async () => {
    const authorize = async (params: Record<string, string>) => {
      const url = new URL(`${ui.url}/oauth2/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT,
        redirect_uri: api.consoleUrl,
        scope: 'openid email profile',
        state: 'st',
        code_challenge_method: 'S256',
        ...params,
      }).toString();
      const res = await fetch(url, { redirect: 'manual' });
      return { status: res.status, back: new URL(res.headers.get('location') ?? '', api.consoleUrl) };
    };
    const exchange = (code: string, verifier?: string) =>
      tokenEndpoint({
        grant_type: 'authorization_code',
        code,
        redirect_uri: api.consoleUrl,
        ...(verifier && { code_verifier: verifier }),
      });
    ui.signInAs(ANA);
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'; // RFC 7636's example
    // Not the verifier of the challenge: refused (the mock's PKCE check).
    const first = await authorize({ code_challenge: s256(verifier) });
    expect(first.status).toBe(302);
    expect(first.back.searchParams.get('state')).toBe('st');
    expect((await exchange(first.back.searchParams.get('code') ?? '', `${verifier}x`)).status).toBe(400);
    // No verifier for a code issued with a challenge: refused (the stand-in's check).
    const second = await authorize({ code_challenge: s256(verifier) });
    const missing = await exchange(second.back.searchParams.get('code') ?? '');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_grant' });
    // The right verifier: a pool's tokens. The code is then used up.
    const third = await authorize({ code_challenge: s256(verifier) });
    const code = third.back.searchParams.get('code') ?? '';
    const ok = await exchange(code, verifier);
    expect(ok.status).toBe(200);
    const tokens = (await ok.json()) as Record<string, string>;
    expect(Object.keys(tokens).sort()).toEqual(
      ['access_token', 'expires_in', 'id_token', 'refresh_token', 'token_type'].sort(),
    );
    expect(claimsOf(tokens.id_token ?? '')).toMatchObject({
      iss: `https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`,
      aud: CLIENT,
      token_use: 'id',
      email: ANA.email,
      'cognito:username': 'ana',
      'cognito:groups': ['reviewer'],
      'custom:tenant': 'local',
    });
    expect(claimsOf(tokens.access_token ?? '')).toMatchObject({ token_use: 'access', client_id: CLIENT });
    expect(claimsOf(tokens.id_token ?? '')).not.toHaveProperty('nbf');
    expect((await exchange(code, verifier)).status).toBe(400);
    // The API verifies the ID token (aws-jwt-verify, the pool's issuer, the stand-in's keys).
    expect((await call(tokens.id_token ?? '', 'GET', '/v1/review/queue')).status).toBe(200);
    // The access token is not the bearer: no audience, no tenant.
    const access = await call(tokens.access_token ?? '', 'GET', '/v1/review/queue');
    expect(access.status).toBe(401);
    expect(await errorOf(access)).toMatch(/ID token, not the access token/);
    // A callback the app client does not list gets the hosted UI's error page, not a redirect.
    expect(
      (await authorize({ code_challenge: s256(verifier), redirect_uri: 'https://evil.example/' })).status,
    ).toBe(400);
    // No PKCE: sent back with an error, and no code.
    const plain = await authorize({ code_challenge_method: 'plain', code_challenge: verifier });
    expect(plain.back.searchParams.get('error')).toBe('invalid_request');
    expect(plain.back.searchParams.get('code')).toBeNull();
  });

  it('a reviewer is sent to the hosted UI with an S256 challenge, comes back with a code, and the queue loads with her ID token', async () => {
    const page = await openPage('ana');
    const authorizeBefore = ui.authorizeRequests.length;
    const tokensBefore = ui.tokenRequests.length;
    await page.goto(api.consoleUrl);
    expect(await page.textContent('.sign-in')).toMatch(/Sign in with your reviewer account/);
    ui.signInAs(ANA);
    await page.click('.sign-in button[type="submit"]');
    await page.waitForSelector(`.queue-item[data-id="${items.d.id}"]`, WAIT);
    expect(await page.textContent('.who-name')).toBe(ANA.email);
    expect(await page.textContent('.who-role')).toBe('reviewer');
    // The code and the state left the address bar.
    expect(page.url()).toBe(api.consoleUrl);

    const authorize = ui.authorizeRequests.slice(authorizeBefore);
    expect(authorize).toHaveLength(1);
    expect(Object.fromEntries(authorize[0]!)).toMatchObject({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: api.consoleUrl,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    const exchanged = ui.tokenRequests.slice(tokensBefore);
    expect(exchanged.map((t) => [t.grantType, t.status])).toEqual([['authorization_code', 200]]);
    // The verifier the page kept is the one whose SHA-256 it sent to the hosted UI.
    expect(s256(exchanged[0]?.codeVerifier ?? '')).toBe(authorize[0]!.get('code_challenge'));

    const listed = await page.$$eval('.queue-item', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(listed).toEqual([items.a.id, items.b.id, items.c.id, items.d.id]);
    const s = await session(page);
    expect(claimsOf(s?.idToken ?? '')).toMatchObject({ token_use: 'id', email: ANA.email });
    const calls = reviewCalls.filter((c) => c.page === 'ana');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.authorization === `Bearer ${s?.idToken}` && c.status === 200)).toBe(true);
  });

  it('she decides an item, and the audit trail names her as her token does', async () => {
    const page = pages.ana;
    await page.click(`.queue-item[data-id="${items.a.id}"]`);
    await page.waitForSelector(`.item-view[data-id="${items.a.id}"] .claim-held`, WAIT);
    await page.keyboard.press('b');
    await expect.poll(() => page.inputValue('#reason'), WAIT).toBe('blocked in review');
    const decided = page.waitForResponse((r) => r.url().endsWith(`/${items.a.id}/decision`), WAIT);
    await page.keyboard.press('Enter');
    expect((await decided).status()).toBe(200);
    await page.waitForSelector(`.queue-item[data-id="${items.a.id}"]`, { state: 'detached', ...WAIT });
    await page.waitForSelector(`.item-view[data-id="${items.b.id}"] .claim-held`, WAIT);
    const final = await verdict(items.a.id);
    expect(final.finalDecision).toBe('block');
    expect(final.review).toMatchObject({ reviewer: ANA.email, reason: 'blocked in review' });

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.byteLength).toBeGreaterThan(10_000);
  });

  it('a user in the lead group takes over her claim; she, in the reviewer group, cannot take his', async () => {
    const lead = await openPage('lee');
    await signIn(lead, LEE);
    await lead.waitForSelector(`.queue-item[data-id="${items.c.id}"]`, WAIT);
    expect(await lead.textContent('.who-name')).toBe(LEE.email);
    expect(await lead.textContent('.who-role')).toBe('lead');
    // Decided (a) and claimed by her (b): not in the queue.
    const listed = await lead.$$eval('.queue-item', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(listed).toEqual([items.c.id, items.d.id]);

    const leeToken = (await session(lead))?.idToken ?? '';
    const anaToken = (await session(pages.ana))?.idToken ?? '';
    const takeover = await call(leeToken, 'POST', `/v1/review/items/${items.b.id}/claim`);
    expect(takeover.status).toBe(200);
    expect(await takeover.json()).toMatchObject({ id: items.b.id, reviewer: LEE.email });
    expect((await call(anaToken, 'POST', `/v1/review/items/${items.b.id}/claim`)).status).toBe(409);

    // Her console still shows b: deciding it now is a 409, which says so and moves on to c.
    const page = pages.ana;
    await page.keyboard.press('b');
    await expect.poll(() => page.inputValue('#reason'), WAIT).toBe('blocked in review');
    const decided = page.waitForResponse((r) => r.url().endsWith(`/${items.b.id}/decision`), WAIT);
    await page.keyboard.press('Enter');
    expect((await decided).status()).toBe(409);
    await page.waitForSelector('.notice.warn', WAIT);
    await page.waitForSelector(`.item-view[data-id="${items.c.id}"] .claim-held`, WAIT);
    expect((await verdict(items.b.id)).finalDecision).toBeUndefined();
  });

  it('the API refuses a tampered and an expired token with a 401 that says why; the media route checks tokens too', async () => {
    const token = (await session(pages.ana))?.idToken ?? '';
    const promoted = tamper(token, { 'cognito:groups': ['lead'] });
    const tampered = await call(promoted, 'GET', '/v1/review/queue');
    expect(tampered.status).toBe(401);
    expect(await errorOf(tampered)).toMatch(/signature does not verify/);
    const expired = await ui.mintIdToken(ANA, {
      iat: Math.floor(Date.now() / 1000) - 7200,
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const late = await call(expired, 'GET', '/v1/review/queue');
    expect(late.status).toBe(401);
    expect(await errorOf(late)).toMatch(/expired/);
    // A minted token that is still valid passes: the refusals are the tampering and the expiry.
    expect((await call(await ui.mintIdToken(ANA), 'GET', '/v1/review/queue')).status).toBe(200);

    const media = (bearer: string, id: string | undefined) =>
      fetch(
        `${api.url}/review/media?id=${id}&source=${encodeURIComponent(`s3://${stack.bucket}/uploads/x.png`)}`,
        {
          headers: { authorization: `Bearer ${bearer}` },
        },
      );
    // Signed in, but d is not hers to see yet (not claimed): the token was accepted, the claim is missing.
    expect((await media(token, items.d.id)).status).toBe(403);
    expect((await media(promoted, items.d.id)).status).toBe(401);
  });

  it('an expired ID token in the tab gets a 401, is renewed with the refresh token, and the queue loads', async () => {
    const page = pages.ana;
    const before = (await session(page)) as Session;
    const expired = await ui.mintIdToken(ANA, {
      iat: Math.floor(Date.now() / 1000) - 7200,
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    // As after a laptop slept past the timer: the tab holds a token the API no longer takes.
    await page.evaluate(
      ([key, value]) =>
        (
          globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }
        ).sessionStorage.setItem(key as string, value as string),
      [SESSION, JSON.stringify({ ...before, idToken: expired })],
    );
    const refreshesBefore = ui.tokenRequests.filter((t) => t.grantType === 'refresh_token').length;
    // The renewed token lives 80 s, so the timer renews it 20 s later: the next test waits for that.
    ui.shortenNextIdToken(80);
    await page.reload();
    await page.waitForSelector('.notice.warn', WAIT);
    expect(await page.textContent('.notice.warn')).toMatch(/session was renewed/);
    await page.waitForSelector(`.queue-item[data-id="${items.d.id}"]`, WAIT);
    const refreshes = ui.tokenRequests.filter((t) => t.grantType === 'refresh_token').slice(refreshesBefore);
    expect(refreshes.map((t) => [t.refreshToken, t.status])).toEqual([[before.refreshToken, 200]]);
    const after = (await session(page)) as Session;
    expect(after.idToken).not.toBe(expired);
    // The pool answered no new refresh token: the page kept the one it had.
    expect(after.refreshToken).toBe(before.refreshToken);
    const queueCalls = reviewCalls.filter((c) => c.page === 'ana' && c.url.includes('/v1/review/queue'));
    expect(queueCalls.slice(-2).map((c) => [c.authorization, c.status])).toEqual([
      [`Bearer ${expired}`, 401],
      [`Bearer ${after.idToken}`, 200],
    ]);
  });

  it('a short-lived ID token is renewed by the timer a minute before it expires, and the API calls carry the new one', async () => {
    const page = pages.ana;
    const short = (await session(page)) as Session;
    const claims = claimsOf(short.idToken);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(80);
    // Timed by the ID token's own lifetime, not the token response's expires_in (3600: the access token's).
    expect(short.expiresAt - Date.now()).toBeLessThan(81_000);
    await expect
      .poll(async () => (await session(page))?.idToken, { timeout: 50_000, interval: 500 })
      .not.toBe(short.idToken);
    const renewed = (await session(page)) as Session;
    expect(Number(claimsOf(renewed.idToken).exp) - Number(claimsOf(renewed.idToken).iat)).toBe(3600);
    expect(ui.tokenRequests.at(-1)).toMatchObject({ grantType: 'refresh_token', status: 200 });
    const queued = page.waitForResponse((r) => r.url().includes('/v1/review/queue'), WAIT);
    await page.click('.refresh');
    const res = await queued;
    expect(res.status()).toBe(200);
    expect(res.request().headers().authorization).toBe(`Bearer ${renewed.idToken}`);
  });

  it('a user in no review group is renewed once, then signed out with the reason, not traded in a loop', async () => {
    const page = await openPage('sam');
    const before = ui.tokenRequests.length;
    await signIn(page, SAM);
    await page.waitForSelector('.sign-in .notice.error', WAIT);
    expect(await page.textContent('.sign-in .notice.error')).toMatch(
      /Sign in again: the signed-in user is in neither the reviewer nor the lead group/,
    );
    expect(ui.tokenRequests.slice(before).map((t) => [t.grantType, t.status])).toEqual([
      ['authorization_code', 200],
      ['refresh_token', 200],
    ]);
    // The refused session is forgotten and its refresh token revoked: a reload does not bring it back.
    expect(await session(page)).toBeNull();
    const refresh = ui.tokenRequests.at(-1)?.refreshToken;
    await expect.poll(() => ui.revoked.map((r) => r.token), WAIT).toContain(refresh);
  });

  it('refuses an answer whose state the tab did not send: no code is traded, and the address bar is cleaned', async () => {
    const page = pages.sam;
    const before = ui.tokenRequests.length;
    ui.signInAs(ANA);
    ui.forgeNextState();
    const back = page.waitForRequest((r) => r.url().startsWith(`${api.consoleUrl}?`), WAIT);
    await page.click('.sign-in button[type="submit"]');
    expect(new URL((await back).url()).searchParams.get('state')).toBe('a-state-this-tab-never-sent');
    await page.waitForSelector(
      '.sign-in .notice.error:has-text("does not match a sign-in started in this tab")',
      WAIT,
    );
    expect(ui.tokenRequests.length).toBe(before);
    expect(page.url()).toBe(api.consoleUrl);
    expect(await session(page)).toBeNull();
  });

  it('sign-out revokes the refresh token, ends the hosted UI session, and returns to the signed-out page', async () => {
    const page = pages.ana;
    const { refreshToken } = (await session(page)) as Session;
    await page.click('.sign-out');
    await page.waitForSelector('.sign-in button[type="submit"]', WAIT);
    expect(page.url()).toBe(api.consoleUrl);
    expect(ui.revoked.at(-1)).toEqual({ token: refreshToken, clientId: CLIENT });
    expect(Object.fromEntries(ui.logouts.at(-1) ?? [])).toEqual({
      client_id: CLIENT,
      logout_uri: api.consoleUrl,
    });
    expect(await session(page)).toBeNull();
    // Revoked: the refresh token mints no more ID tokens.
    const again = await tokenEndpoint({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '' });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    // The lead's tab is another session: still signed in.
    expect(await session(pages.lee)).not.toBeNull();
  });

  it('ran without a script error or a CSP violation in the pages', () => {
    // Chromium logs each refused API call as a console error: the 401s and the 409 were asked for.
    const asked = /status of 40[19] .*\/v1\/review\/(queue|items\/[^/]+\/decision)/;
    expect(pageErrors.filter((e) => !asked.test(e))).toEqual([]);
    expect(pageErrors.filter((e) => asked.test(e)).length).toBeGreaterThanOrEqual(3);
  });
});
