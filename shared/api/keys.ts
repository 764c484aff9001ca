/**
 * API keys: who is calling, for which tenant and policy, at what rate. Keys are kept as SHA-256
 * hashes (an operator stores `sha256(key)`, never the key), so a leaked key table grants nothing.
 * On AWS the table is a Secrets Manager secret the authorizer reads; locally it holds one key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

const keyEntry = z.object({
  /** Hex SHA-256 of the key. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits'),
  tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant must be lower-case letters, digits and -'),
  /** The policy preset this key's requests are decided under. */
  policy: z.string().min(1).default('balanced'),
  /** Requests per minute; absent = the API's default. */
  ratePerMinute: z.number().int().positive().optional(),
  /** May read the verdicts of S3 uploads too (the platform's own key), not only its API requests'. */
  uploads: z.boolean().default(false),
});

/** The key table's JSON (the secret's value on AWS): `{ "keys": [...] }`. */
export const apiKeyTableSchema = z.object({ keys: z.array(keyEntry) });
export type ApiKeyTable = z.input<typeof apiKeyTableSchema>;

/** The authenticated caller, as the routes see it. */
export interface Caller {
  /** The first 12 hex digits of the key's hash: names the key in logs and rate limits, reveals nothing. */
  keyId: string;
  tenant: string;
  policy: string;
  ratePerMinute?: number;
  uploads: boolean;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A fresh key for the local API when MODERATION_API_KEY is unset. */
export const generateKey = (prefix: string): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

export interface Keyring {
  /** The caller a presented key belongs to; undefined for a missing or unknown key. */
  authenticate(key: string | undefined): Caller | undefined;
}

/** A keyring over a key table, validated (a malformed table throws at cold start, naming the field). */
export function createKeyring(table: unknown): Keyring {
  const parsed = apiKeyTableSchema.parse(table);
  const byHash = new Map(parsed.keys.map((k) => [k.sha256, k]));
  return {
    authenticate(key) {
      if (!key) return undefined;
      const sha256 = hashKey(key);
      const entry = byHash.get(sha256);
      if (!entry) return undefined;
      return {
        keyId: sha256.slice(0, 12),
        tenant: entry.tenant,
        policy: entry.policy,
        uploads: entry.uploads,
        ...(entry.ratePerMinute !== undefined && { ratePerMinute: entry.ratePerMinute }),
      };
    },
  };
}

/**
 * The key a request presents: `Authorization: Bearer <key>` (OpenAI's clients, and ours) or the
 * `key` query parameter (Perspective's clients send it that way).
 */
export function presentedKey(
  authorization: string | undefined,
  queryKey: string | undefined,
): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  return bearer ?? (queryKey || undefined);
}

/** The identity the Lambda authorizer hands to the API function (HTTP API simple-response context). */
export type AuthorizerContext = { authenticated: false } | ({ authenticated: true } & Caller);

/**
 * The authorizer lets every request through and says who it is from: an unknown key then gets this
 * API's 401 with a JSON body from the function, where API Gateway would answer a bare 403.
 */
export function authorizerContext(caller: Caller | undefined): AuthorizerContext {
  return caller ? { authenticated: true, ...caller } : { authenticated: false };
}

/** The caller an authorizer context names, checked (the function trusts only well-formed identities). */
export function callerFromAuthorizer(context: unknown): Caller | undefined {
  const c = context as Partial<Record<keyof Caller | 'authenticated', unknown>> | undefined;
  if (c?.authenticated !== true || typeof c.keyId !== 'string' || typeof c.tenant !== 'string')
    return undefined;
  if (typeof c.policy !== 'string') return undefined;
  return {
    keyId: c.keyId,
    tenant: c.tenant,
    policy: c.policy,
    uploads: c.uploads === true,
    ...(typeof c.ratePerMinute === 'number' && { ratePerMinute: c.ratePerMinute }),
  };
}

/** A keyring for a single key (the local API's MODERATION_API_KEY): the platform's own, so it reads upload verdicts too. */
export function singleKeyring(key: string, tenant: string, policy: string): Keyring {
  return createKeyring({ keys: [{ sha256: hashKey(key), tenant, policy, uploads: true }] });
}

/**
 * The key table in a Secrets Manager secret, re-read at most every `maxAgeSeconds` (Powertools
 * caches it), so a key added or revoked takes effect within that time without a deploy.
 */
export function secretKeyring(secretArn: string, maxAgeSeconds = 300): () => Promise<Keyring> {
  let last: { raw: unknown; keyring: Keyring } | undefined;
  return async (): Promise<Keyring> => {
    const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
    const raw = await getSecret(secretArn, { maxAge: maxAgeSeconds, transform: 'json' });
    // Powertools hands back the same parsed object until it re-reads: parse the table once per read.
    if (last && last.raw === raw) return last.keyring;
    const keyring = createKeyring(raw);
    last = { raw, keyring };
    return keyring;
  };
}
