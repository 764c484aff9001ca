/**
 * A post: a JSON manifest `{ "text", "media": [...] }` whose caption and media (read from beside it
 * in the same bucket) are collected together, so they are fused into one verdict.
 */
import { ModerationError } from '#shared/domain/errors.ts';
import { parsePostManifest, resolveMediaKey } from '#shared/extract/post.ts';
import { decodeText } from '#shared/ingest/sniff.ts';
import { collectText, TEXT_CHANNEL } from './text.ts';
import { emptyCollected, type Modality, mergeCollected } from './types.ts';

export const POST_CONTENT_TYPE = 'application/vnd.moderation.post+json';

export const postModality: Modality = {
  name: 'post',
  kinds: ['post'],
  channels: [TEXT_CHANNEL],
  async collect(bytes, _sniffed, ctx) {
    const decoded = decodeText(bytes);
    const manifest = parsePostManifest(decoded.ok ? decoded.text : '');
    const out = emptyCollected(POST_CONTENT_TYPE);
    if (manifest.text?.trim())
      mergeCollected(out, collectText(manifest.text, `${ctx.source}#text`, POST_CONTENT_TYPE));
    const keys = manifest.media.map((ref) => resolveMediaKey(ctx.key, ref));
    const media = await Promise.all(keys.map((key) => ctx.collectObject(key)));
    for (const m of media) mergeCollected(out, m);
    return out;
  },
};

/** Posts do not nest: a post's medium that is itself a post is an invalid manifest. */
export function nestedPostError(key: string): ModerationError {
  return new ModerationError('INVALID_MANIFEST', `post media ${key} is itself a post; posts do not nest`);
}
