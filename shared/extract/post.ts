import { posix } from 'node:path';
import { z } from 'zod';
import { ModerationError } from '#shared/domain/errors.ts';
import { LIMITS, type PostLimits } from '#shared/ingest/limits.ts';

/** A post: one caption and the media it shows, moderated together into one verdict. */
export interface PostManifest {
  text?: string;
  media: string[];
}

const manifestSchema = z.object({
  text: z.string().max(LIMITS.post.maxCaptionChars).optional(),
  media: z.array(z.string().min(1).max(1024)).max(LIMITS.post.maxMedia).default([]),
});

/** Deepest `{`/`[` nesting, counted without parsing, so a hostile manifest can't exhaust the parser. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

export function parsePostManifest(text: string, limits: PostLimits = LIMITS.post): PostManifest {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `post manifest is over the ${limits.maxBytes}-byte limit`);
  }
  if (jsonDepth(text) > limits.maxDepth) {
    throw new ModerationError(
      'INVALID_MANIFEST',
      `post manifest nests deeper than ${limits.maxDepth} levels`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModerationError('INVALID_MANIFEST', 'post manifest is not valid JSON', { cause });
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
