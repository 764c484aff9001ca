/** API keys: presented, looked up by hash, handed from the authorizer to the function, checked again. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authorizerContext,
  type Caller,
  callerFromAuthorizer,
  createKeyring,
  generateKey,
  hashKey,
  localKeyring,
  presentedKey,
} from '#shared/api/keys.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const KEY = 'mod_live_abc123';
const table = {
  keys: [
    { sha256: sha256(KEY), tenant: 'acme', policy: 'strict', ratePerMinute: 30 },
    { sha256: sha256('other-key'), tenant: 'globex' },
  ],
};

describe('presentedKey', () => {
  it('reads a Bearer token, whatever the case of the scheme', () => {
    expect(presentedKey('Bearer abc', undefined)).toBe('abc');
    expect(presentedKey('bearer abc', undefined)).toBe('abc');
    expect(presentedKey('BEARER   abc  ', undefined)).toBe('abc');
  });

  it('prefers the Authorization header to ?key=', () => {
    expect(presentedKey('Bearer from-header', 'from-query')).toBe('from-header');
  });

  it('falls back to the key query parameter (Perspective clients send it there)', () => {
    expect(presentedKey(undefined, 'q')).toBe('q');
    expect(presentedKey('Basic dXNlcjpwYXNz', 'q')).toBe('q');
  });

  it('finds no key when neither is given, or the header is not a single bearer token', () => {
    expect(presentedKey(undefined, undefined)).toBeUndefined();
    expect(presentedKey('', '')).toBeUndefined();
    expect(presentedKey('Bearer', undefined)).toBeUndefined();
    expect(presentedKey('Bearer a b', undefined)).toBeUndefined();
    expect(presentedKey('Basic dXNlcjpwYXNz', undefined)).toBeUndefined();
    expect(presentedKey('abc', undefined)).toBeUndefined();
  });
});

describe('createKeyring', () => {
  it('refuses a malformed table, naming the field at fault', () => {
    expect(() => createKeyring({ keys: [{ sha256: 'not-hex', tenant: 'acme' }] })).toThrow(/sha256/);
    expect(() => createKeyring({ keys: [{ sha256: sha256('k'), tenant: 'Acme Corp' }] })).toThrow(/tenant/);
    expect(() =>
      createKeyring({ keys: [{ sha256: sha256('k'), tenant: 'acme', ratePerMinute: -1 }] }),
    ).toThrow(/ratePerMinute/);
    expect(() => createKeyring({ keys: [{ sha256: sha256('K').toUpperCase(), tenant: 'acme' }] })).toThrow(
      /sha256/,
    );
    expect(() => createKeyring({})).toThrow(/keys/);
    expect(() => createKeyring(null)).toThrow();
  });

  it('does not know a missing, empty or unknown key', () => {
    const ring = createKeyring(table);
    expect(ring.authenticate(undefined)).toBeUndefined();
    expect(ring.authenticate('')).toBeUndefined();
    expect(ring.authenticate('mod_live_abc124')).toBeUndefined();
    // The table holds hashes: presenting the hash itself is not presenting the key.
    expect(ring.authenticate(sha256(KEY))).toBeUndefined();
  });

  it('knows a key by its hash and names it by the first 12 hex digits of that hash', () => {
    const ring = createKeyring(table);
    expect(ring.authenticate(KEY)).toEqual({
      keyId: sha256(KEY).slice(0, 12),
      name: sha256(KEY).slice(0, 12),
      tenant: 'acme',
      policy: 'strict',
      ratePerMinute: 30,
      uploads: false,
    });
    // Defaults: the balanced policy, the API's own rate (no ratePerMinute), API verdicts only.
    const other = ring.authenticate('other-key');
    expect(other).toEqual({
      keyId: sha256('other-key').slice(0, 12),
      name: sha256('other-key').slice(0, 12),
      tenant: 'globex',
      policy: 'balanced',
      uploads: false,
    });
    expect(other).not.toHaveProperty('ratePerMinute');
  });

  it('hashKey is hex SHA-256 of the UTF-8 key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (k) => {
        expect(hashKey(k)).toBe(sha256(k));
      }),
    );
  });

  it('localKeyring knows exactly its keys: the API key as the platform (reads upload verdicts), the reviewer key with its role', () => {
    const key = generateKey('mod');
    expect(key).toMatch(/^mod_[A-Za-z0-9_-]{32}$/);
    expect(generateKey('mod')).not.toBe(key);
    const reviewer = generateKey('rev');
    const ring = localKeyring({ api: key, reviewer, tenant: 'local', policy: 'lenient' });
    expect(ring.authenticate(key)).toMatchObject({ tenant: 'local', policy: 'lenient', uploads: true });
    expect(ring.authenticate(key)?.role).toBeUndefined();
    expect(ring.authenticate(reviewer)).toMatchObject({
      tenant: 'local',
      role: 'reviewer',
      name: 'local-reviewer',
    });
    expect(ring.authenticate(`${key}x`)).toBeUndefined();
  });

  it('keeps a tenant’s webhook, and refuses one whose secret is too short', () => {
    const webhook = { url: 'https://platform.example/hooks/moderation', secret: 's'.repeat(32) };
    expect(createKeyring({ ...table, tenants: { acme: { webhook } } }).tenant('acme').webhook).toEqual(
      webhook,
    );
    expect(createKeyring(table).tenant('acme')).toEqual({});
    expect(() =>
      createKeyring({ ...table, tenants: { acme: { webhook: { ...webhook, secret: 'short' } } } }),
    ).toThrow();
  });
});

describe('authorizer context', () => {
  const caller: Caller = {
    keyId: 'abcdef012345',
    tenant: 'acme',
    policy: 'strict',
    ratePerMinute: 30,
    uploads: true,
    name: 'acme-app',
    role: 'lead',
  };

  it('round-trips a caller, and an anonymous request stays anonymous', () => {
    expect(callerFromAuthorizer(authorizerContext(caller))).toEqual(caller);
    const { ratePerMinute: _r, ...noRate } = caller;
    expect(callerFromAuthorizer(authorizerContext(noRate))).toEqual(noRate);
    expect(authorizerContext(undefined)).toEqual({ authenticated: false });
    expect(callerFromAuthorizer(authorizerContext(undefined))).toBeUndefined();
  });

  it('survives the JSON trip through API Gateway', () => {
    const ctx = JSON.parse(JSON.stringify(authorizerContext(caller)));
    expect(callerFromAuthorizer(ctx)).toEqual(caller);
  });

  it('refuses forged or incomplete contexts', () => {
    const good = authorizerContext(caller) as Record<string, unknown>;
    expect(callerFromAuthorizer(undefined)).toBeUndefined();
    expect(callerFromAuthorizer(null)).toBeUndefined();
    expect(callerFromAuthorizer('acme')).toBeUndefined();
    expect(callerFromAuthorizer({})).toBeUndefined();
    expect(callerFromAuthorizer({ ...good, authenticated: 'true' })).toBeUndefined();
    expect(callerFromAuthorizer({ ...good, authenticated: false })).toBeUndefined();
    for (const field of ['keyId', 'tenant', 'policy']) {
      const { [field]: _dropped, ...rest } = good;
      expect(callerFromAuthorizer(rest)).toBeUndefined();
      expect(callerFromAuthorizer({ ...good, [field]: 42 })).toBeUndefined();
    }
  });

  it('grants upload access only when the context says exactly true', () => {
    const good = authorizerContext(caller) as Record<string, unknown>;
    expect(callerFromAuthorizer({ ...good, uploads: 'true' })?.uploads).toBe(false);
    expect(callerFromAuthorizer({ ...good, uploads: undefined })?.uploads).toBe(false);
    expect(callerFromAuthorizer({ ...good, ratePerMinute: '1000' })).not.toHaveProperty('ratePerMinute');
  });
});
