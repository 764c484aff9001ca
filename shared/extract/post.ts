import { posix } from 'node:path';
import { z } from 'zod';
import { ModerationError } from '#shared/domain/errors.ts';
import { LIMITS, type PostLimits } from '#shared/ingest/limits.ts';
import { POST_MANIFEST_KEYS } from '#shared/ingest/sniff.ts';
import { JsonReadError, parseStrictJson } from '#shared/ingest/strict-json.ts';

/** A post: one caption and the media it shows, moderated together into one verdict. */
export interface PostManifest {
  text?: string;
  media: string[];
}

// Strict: a member the pipeline ignored would be content nobody moderated (parsePostManifest names it first).
const manifestSchema = z.strictObject({
  text: z.string().max(LIMITS.post.maxCaptionChars).optional(),
  media: z.array(z.string().min(1).max(1024)).max(LIMITS.post.maxMedia).default([]),
});

/**
 * Reads a post manifest: bounded (bytes, then nesting while parsing), strict JSON with keys compared
 * after decoding, and a duplicate key refused with its name, since JSON readers disagree on which
 * of two values they keep (JSON.parse the last, others the first), and the post must mean what every
 * client shows.
 */
export function parsePostManifest(text: string, limits: PostLimits = LIMITS.post): PostManifest {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `post manifest is over the ${limits.maxBytes}-byte limit`);
  }
  let json: unknown;
  try {
    json = parseStrictJson(text, { maxDepth: limits.maxDepth });
  } catch (cause) {
    if (!(cause instanceof JsonReadError)) throw cause;
    const why =
      cause.kind === 'duplicate-key'
        ? `has the key ${JSON.stringify(cause.key)} more than once (clients disagree on which value they show)`
        : cause.kind === 'depth'
          ? `nests deeper than ${limits.maxDepth} levels`
          : `is not valid JSON: ${cause.message}`;
    throw new ModerationError('INVALID_MANIFEST', `post manifest ${why}`, { cause });
  }
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const unknown = Object.keys(json).find((k) => !POST_MANIFEST_KEYS.includes(k));
    if (unknown !== undefined) {
      throw new ModerationError(
        'INVALID_MANIFEST',
        `post manifest has the key ${JSON.stringify(unknown)}; a manifest has only ${POST_MANIFEST_KEYS.map((k) => `"${k}"`).join(' and ')}`,
      );
    }
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModerationError(
      'INVALID_MANIFEST',
      `post manifest is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  if (!parsed.data.text?.trim() && parsed.data.media.length === 0) {
    throw new ModerationError('INVALID_MANIFEST', 'post manifest has neither text nor media');
  }
  return parsed.data;
}

/**
 * Resolves a post's media reference to an object key in the same bucket. References are relative
 * to the post's own folder and may not leave it: no URLs (the pipeline never fetches from the
 * internet), no absolute keys, no `..`.
 */
export function resolveMediaKey(postKey: string, ref: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('//')) {
    throw new ModerationError(
      'MEDIA_OUTSIDE_PREFIX',
      `media reference ${JSON.stringify(ref)} is a URL; only keys beside the post are allowed`,
    );
  }
  if (ref.startsWith('/') || ref.includes('\\') || ref.includes('\0') || ref.split('/').includes('..')) {
    throw new ModerationError(
      'MEDIA_OUTSIDE_PREFIX',
      `media reference ${JSON.stringify(ref)} leaves the post's folder`,
    );
  }
  const folder = posix.dirname(postKey);
  const key = posix.normalize(folder === '.' ? ref : `${folder}/${ref}`);
  if (folder !== '.' && !key.startsWith(`${folder}/`)) {
    throw new ModerationError(
      'MEDIA_OUTSIDE_PREFIX',
      `media reference ${JSON.stringify(ref)} leaves the post's folder`,
    );
  }
  return key;
}
