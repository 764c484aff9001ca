/**
 * The console's Cognito sign-in (console/auth.js) in Node's WebCrypto, with the hosted UI's token
 * endpoint stubbed: the S256 challenge of RFC 7636's own example, the authorize redirect it builds,
 * the code-for-tokens exchange with the verifier, a refusal of a state this tab did not send, the
 * refresh timed by the ID token's own lifetime, the identity the toolbar shows, and the sign-out
 * (revoke, then the hosted UI's logout). The whole flow in a browser, against a real OAuth 2.0
 * server, is test/integration/console-signin.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: the console is plain ES modules with JSDoc types, outside the TypeScript project.
import { claimsOf, codeChallenge, createCognitoAuth, identityOf } from '../../../console/auth.js';

const COGNITO = {
  signInUrl: 'https://reviewers.auth.eu-west-1.amazoncognito.com',
  userPoolClientId: 'client-123',
  redirectUrl: 'https://d111.cloudfront.net/review/',
};

/** An unsigned JWT with these claims: the page reads claims, it never verifies (the API does). */
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

class MemoryStorage {
  items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
  removeItem = (k: string) => void this.items.delete(k);
}

function fakeLocation(search = '') {
  return { search, pathname: '/review/', assign: vi.fn<(url: string) => void>() };
}

let requests: { url: string; body: URLSearchParams }[];
const answer = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  requests = [];
  vi.stubGlobal('history', { replaceState: vi.fn() });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: { body: URLSearchParams }) => {
      const body = new URLSearchParams(init.body);
      requests.push({ url, body });
      if (url.endsWith('/oauth2/revoke')) return new Response('', { status: 200 });
      if (body.get('grant_type') === 'refresh_token' && body.get('refresh_token') === 'revoked')
        return answer({ error: 'invalid_grant' }, 400);
      return answer({ id_token: `id-${requests.length}`, refresh_token: 'refresh-1', expires_in: 3600 });
    }),
  );
});
afterEach(() => vi.unstubAllGlobals());

describe('console/auth.js', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('signs in: authorize with a challenge, then trades the code and the verifier for an ID token', async () => {
    const storage = new MemoryStorage();
    const start = fakeLocation();
    await createCognitoAuth(COGNITO, storage, start).signIn();
    const authorize = new URL(start.assign.mock.calls[0]![0]);
    expect(authorize.origin + authorize.pathname).toBe(`${COGNITO.signInUrl}/oauth2/authorize`);
    const q = Object.fromEntries(authorize.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: COGNITO.redirectUrl,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    const pending = JSON.parse(storage.getItem('moderation-console.cognito-pending') ?? '{}');
    expect(await codeChallenge(pending.verifier)).toBe(q.code_challenge);
    expect(pending.verifier.length).toBeGreaterThanOrEqual(43);

    // The hosted UI sends the tab back with the code and the state.
    const back = fakeLocation(`?code=the-code&state=${q.state}`);
    const auth = createCognitoAuth(COGNITO, storage, back);
    expect(await auth.completeSignIn()).toBe(true);
    expect(requests[0]?.url).toBe(`${COGNITO.signInUrl}/oauth2/token`);
    expect(Object.fromEntries(requests[0]!.body)).toEqual({
      client_id: 'client-123',
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: COGNITO.redirectUrl,
      code_verifier: pending.verifier,
    });
    expect(auth.current()).toBe('id-1');
    expect(auth.refreshAt()).toBeGreaterThan(Date.now() + 3000 * 1000);
    // The code leaves the address bar, and the verifier the storage.
    const { history } = globalThis as unknown as { history: { replaceState: unknown } };
    expect(history.replaceState).toHaveBeenCalledWith(null, '', '/review/');
    expect(storage.getItem('moderation-console.cognito-pending')).toBeNull();
  });

  it('refuses an answer whose state this tab did not send, and reports the hosted UI’s error', async () => {
    const storage = new MemoryStorage();
    storage.setItem('moderation-console.cognito-pending', JSON.stringify({ verifier: 'v', state: 'mine' }));
    await expect(
      createCognitoAuth(COGNITO, storage, fakeLocation('?code=c&state=theirs')).completeSignIn(),
    ).rejects.toThrow(/does not match/);
    expect(requests).toHaveLength(0);
    await expect(
      createCognitoAuth(
        COGNITO,
        storage,
        fakeLocation('?error=access_denied&error_description=MFA+failed'),
      ).completeSignIn(),
    ).rejects.toThrow(/MFA failed/);
    expect(await createCognitoAuth(COGNITO, storage, fakeLocation()).completeSignIn()).toBe(false);
  });

  it('refreshes with the refresh token, and forgets the session when that is refused', async () => {
    const storage = new MemoryStorage();
    storage.setItem(
      'moderation-console.cognito',
      JSON.stringify({ idToken: 'old', refreshToken: 'refresh-1', expiresAt: Date.now() + 1000 }),
    );
    const auth = createCognitoAuth(COGNITO, storage, fakeLocation());
    expect(await auth.refresh()).toBe('id-1');
    expect(Object.fromEntries(requests[0]!.body)).toEqual({
      client_id: 'client-123',
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
    });
    expect(auth.current()).toBe('id-1');
    storage.setItem(
      'moderation-console.cognito',
      JSON.stringify({ idToken: 'x', refreshToken: 'revoked', expiresAt: 0 }),
    );
    expect(await auth.refresh()).toBe('');
    expect(auth.current()).toBe('');
  });

  it('signs out: revokes the refresh token, forgets it, and ends the hosted UI’s session', async () => {
    const storage = new MemoryStorage();
    storage.setItem(
      'moderation-console.cognito',
      JSON.stringify({ idToken: 'id', refreshToken: 'refresh-1', expiresAt: Date.now() + 1000 }),
    );
    const location = fakeLocation();
    const auth = createCognitoAuth(COGNITO, storage, location);
    await auth.signOut();
    expect(requests[0]?.url).toBe(`${COGNITO.signInUrl}/oauth2/revoke`);
    expect(Object.fromEntries(requests[0]!.body)).toEqual({ token: 'refresh-1', client_id: 'client-123' });
    expect(auth.current()).toBe('');
    const logout = new URL(location.assign.mock.calls[0]![0]);
    expect(logout.pathname).toBe('/logout');
    expect(Object.fromEntries(logout.searchParams)).toEqual({
      client_id: 'client-123',
      logout_uri: COGNITO.redirectUrl,
    });
  });

  it('times the refresh by the ID token’s own lifetime (exp − iat), not the access token’s expires_in', async () => {
    const iat = 1_700_000_000; // the pool's clock, whatever the tab's says
    const idToken = jwt({ iat, exp: iat + 300, email: 'ana@example.com' });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => answer({ id_token: idToken, refresh_token: 'r', expires_in: 3600 })),
    );
    const storage = new MemoryStorage();
    storage.setItem(
      'moderation-console.cognito',
      JSON.stringify({ idToken: 'old', refreshToken: 'r', expiresAt: 0 }),
    );
    const auth = createCognitoAuth(COGNITO, storage, fakeLocation());
    const before = Date.now();
    expect(await auth.refresh()).toBe(idToken);
    // 300 s of life, refreshed a minute early: about 240 s from now.
    expect(auth.refreshAt()).toBeGreaterThanOrEqual(before + 240_000);
    expect(auth.refreshAt()).toBeLessThanOrEqual(Date.now() + 240_000);
  });

  it('reads who an ID token names for the toolbar; anything else is nobody', () => {
    expect(identityOf(jwt({ email: 'ana@example.com', 'cognito:groups': ['reviewer'] }))).toEqual({
      name: 'ana@example.com',
      role: 'reviewer',
    });
    expect(identityOf(jwt({ 'cognito:username': 'lee', 'cognito:groups': ['reviewer', 'lead'] }))).toEqual({
      name: 'lee',
      role: 'lead',
    });
    expect(
      identityOf(jwt({ 'cognito:username': 'sam', 'cognito:groups': ['admins'] }))?.role,
    ).toBeUndefined();
    // UTF-8 in a claim survives base64url.
    expect(claimsOf(jwt({ name: 'Zoë Ødegård' }))?.name).toBe('Zoë Ødegård');
    expect(identityOf('mod_review_key')).toBeUndefined();
    expect(claimsOf('a.b.c')).toBeUndefined();
  });

  it('forgets a refused session without leaving the page, revoking its refresh token', async () => {
    const storage = new MemoryStorage();
    storage.setItem(
      'moderation-console.cognito',
      JSON.stringify({ idToken: 'id', refreshToken: 'refresh-1', expiresAt: Date.now() + 1000 }),
    );
    const location = fakeLocation();
    const auth = createCognitoAuth(COGNITO, storage, location);
    await auth.forget();
    expect(requests.map((r) => [r.url, r.body.get('token')])).toEqual([
      [`${COGNITO.signInUrl}/oauth2/revoke`, 'refresh-1'],
    ]);
    expect(auth.current()).toBe('');
    expect(location.assign).not.toHaveBeenCalled();
  });
});
