/**
 * Reviewer sign-in with the Cognito user pool's hosted UI (docs/CONSOLE.md, "Sign-in"): OAuth 2.0
 * authorization code with PKCE (RFC 7636), done with the browser's WebCrypto and fetch, no SDK.
 *
 * 1. `signIn()` makes a random verifier and state, keeps them in sessionStorage, and sends the tab
 *    to `<signInUrl>/oauth2/authorize` with the verifier's SHA-256 as the `code_challenge`.
 * 2. The hosted UI (password + TOTP) sends the tab back to `redirectUrl` with `?code&state`.
 *    `completeSignIn()` checks the state, trades the code and the verifier for tokens at
 *    `<signInUrl>/oauth2/token`, and takes the code out of the address bar.
 * 3. The API gets the **ID token** as the bearer (it carries the groups, the tenant and the app
 *    client as its audience). `refresh()` trades the refresh token for a new one before it expires.
 * 4. `signOut()` revokes the refresh token and ends the hosted UI's session (`/logout`); `forget()`
 *    revokes it and forgets the session without leaving the page (a token the API refused).
 *
 * Tokens live in sessionStorage only: closing the tab forgets them.
 */

const STORE = 'moderation-console.cognito';
const PENDING = 'moderation-console.cognito-pending';
/** Refresh this long before the ID token expires. */
const EARLY_MS = 60_000;

/** @param {Uint8Array} bytes */
const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomString = (/** @type {number} */ n = 32) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/**
 * The claims of a JWT, read without verifying it (the API verifies; the page only reads its own
 * session's lifetime and who it names), or undefined when it is not a JWT.
 */
export function claimsOf(/** @type {string} */ jwt) {
  try {
    const part = (jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    return claims && typeof claims === 'object' ? /** @type {Record<string, unknown>} */ (claims) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Who an ID token names, for the toolbar: the name the audit trail records (email, else the
 * username) and the role its groups give. Shown only: the API decides (shared/api/cognito.ts).
 * @returns {{ name: string, role: 'lead' | 'reviewer' | undefined } | undefined}
 */
export function identityOf(/** @type {string} */ idToken) {
  const claims = claimsOf(idToken);
  if (!claims) return undefined;
  const groups = Array.isArray(claims['cognito:groups']) ? claims['cognito:groups'] : [];
  return {
    name:
      typeof claims.email === 'string'
        ? claims.email
        : String(claims['cognito:username'] ?? claims.sub ?? ''),
    role: groups.includes('lead') ? 'lead' : groups.includes('reviewer') ? 'reviewer' : undefined,
  };
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(/** @type {string} */ verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/**
 * @typedef {{ signInUrl: string, userPoolClientId: string, redirectUrl: string, scopes?: string[] }} CognitoConfig
 * @typedef {{ idToken: string, refreshToken?: string, expiresAt: number }} Session
 */

/** @param {CognitoConfig} cognito */
export function createCognitoAuth(cognito, storage = sessionStorage, location = window.location) {
  const base = cognito.signInUrl.replace(/\/+$/, '');

  /** @returns {Session | undefined} */
  const read = () => {
    try {
      return JSON.parse(storage.getItem(STORE) ?? 'null') ?? undefined;
    } catch {
      return undefined;
    }
  };
  const write = (/** @type {Session | undefined} */ s) =>
    s ? storage.setItem(STORE, JSON.stringify(s)) : storage.removeItem(STORE);

  /** @param {Record<string, string>} form */
  async function token(form) {
    const res = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: cognito.userPoolClientId, ...form }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.id_token)
      throw new Error(`sign-in failed: ${body.error_description ?? body.error ?? res.status}`);
    // `expires_in` is the access token's lifetime, which the pool sets apart from the ID token's:
    // the bearer is the ID token, so its own lifetime (exp − iat, both on the pool's clock, so a tab
    // whose clock is off still refreshes in time) says when to refresh.
    const claims = claimsOf(body.id_token);
    const lifetime =
      typeof claims?.exp === 'number' && typeof claims.iat === 'number'
        ? claims.exp - claims.iat
        : Number(body.expires_in ?? 3600);
    return /** @type {Session} */ ({
      idToken: body.id_token,
      // The pool answers a refresh without a new refresh token (no rotation): keep the one used.
      refreshToken: body.refresh_token ?? form.refresh_token,
      expiresAt: Date.now() + lifetime * 1000,
    });
  }

  /** Forgets the session and revokes its refresh token, so it cannot mint ID tokens any more. */
  async function forget() {
    const s = read();
    write(undefined);
    if (s?.refreshToken) {
      await fetch(`${base}/oauth2/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: s.refreshToken, client_id: cognito.userPoolClientId }),
      }).catch(() => undefined);
    }
  }

  return {
    /** The ID token to send, or '' when signed out. */
    current: () => read()?.idToken ?? '',
    /** When the current token should be refreshed (ms since the epoch), or undefined. */
    refreshAt: () => {
      const s = read();
      return s ? s.expiresAt - EARLY_MS : undefined;
    },

    /** Sends the tab to the hosted sign-in. */
    async signIn() {
      const verifier = randomString(48);
      const state = randomString(16);
      storage.setItem(PENDING, JSON.stringify({ verifier, state }));
      const url = new URL(`${base}/oauth2/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: cognito.userPoolClientId,
        redirect_uri: cognito.redirectUrl,
        scope: (cognito.scopes ?? ['openid', 'email', 'profile']).join(' '),
        state,
        code_challenge_method: 'S256',
        code_challenge: await codeChallenge(verifier),
      }).toString();
      location.assign(url.toString());
    },

    /**
     * After the hosted UI's redirect: trades `?code` for tokens. Resolves to whether it signed in;
     * throws when the redirect carries an error or a state this tab did not send.
     */
    async completeSignIn() {
      const params = new URLSearchParams(location.search);
      const code = params.get('code');
      const error = params.get('error');
      if (!code && !error) return false;
      const pending = JSON.parse(storage.getItem(PENDING) ?? 'null');
      storage.removeItem(PENDING);
      // The code and state leave the address bar (and the history) whatever happens next.
      history.replaceState(null, '', location.pathname);
      if (error) throw new Error(`sign-in failed: ${params.get('error_description') ?? error}`);
      if (!pending || pending.state !== params.get('state'))
        throw new Error('sign-in failed: the answer does not match a sign-in started in this tab');
      write(
        await token({
          grant_type: 'authorization_code',
          code: /** @type {string} */ (code),
          redirect_uri: cognito.redirectUrl,
          code_verifier: pending.verifier,
        }),
      );
      return true;
    },

    /** A new ID token from the refresh token; resolves to it, or '' when that is not possible. */
    async refresh() {
      const s = read();
      if (!s?.refreshToken) return '';
      try {
        const next = await token({ grant_type: 'refresh_token', refresh_token: s.refreshToken });
        write(next);
        return next.idToken;
      } catch {
        write(undefined);
        return '';
      }
    },

    forget,

    /** Forgets the tokens, revokes the refresh token, and ends the hosted UI's session. */
    async signOut() {
      await forget();
      const url = new URL(`${base}/logout`);
      url.search = new URLSearchParams({
        client_id: cognito.userPoolClientId,
        logout_uri: cognito.redirectUrl,
      }).toString();
      location.assign(url.toString());
    },
  };
}
