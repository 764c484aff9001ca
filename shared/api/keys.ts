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
  /**
   * A reviewer key (docs/REVIEW.md): it may use the review routes and nothing else; an API key (no
   * role) may not use them. A `lead` may also take over another reviewer's unexpired claim.
   */
  role: z.enum(['reviewer', 'lead']).optional(),
  /** Who the key belongs to, as the audit trail and `review.reviewer` show it. @default the key id */
  name: z.string().min(1).max(128).optional(),
});

const tenantSettings = z.object({
  /** Called on every final decision about the tenant's content, signed with HMAC-SHA256. */
  webhook: z.object({ url: z.url(), secret: z.string().min(16) }).optional(),
});

/** The key table's JSON (the secret's value on AWS): `{ "keys": [...], "tenants"?: { "<tenant>": {...} } }`. */
export const apiKeyTableSchema = z.object({
  keys: z.array(keyEntry),
  tenants: z.record(z.string(), tenantSettings).default({}),
});
export type TenantSettings = z.infer<typeof tenantSettings>;
export type ApiKeyTable = z.input<typeof apiKeyTableSchema>;

/** The authenticated caller, as the routes see it. */
export interface Caller {
  /** The first 12 hex digits of the key's hash: names the key in logs and rate limits, reveals nothing. */
  keyId: string;
  tenant: string;
  policy: string;
  ratePerMinute?: number;
  uploads: boolean;
  role?: 'reviewer' | 'lead';
  /** The key's name (or its id): who a reviewer is in the audit trail. */
  name: string;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A fresh key for the local API when MODERATION_API_KEY is unset. */
export const generateKey = (prefix: string): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

export interface Keyring {
  /** The caller a presented key belongs to; undefined for a missing or unknown key. */
  authenticate(key: string | undefined): Caller | undefined;
  /** A tenant's settings (its webhook); none when the table names none. */
  tenant(name: string): TenantSettings;
}

/** A keyring over a key table, validated (a malformed table throws at cold start, naming the field). */
export function createKeyring(table: unknown): Keyring {
  const parsed = apiKeyTableSchema.parse(table);
  const byHash = new Map(parsed.keys.map((k) => [k.sha256, k]));
  return {
    tenant: (name) => (Object.hasOwn(parsed.tenants, name) ? (parsed.tenants[name] ?? {}) : {}),
    authenticate(key) {
      if (!key) return undefined;
      const sha256 = hashKey(key);
      const entry = byHash.get(sha256);
      if (!entry) return undefined;
      const keyId = sha256.slice(0, 12);
      return {
        keyId,
        tenant: entry.tenant,
        policy: entry.policy,
        uploads: entry.uploads,
        name: entry.name ?? keyId,
        ...(entry.ratePerMinute !== undefined && { ratePerMinute: entry.ratePerMinute }),
        ...(entry.role && { role: entry.role }),
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

/**
 * Whether a verdict is the caller's: its API requests' (`api://<tenant>/…`), and S3 uploads' for
 * keys with `uploads`. Anything else is "not found" to the caller, so ids reveal nothing.
 */
export function ownedBy(caller: Caller, object: unknown): boolean {
  if (typeof object !== 'string') return false;
  return object.startsWith(`api://${caller.tenant}/`) || (caller.uploads && object.startsWith('s3://'));
}

/**
 * The identity the Lambda authorizer hands to the API function (HTTP API simple-response context):
 * a caller, or why not (`refused`: a sign-in token that did not verify, said in the 401).
 */
export type AuthorizerContext =
  | { authenticated: false; refused?: string }
  | ({ authenticated: true } & Caller);

/**
 * The authorizer lets every request through and says who it is from: an unknown key then gets this
 * API's 401 with a JSON body from the function, where API Gateway would answer a bare 403.
 */
export function authorizerContext(caller: Caller | undefined, refused?: string): AuthorizerContext {
  if (caller) return { authenticated: true, ...caller };
  return { authenticated: false, ...(refused && { refused }) };
}

/** Why the authorizer refused a credential, when it said (a sign-in token's reason). */
export function refusalFromAuthorizer(context: unknown): string | undefined {
  const c = context as { authenticated?: unknown; refused?: unknown } | undefined;
  return c?.authenticated === false && typeof c.refused === 'string' ? c.refused : undefined;
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
    name: typeof c.name === 'string' ? c.name : c.keyId,
    ...(typeof c.ratePerMinute === 'number' && { ratePerMinute: c.ratePerMinute }),
    ...((c.role === 'reviewer' || c.role === 'lead') && { role: c.role }),
  };
}

/**
 * The local API's keyring: its API key (MODERATION_API_KEY), the platform's own, so it reads upload
 * verdicts too, and its reviewer key (MODERATION_REVIEWER_KEY), with the tenant's settings.
 */
export function localKeyring(
  keys: { api: string; reviewer?: string; tenant: string; policy: string },
  tenantSettings: TenantSettings = {},
  /** More keys (a second reviewer, a lead): entries of the key table. */
  extra: ApiKeyTable['keys'] = [],
): Keyring {
  return createKeyring({
    keys: [
      {
        sha256: hashKey(keys.api),
        tenant: keys.tenant,
        policy: keys.policy,
        uploads: true,
        name: 'local-api',
      },
      ...(keys.reviewer
        ? [
            {
              sha256: hashKey(keys.reviewer),
              tenant: keys.tenant,
              policy: keys.policy,
              role: 'reviewer' as const,
              name: 'local-reviewer',
              // The platform's own reviewer: S3 uploads' verdicts are in its queue too.
              uploads: true,
            },
          ]
        : []),
      ...extra,
    ],
    tenants: { [keys.tenant]: tenantSettings },
  });
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
