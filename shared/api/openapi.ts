/**
 * The OpenAPI 3.1 document of the API (served at /openapi.json, copied to docs/openapi.json by a
 * test): request schemas are the very zod schemas the routes parse with; response schemas are
 * zod too, and the API tests parse real responses with them, so the document cannot drift.
 */
import { z } from 'zod';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import { appealRequestSchema, decisionRequestSchema } from '#shared/review/routes.ts';
import { nativeRequestSchema } from './native.ts';
import { OPENAI_CATEGORIES, openAiRequestSchema } from './openai.ts';
import { PERSPECTIVE_ATTRIBUTES, perspectiveRequestSchema } from './perspective.ts';

const scores = z.record(z.string(), z.number());
const evidence = z.object({
  source: z.string(),
  excerpt: z.string().optional(),
  range: z.tuple([z.number(), z.number()]).optional(),
  timestampMs: z.number().optional(),
  timeRangeMs: z.tuple([z.number(), z.number()]).optional(),
  keyphrase: z.string().optional(),
  scores,
});

const review = z.object({
  decision: z.enum(['allow', 'block']),
  reviewer: z.string(),
  at: z.string(),
  reason: z.string(),
  labels: z.partialRecord(z.enum(CATEGORIES), z.boolean()).optional(),
  kind: z.enum(['review', 'appeal']),
  bank: z.string().optional(),
});

/** The verdict contract (docs/CONTRACTS.md), as the native route and GET /v1/verdicts/{id} return it. */
export const verdictSchema = z.object({
  id: z.string().optional(),
  object: z.string(),
  objectVersion: z.string().optional(),
  contentType: z.string().optional(),
  decision: z.enum(['allow', 'review', 'block', 'error']),
  score: z.number().min(0).max(1),
  categories: z.partialRecord(z.enum(CATEGORIES), z.number()),
  unscoredCategories: z.array(z.enum(CATEGORIES)),
  reasons: z.array(z.string()),
  modalities: z.record(z.string(), z.object({ scores, evidence: z.array(evidence) })),
  matches: z.array(z.record(z.string(), z.unknown())).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  modelVersions: z.record(z.string(), z.string()),
  policyVersion: z.string(),
  timings: scores,
  createdAt: z.string(),
  partial: z.boolean().optional(),
  inputs: z.object({ uri: z.string(), keep: z.enum(['text', 'all']), bytes: z.number() }).optional(),
  signals: z
    .array(
      z.object({
        signalType: z.string(),
        signal: z.string(),
        source: z.string(),
        timestampMs: z.number().optional(),
        quality: z.number().optional(),
      }),
    )
    .optional(),
  queue: z.enum(['review', 'appeal']).optional(),
  queuedAt: z.string().optional(),
  lease: z.object({ reviewer: z.string(), until: z.string() }).optional(),
  review: review.optional(),
  reviews: z.array(review).optional(),
  appeal: z.object({ reason: z.string(), at: z.string(), by: z.string() }).optional(),
  finalDecision: z.enum(['allow', 'review', 'block', 'error']).optional(),
});

const openAiCategory = z.enum(OPENAI_CATEGORIES);
export const openAiResponseSchema = z.object({
  id: z.string(),
  model: z.string(),
  results: z.array(
    z.object({
      flagged: z.boolean(),
      categories: z.record(openAiCategory, z.boolean()),
      category_scores: z.partialRecord(openAiCategory, z.number()),
      category_applied_input_types: z.record(openAiCategory, z.array(z.enum(['text', 'image']))),
      verdict_id: z.string().optional(),
      decision: z.enum(['allow', 'review', 'block', 'error']),
    }),
  ),
});

const probability = z.object({ value: z.number().min(0).max(1), type: z.literal('PROBABILITY') });
export const perspectiveResponseSchema = z.object({
  attributeScores: z.record(
    z.string(),
    z.object({
      summaryScore: probability,
      spanScores: z.array(z.object({ begin: z.number(), end: z.number(), score: probability })).optional(),
    }),
  ),
  languages: z.array(z.string()),
  clientToken: z.string().optional(),
});

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
  }),
});

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) },
});
const errors = Object.fromEntries(
  [
    [400, 'Malformed request, or content the pipeline cannot take (the error code says which)'],
    [401, 'Missing or unknown API key'],
    [413, 'Over a size, pixel, frame or duration limit'],
    [415, 'Not a type this pipeline moderates'],
    [422, 'Well-formed but undecodable content, or a URL that could not be fetched'],
    [429, 'Over the key’s rate limit (Retry-After says when to retry)'],
    [503, 'A dependency failed (Retry-After says when to retry)'],
  ].map(([status, description]) => [status, { description, content: json(errorSchema) }]),
);

let cached: unknown;

export function openApiDocument(): unknown {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Moderation pipeline API',
      version: '1.0.0',
      description:
        'One verdict across text, images, speech and video, in three dialects: native, OpenAI moderation, Perspective. docs/API.md.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        key: { type: 'apiKey', in: 'query', name: 'key' },
      },
    },
    security: [{ bearer: [] }, { key: [] }],
    paths: {
      '/v1/moderate': {
        post: {
          summary: 'Moderate text, media or a post; answers with the verdict contract',
          requestBody: {
            required: true,
            content: {
              ...json(nativeRequestSchema),
              'application/octet-stream': {
                schema: { type: 'string', contentMediaType: 'application/octet-stream' },
              },
            },
          },
          responses: { 200: { description: 'The verdict', content: json(verdictSchema) }, ...errors },
        },
      },
      '/v1/moderations': {
        post: {
          summary: 'OpenAI-compatible moderation (client.moderations.create)',
          requestBody: { required: true, content: json(openAiRequestSchema) },
          responses: {
            200: { description: 'OpenAI moderation response', content: json(openAiResponseSchema) },
            ...errors,
          },
        },
      },
      '/v1alpha1/comments:analyze': {
        post: {
          summary: `Perspective-compatible AnalyzeComment (attributes: ${Object.keys(PERSPECTIVE_ATTRIBUTES).join(', ')})`,
          requestBody: { required: true, content: json(perspectiveRequestSchema) },
          responses: {
            200: { description: 'Perspective response', content: json(perspectiveResponseSchema) },
            ...errors,
          },
        },
      },
      '/v1/verdicts/{id}': {
        get: {
          summary: 'A stored verdict by id (the caller’s tenant only)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'The verdict', content: json(verdictSchema) },
            404: { description: 'No such verdict for this tenant', content: json(errorSchema) },
            401: errors[401],
          },
        },
      },
      '/v1/review/queue': {
        get: {
          summary: 'Items waiting for a person, oldest first (reviewer keys; docs/REVIEW.md)',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            },
            {
              name: 'kind',
              in: 'query',
              schema: { type: 'string', enum: ['review', 'appeal'], default: 'review' },
            },
            { name: 'category', in: 'query', schema: { type: 'string', enum: [...CATEGORIES] } },
            { name: 'modality', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: '{ items: [verdict] }',
              content: json(z.object({ items: z.array(verdictSchema) })),
            },
            403: { description: 'Not a reviewer key', content: json(errorSchema) },
          },
        },
      },
      '/v1/review/items/{id}/claim': {
        post: {
          summary: 'A lease on the item (default 5 minutes) so no other reviewer decides it',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: '{ id, reviewer, leaseUntil }' },
            409: { description: 'Claimed by someone else, or already decided', content: json(errorSchema) },
          },
        },
      },
      '/v1/review/items/{id}/release': {
        post: {
          summary:
            'Give a claim back, so the item returns to the queue at once (the lease holder, or a lead)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: '{ id, released: true }' },
            409: {
              description: 'Not claimed, claimed by someone else, or already decided',
              content: json(errorSchema),
            },
          },
        },
      },
      '/v1/review/items/{id}/decision': {
        post: {
          summary: 'A person’s decision: the verdict gains review, reviews and finalDecision',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: json(decisionRequestSchema) },
          responses: {
            200: { description: 'The updated verdict', content: json(verdictSchema) },
            409: { description: 'Decided already, or claimed by someone else', content: json(errorSchema) },
          },
        },
      },
      '/v1/appeals': {
        post: {
          summary: 'Appeal a verdict of the caller’s tenant: it returns to the queue as kind=appeal',
          requestBody: { required: true, content: json(appealRequestSchema) },
          responses: {
            202: { description: 'The verdict, queued as an appeal', content: json(verdictSchema) },
            409: { description: 'Already waiting, or appealed before', content: json(errorSchema) },
          },
        },
      },
      '/health': {
        get: { summary: 'Liveness', security: [], responses: { 200: { description: 'ok' } } },
      },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } },
      },
    },
  };
  return cached;
}
