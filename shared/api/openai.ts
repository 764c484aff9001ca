/**
 * OpenAI's moderation dialect, `POST /v1/moderations`: the request and response of
 * `client.moderations.create`, so a platform switches by changing its base URL. The mapping of
 * this project's taxonomy onto OpenAI's categories is in docs/API.md; a category nothing here
 * scores is reported as not flagged with no input types applied and no score, never an invented 0.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import type { Policy } from '#shared/policy/policy.ts';
import { ApiError } from './errors.ts';

export const OPENAI_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type OpenAiCategory = (typeof OPENAI_CATEGORIES)[number];

/**
 * Ours → theirs, where the meaning is the same. `offensive` (profanity, vulgarity) has no OpenAI
 * category and is not reported here; the sub-categories (threatening, graphic, minors, …) are not
 * scored by any model in this pipeline.
 */
export const OPENAI_FROM_TAXONOMY: Readonly<Partial<Record<OpenAiCategory, Category>>> = {
  harassment: 'harassment',
  hate: 'hate',
  sexual: 'sexual',
  violence: 'violence',
};

/** At most this many strings in one request (each is moderated as its own item). */
export const MAX_OPENAI_INPUTS = 32;

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string().describe('A data: URL, or an http(s) URL on the fetch allow-list.'),
  }),
});
export const openAiPartSchema = z.discriminatedUnion('type', [textPart, imagePart]);
export type OpenAiPart = z.infer<typeof openAiPartSchema>;

export const openAiRequestSchema = z.strictObject({
  input: z.union(
    [
      z.string(),
      z.array(z.string()).min(1).max(MAX_OPENAI_INPUTS),
      z
        .array(openAiPartSchema)
        .min(1)
        .max(LIMITS.post.maxMedia + 1),
    ],
    {
      error: `input must be a string, an array of 1 to ${MAX_OPENAI_INPUTS} strings, or an array of {type:"text"} / {type:"image_url"} parts`,
    },
  ),
  model: z.string().optional().describe('Accepted and ignored: the deployed model pack decides.'),
});
export type OpenAiRequest = z.infer<typeof openAiRequestSchema>;

/** The items to moderate: each string alone, or all parts together as one post (one result). */
export type OpenAiItem = { text: string } | { parts: OpenAiPart[] };

export function openAiItems(request: OpenAiRequest): OpenAiItem[] {
  const { input } = request;
  if (typeof input === 'string') return [{ text: input }];
  if (input.every((i): i is string => typeof i === 'string')) return input.map((text) => ({ text }));
  const parts = input as OpenAiPart[];
  if (parts.filter((p) => p.type === 'image_url').length > LIMITS.post.maxMedia)
    throw new ApiError(400, 'INVALID_REQUEST', `at most ${LIMITS.post.maxMedia} images per input`, 'input');
  return [{ parts }];
}

type InputType = 'text' | 'image';
/** Which input type each fusion channel's evidence comes from (speech has no OpenAI input type). */
const INPUT_TYPE_OF_CHANNEL: Readonly<Record<string, InputType>> = {
  text: 'text',
  image: 'image',
  ocr: 'image',
};

export interface OpenAiResult {
  flagged: boolean;
  categories: Record<OpenAiCategory, boolean>;
  category_scores: Partial<Record<OpenAiCategory, number>>;
  category_applied_input_types: Record<OpenAiCategory, InputType[]>;
  /** Extensions: this pipeline's verdict id (GET /v1/verdicts/{id}) and decision. */
  verdict_id?: string;
  decision: Verdict['decision'];
}

export function openAiResult(verdict: Verdict, policy: Policy): OpenAiResult {
  const categories = {} as Record<OpenAiCategory, boolean>;
  const scores: Partial<Record<OpenAiCategory, number>> = {};
  const applied = {} as Record<OpenAiCategory, InputType[]>;
  for (const name of OPENAI_CATEGORIES) {
    const ours = OPENAI_FROM_TAXONOMY[name];
    const score = ours === undefined ? undefined : verdict.categories[ours];
    const types = new Set<InputType>();
    if (ours !== undefined && score !== undefined) {
      for (const [channel, result] of Object.entries(verdict.modalities)) {
        const type = INPUT_TYPE_OF_CHANNEL[channel];
        if (type && result.scores[ours] !== undefined) types.add(type);
      }
    }
    applied[name] = [...types].sort();
    if (ours === undefined || score === undefined) {
      categories[name] = false;
      continue;
    }
    scores[name] = score;
    // Flagged as the policy would: at or over the category's review threshold.
    categories[name] = score >= (policy.thresholds[ours]?.review ?? Number.POSITIVE_INFINITY);
  }
  return {
    flagged: verdict.decision === 'review' || verdict.decision === 'block',
    categories,
    category_scores: scores,
    category_applied_input_types: applied,
    ...(verdict.id && { verdict_id: verdict.id }),
    decision: verdict.decision,
  };
}

export function openAiResponse(model: string, results: OpenAiResult[]) {
  return { id: `modr-${randomUUID().replaceAll('-', '')}`, model, results };
}
