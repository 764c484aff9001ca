/**
 * Perspective's dialect, `POST /v1alpha1/comments:analyze`: its request, response and errors, so a
 * team leaving Perspective (it shuts down at the end of 2026) changes only the base URL. Each
 * attribute is read from this pipeline's categories (docs/API.md has the table); an attribute none
 * of whose categories the text model scores is refused as Perspective refuses one it lacks.
 */
import { z } from 'zod';
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { TEXT_CHANNEL } from '#shared/modalities/text.ts';
import { ApiError } from './errors.ts';

/** Attribute → the categories whose highest score it reports. */
export const PERSPECTIVE_ATTRIBUTES: Readonly<Record<string, readonly Category[]>> = {
  TOXICITY: ['hate', 'harassment', 'offensive', 'violence', 'sexual'],
  SEVERE_TOXICITY: ['hate', 'harassment', 'violence'],
  IDENTITY_ATTACK: ['hate'],
  INSULT: ['harassment'],
  PROFANITY: ['offensive'],
  THREAT: ['violence'],
  SEXUALLY_EXPLICIT: ['sexual'],
};

/** The languages the text model was trained on. */
export const PERSPECTIVE_LANGUAGES: readonly string[] = ['en'];

const attributeSchema = z.strictObject({
  scoreType: z.literal('PROBABILITY').optional(),
  scoreThreshold: z.number().min(0).max(1).optional(),
});

export const perspectiveRequestSchema = z.strictObject({
  comment: z.strictObject({ text: z.string(), type: z.literal('PLAIN_TEXT').optional() }),
  requestedAttributes: z
    .record(z.string(), attributeSchema)
    .refine((a) => Object.keys(a).length > 0, 'request at least one attribute'),
  languages: z.array(z.string()).optional(),
  doNotStore: z.boolean().optional(),
  clientToken: z.string().optional(),
  spanAnnotations: z.boolean().optional(),
  sessionId: z.string().optional(),
  communityId: z.string().optional(),
  /** Accepted for compatibility and not used: the models score the comment alone. */
  context: z
    .strictObject({ entries: z.array(z.strictObject({ text: z.string(), type: z.string().optional() })) })
    .optional(),
});
export type PerspectiveRequest = z.infer<typeof perspectiveRequestSchema>;

const scored = (categories: readonly Category[]) =>
  categories.filter((c) => TEXT_CHANNEL.categories.includes(c));

/** Refuses, before any scoring, the attributes and languages this deployment cannot answer. */
export function checkPerspectiveRequest(request: PerspectiveRequest): void {
  const languages = request.languages ?? PERSPECTIVE_LANGUAGES;
  for (const name of Object.keys(request.requestedAttributes)) {
    const categories = Object.hasOwn(PERSPECTIVE_ATTRIBUTES, name) ? PERSPECTIVE_ATTRIBUTES[name] : undefined;
    if (!categories || scored(categories).length === 0)
      throw new ApiError(
        400,
        'UNSUPPORTED_ATTRIBUTE',
        `Unknown attribute: ${name}; this deployment supports ${supportedAttributes().join(', ')}`,
        `requestedAttributes.${name}`,
      );
    const unsupported = languages.filter(
      (l) => !PERSPECTIVE_LANGUAGES.includes(l.toLowerCase().split('-')[0] ?? ''),
    );
    if (unsupported.length > 0)
      throw new ApiError(
        400,
        'UNSUPPORTED_ATTRIBUTE',
        `Attribute ${name} does not support request languages: ${unsupported.join(',')}`,
        'languages',
      );
  }
}

export function supportedAttributes(): string[] {
  return Object.entries(PERSPECTIVE_ATTRIBUTES)
    .filter(([, categories]) => scored(categories).length > 0)
    .map(([name]) => name);
}

const probability = (value: number) => ({ value, type: 'PROBABILITY' as const });
const highest = (scores: Record<string, number | undefined>, categories: readonly Category[]) =>
  Math.max(0, ...categories.map((c) => scores[c]).filter((s): s is number => s !== undefined));

/**
 * An attribute's summary: its categories' highest score; when the models did not run (a deny-bank
 * match decided), the verdict's own certainty, not an invented 0.
 */
const summaryOf = (verdict: Verdict, categories: readonly Category[]) =>
  categories.some((c) => verdict.categories[c] !== undefined)
    ? highest(verdict.categories, categories)
    : verdict.score;

export function perspectiveResponse(request: PerspectiveRequest, verdict: Verdict) {
  const attributeScores: Record<string, unknown> = {};
  const windows = verdict.modalities.text?.evidence ?? [];
  for (const [name, options] of Object.entries(request.requestedAttributes)) {
    // checkPerspectiveRequest let only own, known attribute names through.
    const categories = scored(PERSPECTIVE_ATTRIBUTES[name] as readonly Category[]);
    const value = summaryOf(verdict, categories);
    // Perspective leaves out an attribute scored under the caller's threshold.
    if (options.scoreThreshold !== undefined && value < options.scoreThreshold) continue;
    attributeScores[name] = {
      ...(request.spanAnnotations && {
        spanScores: windows
          .filter((w) => w.range)
          .map((w) => ({
            begin: w.range?.[0],
            end: w.range?.[1],
            score: probability(highest(w.scores, categories)),
          })),
      }),
      summaryScore: probability(value),
    };
  }
  return {
    attributeScores,
    languages: request.languages ?? [...PERSPECTIVE_LANGUAGES],
    ...(request.clientToken !== undefined && { clientToken: request.clientToken }),
  };
}

const GRPC_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  503: 'UNAVAILABLE',
};

/** Google's error body (what Perspective's clients parse), with this pipeline's code as `reason`. */
export function perspectiveError(err: ApiError) {
  return {
    error: {
      code: err.status,
      message: err.message,
      status: GRPC_STATUS[err.status] ?? 'INTERNAL',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: err.code,
          domain: 'moderation-pipeline',
        },
      ],
    },
  };
}
