/**
 * Media in requests: strict base64, data: URLs, and remote URLs fetched only from allow-listed
 * hosts, never through a redirect, within a size and time limit (a real local HTTP server).
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/api/errors.ts';
import {
  decodeBase64,
  decodeDataUrl,
  type FetchPolicy,
  NO_FETCH,
  resolveMediaUrl,
} from '#shared/api/media.ts';

/** The ApiError `run` throws (synchronously or as a rejection). */
async function apiErrorOf(run: () => unknown): Promise<ApiError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError, got none');
}

const NOT_BASE64 = [...'!"#$%&\'()*,.:;<>?@[\\]^`{|}~'];

describe('decodeBase64', () => {
  it('agrees with Buffer on any valid standard or URL-safe base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expect(Buffer.from(decodeBase64(buf.toString('base64'), 'f'))).toEqual(buf);
        expect(Buffer.from(decodeBase64(buf.toString('base64url'), 'f'))).toEqual(buf);
      }),
    );
  });

  it('ignores whitespace (line-wrapped base64, as MIME writes it)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (bytes, at) => {
        const encoded = Buffer.from(bytes).toString('base64');
        const i = at % encoded.length;
        const wrapped = `${encoded.slice(0, i)}\r\n ${encoded.slice(i)}`;
        expect(Buffer.from(decodeBase64(wrapped, 'f'))).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('refuses a stray character anywhere, where Buffer would silently drop it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.constantFrom(...NOT_BASE64),
        (bytes, at, stray) => {
          const encoded = Buffer.from(bytes).toString('base64');
          const i = at % (encoded.length + 1);
          const bad = `${encoded.slice(0, i)}${stray}${encoded.slice(i)}`;
          expect(() => decodeBase64(bad, 'media[0].data')).toThrow(ApiError);
        },
      ),
    );
  });

  it('refuses mixed alphabets, padding in the middle and an impossible length, naming the field', async () => {
    for (const bad of ['ab+_', 'QQ==QQ==', 'QUJD=RA', 'Q', 'QUJDR']) {
      const err = await apiErrorOf(() => decodeBase64(bad, 'media[3].data'));
      expect(err.status).toBe(400);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.field).toBe('media[3].data');
      expect(err.message).toContain('media[3].data');
    }
  });
});

describe('decodeDataUrl', () => {
  it('decodes a base64 data: URL, whatever its media type says', () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    expect(Buffer.from(decodeDataUrl(`data:image/png;base64,${bytes.toString('base64')}`, 'f'))).toEqual(
      bytes,
    );
    expect(Buffer.from(decodeDataUrl(`data:;BASE64,${bytes.toString('base64')}`, 'f'))).toEqual(bytes);
  });

  it('decodes a percent-encoded data: URL', () => {
    expect(Buffer.from(decodeDataUrl('data:,hello%20world', 'f')).toString('latin1')).toBe('hello world');
    expect(Buffer.from(decodeDataUrl('data:text/plain;charset=US-ASCII,a%2Cb,c', 'f')).toString()).toBe(
      'a,b,c',
    );
  });

  it('percent-decodes to the octets written (RFC 2397 / RFC 3986), not to re-encoded characters', () => {
    // %C3%A9 is the UTF-8 of "é": two octets, C3 A9.
    expect([...decodeDataUrl('data:text/plain;charset=utf-8,caf%C3%A9', 'f')]).toEqual([
      0x63, 0x61, 0x66, 0xc3, 0xa9,
    ]);
    // A lone octet that is not UTF-8 is still an octet.
    expect([...decodeDataUrl('data:application/octet-stream,%FF%00', 'f')]).toEqual([0xff, 0x00]);
  });

  it('refuses a data: URL without a comma, or with bad base64', async () => {
    const noComma = await apiErrorOf(() => decodeDataUrl('data:image/png;base64', 'input[0].image_url.url'));
    expect(noComma.status).toBe(400);
    expect(noComma.field).toBe('input[0].image_url.url');
    const bad = await apiErrorOf(() => decodeDataUrl('data:image/png;base64,ab!c', 'f'));
    expect(bad.code).toBe('INVALID_REQUEST');
  });
});

type Route = (res: ServerResponse) => void;
const routes: Record<string, Route> = {
  '/image.png': (res) => res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('0123456789')),
  '/big-declared': (res) => res.writeHead(200, { 'content-length': '100' }).end(Buffer.alloc(100, 1)),
  '/big-chunked': (res) => {
    // No content-length: the size is only known while reading.
    res.writeHead(200);
    res.write(Buffer.alloc(60, 1));
    setTimeout(() => res.end(Buffer.alloc(60, 2)), 10);
  },
  '/missing': (res) => res.writeHead(404).end('not here'),
  '/redirect': (res) => res.writeHead(302, { location: '/image.png' }).end(),
  '/hang': () => undefined,
};

let server: Server;
let base: string;
let policy: FetchPolicy;
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) route(res);
    else res.writeHead(500).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  policy = { allowedHosts: new Set([`127.0.0.1:${port}`]), maxBytes: 64, timeoutMs: 300 };
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

describe('resolveMediaUrl', () => {
  it('decodes data: URLs without any fetch policy', async () => {
    const url = `data:image/png;base64,${Buffer.from('png!').toString('base64')}`;
    expect(Buffer.from(await resolveMediaUrl(url, 'f', NO_FETCH)).toString()).toBe('png!');
  });

  it('refuses a host that is not on the allow-list, without contacting it', async () => {
    const before = requested.length;
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'https://example.com/a.png',
      // Same address, another port: the allow-list names host:port.
      `${base.replace(/:\d+$/, ':1')}/image.png`,
      `http://localhost:${new URL(base).port}/image.png`,
      // Userinfo does not make a host allowed.
      `http://127.0.0.1:${new URL(base).port}@evil.example/image.png`,
    ]) {
      const err = await apiErrorOf(() => resolveMediaUrl(url, 'input[1].image_url.url', policy));
      expect(err.status).toBe(400);
      expect(err.code).toBe('URL_NOT_ALLOWED');
      expect(err.field).toBe('input[1].image_url.url');
    }
    const noList = await apiErrorOf(() => resolveMediaUrl(`${base}/image.png`, 'f', NO_FETCH));
    expect(noList.code).toBe('URL_NOT_ALLOWED');
    expect(requested.length).toBe(before);
  });

  it('refuses schemes other than data: and http(s), even for an allowed host', async () => {
    const host = new URL(base).host;
    for (const url of [
      `file:///etc/passwd`,
      `ftp://${host}/x.png`,
      `gopher://${host}/`,
      'javascript:alert(1)',
    ]) {
      const err = await apiErrorOf(() => resolveMediaUrl(url, 'f', policy));
      expect(err.status).toBe(400);
      expect(err.code).toBe('URL_NOT_ALLOWED');
    }
  });

  it('refuses what is not a URL at all', async () => {
    const err = await apiErrorOf(() => resolveMediaUrl('not a url', 'f', policy));
    expect(err.status).toBe(400);
    expect(err.code).toBe('INVALID_REQUEST');
  });

  it('fetches the bytes from an allow-listed host', async () => {
    expect(Buffer.from(await resolveMediaUrl(`${base}/image.png`, 'f', policy)).toString()).toBe(
      '0123456789',
    );
  });

  it('refuses a body over maxBytes with 413, declared or not', async () => {
    for (const path of ['/big-declared', '/big-chunked']) {
      const err = await apiErrorOf(() => resolveMediaUrl(`${base}${path}`, 'input[0].image_url.url', policy));
      expect(err.status).toBe(413);
      expect(err.code).toBe('TOO_LARGE');
      expect(err.field).toBe('input[0].image_url.url');
    }
  });

  it('answers 422 FETCH_FAILED when the host answers with an error status', async () => {
    const err = await apiErrorOf(() => resolveMediaUrl(`${base}/missing`, 'f', policy));
    expect(err.status).toBe(422);
    expect(err.code).toBe('FETCH_FAILED');
    expect(err.message).toContain('404');
  });

  it('never follows a redirect', async () => {
    const before = requested.length;
    const err = await apiErrorOf(() => resolveMediaUrl(`${base}/redirect`, 'f', policy));
    expect(err.status).toBe(422);
    expect(err.code).toBe('FETCH_FAILED');
    expect(requested.slice(before)).toEqual(['/redirect']);
  });

  it('gives up on a host that does not answer within timeoutMs', async () => {
    const started = performance.now();
    const err = await apiErrorOf(() => resolveMediaUrl(`${base}/hang`, 'f', { ...policy, timeoutMs: 150 }));
    expect(err.status).toBe(422);
    expect(err.code).toBe('FETCH_FAILED');
    expect(err.message).toContain('150 ms');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
