/**
 * Reviewers signed in with the Cognito user pool (docs/REVIEW.md, "Keys and roles"): the console
 * sends the pool's **ID token** as `Authorization: Bearer <jwt>`, and whoever checks keys (the
 * Lambda authorizer on AWS, the app itself with API_AUTH=keys) verifies it with aws-jwt-verify
 * against the pool's JWKS: signature, issuer (the pool), audience (the console's app client),
 * `token_use: id`, expiry, and a `cognito:groups` claim naming `reviewer` or `lead`.
 *
 * - The role is the group: `lead` when the user is in `lead`, else `reviewer`.
 * - The tenant is the user's `custom:tenant` attribute, set by the operator who invites the
 *   reviewer (immutable in the pool, and not writable by the app client, so a reviewer cannot move
 *   themselves to another tenant). A token without it is refused.
 * - The name (audit trail, `review.reviewer`) is the email, else the Cognito username.
 * - Signed-in reviewers are the platform's own: they see S3 uploads' items too (`uploads`).
 *
 * A key is never a JWT (keys have no dots), so one bearer header carries either.
 */
import { createHash } from 'node:crypto';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidGroupError,
  CognitoJwtInvalidTokenUseError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  KidNotFoundInJwksError,
  ParameterValidationError,
} from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { TENANT_ATTRIBUTE } from '#shared/contracts/review.ts';
import type { Caller, Keyring } from './keys.ts';

/** The pool's groups that are review roles; other groups grant nothing here. */
export const REVIEWER_GROUPS = ['reviewer', 'lead'] as const;

const TENANT_CLAIM = `custom:${TENANT_ATTRIBUTE}`;

/** Three base64url parts, the first a JSON header (`eyJ` is `{"`): a JWT, not a key. */
export const looksLikeJwt = (token: string): boolean =>
  /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

export interface CognitoSettings {
  userPoolId: string;
  /** The console's app client: the ID token's `aud`. */
  clientId: string;
  /**
   * The pool's JWKS, known ahead (aws-jwt-verify's `cacheJwks`): its keys are not fetched. The
   * issuer is still the pool's, and a `kid` not in it is still looked up at the pool's own
   * `https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`; a stand-in pool
   * (the tests') gives its keys this way. @default fetched from the pool on first use
   */
  jwks?: Jwks;
}

/** Why a token was refused, as the 401 says it (never the token itself). */
export type TokenResult = { caller: Caller } | { refused: string };

/** Verifies ID tokens of one pool and app client, and maps them to callers. */
export function createCognitoAuthenticator(settings: CognitoSettings) {
  const verifier = CognitoJwtVerifier.create({
    userPoolId: settings.userPoolId,
    clientId: settings.clientId,
    tokenUse: 'id',
    groups: [...REVIEWER_GROUPS],
  });
  if (settings.jwks) verifier.cacheJwks(settings.jwks);
  return async function authenticateToken(token: string): Promise<TokenResult> {
    let payload: Record<string, unknown>;
    try {
      payload = (await verifier.verify(token)) as unknown as Record<string, unknown>;
    } catch (err) {
      return { refused: refusal(err) };
    }
    const groups = (payload['cognito:groups'] as string[] | undefined) ?? [];
    const tenant = payload[TENANT_CLAIM];
    if (typeof tenant !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant))
      return { refused: `the sign-in token has no valid ${TENANT_CLAIM} (ask an operator to set it)` };
    const sub = String(payload.sub ?? '');
    const name =
      typeof payload.email === 'string' ? payload.email : String(payload['cognito:username'] ?? sub);
    return {
      caller: {
        // Names the user in logs and rate limits, as a key's id does, and reveals nothing.
        keyId: createHash('sha256').update(`cognito|${sub}`).digest('hex').slice(0, 12),
        tenant,
        policy: 'balanced',
        uploads: true,
        role: groups.includes('lead') ? 'lead' : 'reviewer',
        name,
      },
    };
  };
}

/** aws-jwt-verify's error, as a reviewer can act on it (its errors do not set `name`: by class). */
function refusal(err: unknown): string {
  const reasons: [new (...args: never[]) => Error, string][] = [
    [JwtExpiredError, 'the sign-in token has expired; sign in again'],
    [JwtNotBeforeError, 'the sign-in token is not valid yet'],
    [JwtInvalidIssuerError, 'the sign-in token is from another user pool'],
    [JwtInvalidAudienceError, 'the sign-in token is for another app client'],
    [CognitoJwtInvalidClientIdError, 'the sign-in token is for another app client'],
    [CognitoJwtInvalidTokenUseError, 'send the ID token, not the access token'],
    [CognitoJwtInvalidGroupError, 'the signed-in user is in neither the reviewer nor the lead group'],
    [JwtInvalidSignatureError, 'the sign-in token’s signature does not verify'],
    [KidNotFoundInJwksError, 'the sign-in token’s signing key is not the user pool’s'],
  ];
  // A token whose `iss` names another pool is looked up among the configured issuers and not found.
  if (err instanceof ParameterValidationError && /^issuer not configured/.test(err.message))
    return 'the sign-in token is from another user pool';
  return reasons.find(([type]) => err instanceof type)?.[1] ?? 'the sign-in token is not valid';
}

/**
 * Who a bearer credential is: a JWT goes to the pool's verifier (refused when no pool is
 * configured), anything else to the key table. Undefined: nothing presented, or an unknown key.
 */
export async function authenticateBearer(
  presented: string | undefined,
  keyring: Keyring,
  verifyToken?: (token: string) => Promise<TokenResult>,
): Promise<TokenResult | undefined> {
  if (!presented) return undefined;
  if (looksLikeJwt(presented))
    return verifyToken
      ? verifyToken(presented)
      : { refused: 'sign-in tokens are not accepted here: no user pool is configured; use a key' };
  const caller = keyring.authenticate(presented);
  return caller ? { caller } : undefined;
}
