/** A verdict's public id is its table key, base64url-encoded: a round trip, and nothing else decodes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verdictId, verdictPkOf } from '#shared/contracts/verdict-table.ts';

describe('verdictId / verdictPkOf', () => {
  it('round-trips any string key (unicode included) through a URL-safe id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), (pk) => {
        const id = verdictId(pk);
        expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(verdictPkOf(id)).toBe(pk);
      }),
    );
  });

  it('round-trips the key shapes the pipeline writes', () => {
    for (const pk of ['uploads/uploads/my note.txt#v-1', `api://acme/${'a'.repeat(64)}`, 'b/k#unversioned']) {
      expect(verdictPkOf(verdictId(pk))).toBe(pk);
    }
  });

  it('rejects any id that verdictId did not make', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (id) => {
        const pk = verdictPkOf(id);
        // Whatever it accepts, it must be the one key whose id is exactly this string.
        if (pk !== undefined) expect(verdictId(pk)).toBe(id);
      }),
    );
  });

  it('rejects ids outside the base64url alphabet, padded ids, the empty id and non-canonical encodings', () => {
    const good = verdictId('b/k#v1');
    expect(verdictPkOf('')).toBeUndefined();
    expect(verdictPkOf(`${good}=`)).toBeUndefined();
    expect(verdictPkOf(`${good.slice(0, 2)}+${good.slice(3)}`)).toBeUndefined();
    expect(verdictPkOf(`${good.slice(0, 2)}/${good.slice(3)}`)).toBeUndefined();
    expect(verdictPkOf(`${good} `)).toBeUndefined();
    // One character (6 bits) cannot encode a byte; 'QR' decodes like 'QQ' (= 'A') but is not its encoding.
    expect(verdictPkOf('Q')).toBeUndefined();
    expect(verdictId('A')).toBe('QQ');
    expect(verdictPkOf('QR')).toBeUndefined();
    // Bytes that are not UTF-8 decode to U+FFFD, whose id differs: refused.
    expect(verdictPkOf(Buffer.from([0xff, 0xfe]).toString('base64url'))).toBeUndefined();
  });

  it('rejects an id whose key is over the DynamoDB 2048-byte partition key limit', () => {
    // Such a key can be in no table: the id is not one verdictId made for a stored verdict, and
    // looking it up would only earn a ValidationException from DynamoDB.
    expect(verdictPkOf(verdictId('k'.repeat(2048)))).toBe('k'.repeat(2048));
    expect(verdictPkOf(verdictId('k'.repeat(2049)))).toBeUndefined();
    expect(verdictPkOf(verdictId('k'.repeat(4000)))).toBeUndefined();
  });
});
