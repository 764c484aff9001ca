/**
 * A request's content as the pipeline's input: a bare text, one medium, or a post. A post is the
 * same manifest an S3 upload would carry (`{ "text", "media": [...] }`, shared/extract/post.ts),
 * its media the request's other parts, so a request is moderated exactly as the upload would be.
 */
import { LIMITS } from '#shared/ingest/limits.ts';
import type { Submission } from '#shared/moderation/moderate-content.ts';
import { ApiError } from './errors.ts';

/** Part names: what evidence `source` fields show for API verdicts. */
export const PART = {
  text: 'text',
  /** A raw request body, whatever it is. */
  body: 'body',
  post: 'post',
  media: (i: number) => `media/${i}`,
} as const;

const encoder = new TextEncoder();

/** Text, media or both → the submission; both (or several media) make a post. */
export function submissionOf(
  tenant: string,
  text: string | undefined,
  media: readonly Uint8Array[],
): Submission {
  if (media.length > LIMITS.post.maxMedia)
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `a request carries at most ${LIMITS.post.maxMedia} media; it has ${media.length}`,
      'media',
    );
  for (const [i, m] of media.entries()) {
    if (m.byteLength > LIMITS.maxObjectBytes)
      throw new ApiError(
        413,
        'TOO_LARGE',
        `medium ${i} is ${m.byteLength} bytes; the limit is ${LIMITS.maxObjectBytes}`,
        `media[${i}]`,
      );
  }
  const parts = new Map<string, Uint8Array>();
  if (media.length === 0) {
    parts.set(PART.text, encoder.encode(text ?? ''));
    // A JSON string is text, even one that reads like a post manifest or an SVG document.
    return { tenant, parts, key: PART.text, sniffed: { kind: 'text', mime: 'text/plain' } };
  }
  if (media.length === 1 && text === undefined) {
    parts.set(PART.media(0), media[0] as Uint8Array);
    return { tenant, parts, key: PART.media(0) };
  }
  const keys = media.map((m, i) => {
    parts.set(PART.media(i), m);
    return PART.media(i);
  });
  parts.set(PART.post, encoder.encode(JSON.stringify({ ...(text !== undefined && { text }), media: keys })));
  return { tenant, parts, key: PART.post };
}

/** A raw body: its kind is sniffed from its bytes, never taken from the Content-Type a client sent. */
export function rawSubmission(tenant: string, body: Uint8Array): Submission {
  if (body.byteLength > LIMITS.maxObjectBytes)
    throw new ApiError(
      413,
      'TOO_LARGE',
      `the body is ${body.byteLength} bytes; the limit is ${LIMITS.maxObjectBytes}`,
    );
  return { tenant, parts: new Map([[PART.body, body]]), key: PART.body };
}
