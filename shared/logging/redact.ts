/**
 * What may reach the logs. Uploads are user content and their keys are user-chosen names (often a
 * person's name, an e-mail address, a file title), so logs carry neither: an object is named by a
 * stable pseudonym, content-bearing fields are replaced by their length, and errors by their name
 * and code (messages can quote a manifest's media references or an object key).
 */
import { createHash } from 'node:crypto';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';

/**
 * A stable pseudonym for an object version in logs: `obj_` + the first 16 hex digits of the SHA-256
 * of its verdict key. Whoever holds the key (the verdicts table, the uploader) can compute it and find
 * the log lines; the logs alone do not reveal it.
 */
export function objectId(ref: ObjectRef): string {
  return pseudonym(verdictKey(ref));
}

/** `obj_` + the first 16 hex digits of the SHA-256 of a string (a key, a URI, a verdict key). */
export function pseudonym(value: string): string {
  return `obj_${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** Field names whose values are (or quote) upload content: text, OCR, transcripts, captions, bodies. */
export const CONTENT_FIELDS: ReadonlySet<string> = new Set([
  'text',
  'excerpt',
  'caption',
  'transcript',
  'ocrText',
  'body',
  'Body',
  'content',
  'evidence',
]);

/** Field names whose values are object keys or URIs: pseudonymised. */
const KEY_FIELDS: ReadonlySet<string> = new Set(['key', 'object', 'source', 'uri', 'verdictKey', 'pk']);

const placeholder = (value: unknown): string =>
  typeof value === 'string' ? `[redacted ${value.length} chars]` : '[redacted]';

/**
 * A JSON.stringify replacer (Powertools Logger's `jsonReplacerFn`): the last line of defence, so a
 * log call that hands over a verdict or an evidence item anyway prints no content.
 */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (CONTENT_FIELDS.has(key)) return placeholder(value);
  return value;
}

/**
 * Returns a copy that is safe to log: content fields replaced by their length, key fields by their
 * `pseudonym`, errors by `describeError`, at any depth. Cycles are cut.
 */
export function redact<T>(value: T): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, field: string | undefined): unknown => {
    if (field !== undefined && CONTENT_FIELDS.has(field) && v !== undefined && v !== null) {
      return placeholder(v);
    }
    if (field !== undefined && KEY_FIELDS.has(field) && typeof v === 'string') return pseudonym(v);
    if (v instanceof Error) return describeError(v);
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[cycle]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, field));
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
  };
  return walk(value, undefined);
}

/** An error, as logs may show it: its class, its stable code and whether it is retried; no message. */
export function describeError(err: unknown): { name: string; code?: string; retryable?: boolean } {
  if (typeof err !== 'object' || err === null) return { name: typeof err };
  const e = err as { name?: unknown; code?: unknown; retryable?: unknown; $retryable?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
  };
}
