/**
 * The native dialect, `POST /v1/moderate`: JSON `{ text?, media?: [{ data, contentType? }] }` or a
 * raw body with its Content-Type; the answer is the verdict contract itself (docs/CONTRACTS.md).
 */
import { z } from 'zod';
import type { Submission } from '#shared/moderation/moderate-content.ts';
import { parseJsonBody } from './body.ts';
import { decodeBase64 } from './media.ts';
import { rawSubmission, submissionOf } from './submission.ts';

export const nativeRequestSchema = z
  .strictObject({
    text: z.string().optional().describe('Text to moderate; with media, the caption of a post.'),
    media: z
      .array(
        z.strictObject({
          data: z.string().describe('The medium, base64.'),
          contentType: z
            .string()
            .optional()
            .describe('Informational: the pipeline sniffs what the bytes really are.'),
        }),
      )
      .optional(),
  })
  .refine((r) => r.text !== undefined || (r.media?.length ?? 0) > 0, 'give text, media or both');

/** A JSON body, or a raw one whose kind (text or a medium) is sniffed from its bytes, as an upload's is. */
export function nativeSubmission(tenant: string, contentType: string, body: Uint8Array): Submission {
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime === 'application/json') {
    const request = parseJsonBody(new TextDecoder().decode(body), nativeRequestSchema);
    const media = (request.media ?? []).map((m, i) => decodeBase64(m.data, `media[${i}].data`));
    return submissionOf(tenant, request.text, media);
  }
  return rawSubmission(tenant, body);
}
