/**
 * Media in a request: base64 fields, `data:` URLs, and http(s) URLs. A remote URL is fetched only
 * when its host is on the operator's allow-list (anything else is an SSRF hole: the function would
 * fetch internal addresses for whoever asks), never through a redirect, within a size and time limit.
 */
import { LIMITS } from '#shared/ingest/limits.ts';
import { ApiError } from './errors.ts';

export interface FetchPolicy {
  /** `host` or `host:port` entries, lower case; empty = no remote URL is fetched. */
  allowedHosts: ReadonlySet<string>;
  maxBytes: number;
  timeoutMs: number;
}

export const NO_FETCH: FetchPolicy = { allowedHosts: new Set(), maxBytes: 0, timeoutMs: 0 };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function tooLarge(field: string, bytes: number, limit = LIMITS.maxObjectBytes): ApiError {
  return new ApiError(413, 'TOO_LARGE', `${field} is ${bytes} bytes; the limit is ${limit}`, field);
}

/** Strict base64 (standard or URL-safe alphabet, whitespace ignored): a stray character is an error, not silently dropped. */
export function decodeBase64(data: string, field: string): Uint8Array {
  const compact = data.replace(/\s+/g, '');
  if (!(BASE64.test(compact) || BASE64URL.test(compact)) || compact.length % 4 === 1)
    throw new ApiError(400, 'INVALID_REQUEST', `${field} is not valid base64`, field);
  // Checked before decoding: base64 is 4/3 of the bytes it holds.
  const approx = Math.floor((compact.length * 3) / 4);
  if (approx > LIMITS.maxObjectBytes) throw tooLarge(field, approx);
  return new Uint8Array(Buffer.from(compact, BASE64.test(compact) ? 'base64' : 'base64url'));
}

/** The bytes of a `data:` URL (RFC 2397): base64 or percent-encoded. */
export function decodeDataUrl(url: string, field: string): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw new ApiError(400, 'INVALID_REQUEST', `${field} is a data: URL without a comma`, field);
  const meta = url.slice('data:'.length, comma);
  const payload = url.slice(comma + 1);
  if (/;base64$/i.test(meta)) return decodeBase64(payload, field);
  // RFC 2397: each %XX is the byte XX (not a UTF-8 sequence to decode); other characters are UTF-8.
  const out: number[] = [];
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === '%') {
      const hex = payload.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex))
        throw new ApiError(400, 'INVALID_REQUEST', `${field} has invalid percent-encoding`, field);
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      const cp = payload.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(cp);
      out.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
    if (out.length > LIMITS.maxObjectBytes) throw tooLarge(field, out.length);
  }
  const bytes = new Uint8Array(out);
  if (bytes.byteLength > LIMITS.maxObjectBytes) throw tooLarge(field, bytes.byteLength);
  return bytes;
}

/** Reads at most `maxBytes` of a response body, refusing (413) as soon as it goes over. */
async function readCapped(res: Response, maxBytes: number, field: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(field, declared, maxBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge(field, total, maxBytes);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The bytes an image URL names: a `data:` URL, or an http(s) URL on the allow-list. */
export async function resolveMediaUrl(url: string, field: string, policy: FetchPolicy): Promise<Uint8Array> {
  if (/^data:/i.test(url)) return decodeDataUrl(url, field);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError(400, 'INVALID_REQUEST', `${field} is not a URL`, field);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ApiError(400, 'URL_NOT_ALLOWED', `${field}: only data: and http(s) URLs are accepted`, field);
  if (!policy.allowedHosts.has(parsed.host.toLowerCase()))
    throw new ApiError(
      400,
      'URL_NOT_ALLOWED',
      `${field}: ${parsed.host} is not on the fetch allow-list (API_FETCH_ALLOWED_HOSTS); send the image as a data: URL`,
      field,
    );
  let res: Response;
  try {
    res = await fetch(parsed, {
      // A redirect could lead anywhere, including off the allow-list.
      redirect: 'error',
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new ApiError(
      422,
      'FETCH_FAILED',
      timedOut
        ? `${field}: ${parsed.host} did not answer within ${policy.timeoutMs} ms`
        : `${field}: fetching from ${parsed.host} failed (${(err as Error).message})`,
      field,
    );
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ApiError(422, 'FETCH_FAILED', `${field}: ${parsed.host} answered ${res.status}`, field);
  }
  try {
    return await readCapped(res, Math.min(policy.maxBytes, LIMITS.maxObjectBytes), field);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(422, 'FETCH_FAILED', `${field}: reading from ${parsed.host} failed`, field);
  }
}
