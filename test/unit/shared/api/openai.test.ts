/** OpenAI's moderation dialect over verdicts built here: what is scored is reported, nothing is invented. */
import { describe, expect, it } from 'vitest';
import {
  OPENAI_CATEGORIES,
  OPENAI_FROM_TAXONOMY,
  type OpenAiRequest,
  openAiItems,
  openAiRequestSchema,
  openAiResponse,
  openAiResult,
} from '#shared/api/openai.ts';
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Decision, ModalityResult, Verdict } from '#shared/domain/verdict.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { loadPolicy } from '#shared/policy/policy.ts';

const policy = loadPolicy('balanced');

function verdict(
  decision: Decision,
  categories: Partial<Record<Category, number>>,
  modalities: Record<string, ModalityResult> = {},
): Verdict {
  return {
    id: 'dmVyZGljdA',
    object: 'api://acme/abc',
    decision,
    score: Math.max(0, ...Object.values(categories)),
    categories,
    unscoredCategories: [],
    reasons: [],
    modalities,
    modelVersions: {},
    policyVersion: policy.version,
    timings: {},
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}
const channel = (scores: Record<string, number>): ModalityResult => ({ scores, evidence: [] });

const mapped = Object.entries(OPENAI_FROM_TAXONOMY) as [string, Category][];
const unmapped = OPENAI_CATEGORIES.filter((c) => OPENAI_FROM_TAXONOMY[c] === undefined);

describe('openAiItems', () => {
  const parse = (body: unknown): OpenAiRequest => openAiRequestSchema.parse(body);

  it('moderates a string as one item', () => {
    expect(openAiItems(parse({ input: 'hello' }))).toEqual([{ text: 'hello' }]);
  });

  it('moderates each string of an array as its own item, in order', () => {
    expect(openAiItems(parse({ input: ['a', 'b', 'c'] }))).toEqual([
      { text: 'a' },
      { text: 'b' },
      { text: 'c' },
    ]);
  });

  it('moderates an array of parts as one item (one post)', () => {
    const parts = [
      { type: 'text', text: 'caption' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,QQ==' } },
    ];
    expect(openAiItems(parse({ input: parts, model: 'omni-moderation-latest' }))).toEqual([{ parts }]);
  });

  it('refuses an empty array, a mixed array, unknown part types and unknown fields', () => {
    for (const body of [
      { input: [] },
      { input: ['a', { type: 'text', text: 'b' }] },
      { input: [{ type: 'audio', audio: {} }] },
      { input: 'a', user: 'u-1' },
      {},
    ]) {
      expect(openAiRequestSchema.safeParse(body).success).toBe(false);
    }
  });

  it('refuses more images than a post may carry', () => {
    const image = { type: 'image_url' as const, image_url: { url: 'data:,x' } };
    const parts = Array.from({ length: LIMITS.post.maxMedia + 1 }, () => image);
    expect(() => openAiItems({ input: parts })).toThrow(
      expect.objectContaining({ status: 400, field: 'input' }),
    );
    expect(openAiItems({ input: parts.slice(1) })).toHaveLength(1);
  });
});

describe('openAiResult', () => {
  it('reports every OpenAI category, the unscored ones false, with no input type and no score', () => {
    const result = openAiResult(
      verdict('allow', { harassment: 0.2 }, { text: channel({ harassment: 0.2 }) }),
      policy,
    );
    expect(Object.keys(result.categories).sort()).toEqual([...OPENAI_CATEGORIES].sort());
    expect(Object.keys(result.category_applied_input_types).sort()).toEqual([...OPENAI_CATEGORIES].sort());
    for (const name of unmapped) {
      expect(result.categories[name]).toBe(false);
      expect(result.category_applied_input_types[name]).toEqual([]);
      expect(name in result.category_scores).toBe(false);
    }
    // A mapped category the verdict has no score for is not scored either: not an invented 0.
    expect('hate' in result.category_scores).toBe(false);
    expect(result.categories.hate).toBe(false);
    expect(result.category_applied_input_types.hate).toEqual([]);
  });

  it("reports a mapped category's score from the verdict, flagged at the policy's review threshold", () => {
    for (const [theirs, ours] of mapped) {
      const review = policy.thresholds[ours]?.review;
      expect(review).toBeTypeOf('number');
      const below = openAiResult(verdict('allow', { [ours]: review! / 2 }), policy);
      expect(below.category_scores[theirs as keyof typeof below.category_scores]).toBe(review! / 2);
      expect(below.categories[theirs as keyof typeof below.categories]).toBe(false);
      const at = openAiResult(verdict('review', { [ours]: review! }), policy);
      expect(at.categories[theirs as keyof typeof at.categories]).toBe(true);
    }
  });

  it('flags the result exactly when the decision is review or block', () => {
    for (const decision of ['allow', 'review', 'block', 'error'] as const) {
      const result = openAiResult(verdict(decision, { hate: 0.01 }), policy);
      expect(result.flagged).toBe(decision === 'review' || decision === 'block');
      expect(result.decision).toBe(decision);
    }
  });

  it('reports input types from the channels that scored the category: text → text, image and ocr → image', () => {
    const v = verdict(
      'allow',
      { harassment: 0.3, sexual: 0.4, hate: 0.1 },
      {
        text: channel({ harassment: 0.3, hate: 0.1 }),
        ocr: channel({ harassment: 0.2 }),
        image: channel({ sexual: 0.4 }),
        speech: channel({ hate: 0.05 }),
      },
    );
    const result = openAiResult(v, policy);
    expect(result.category_applied_input_types.harassment).toEqual(['image', 'text']);
    expect(result.category_applied_input_types.sexual).toEqual(['image']);
    // Speech has no OpenAI input type.
    expect(result.category_applied_input_types.hate).toEqual(['text']);
    expect(result.category_applied_input_types.violence).toEqual([]);
  });

  it('never reports `offensive`, which has no OpenAI category', () => {
    const result = openAiResult(
      verdict('block', { offensive: 0.99 }, { text: channel({ offensive: 0.99 }) }),
      policy,
    );
    const json = JSON.stringify({ ...result, verdict_id: undefined });
    expect(json).not.toContain('offensive');
    expect(Object.values(result.category_scores)).toEqual([]);
    expect(Object.values(result.categories).every((f) => f === false)).toBe(true);
  });

  it('carries the verdict id when the verdict was stored, and none when it was not', () => {
    expect(openAiResult(verdict('allow', {}), policy).verdict_id).toBe('dmVyZGljdA');
    const { id: _id, ...unstored } = verdict('allow', {});
    expect(openAiResult(unstored, policy)).not.toHaveProperty('verdict_id');
  });
});

describe('openAiResponse', () => {
  it('has a fresh modr- id, the model name and the results in order', () => {
    const results = [openAiResult(verdict('allow', {}), policy), openAiResult(verdict('block', {}), policy)];
    const a = openAiResponse('moderation-pipeline/text-1', results);
    const b = openAiResponse('moderation-pipeline/text-1', results);
    expect(a.id).toMatch(/^modr-[0-9a-f]{32}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.model).toBe('moderation-pipeline/text-1');
    expect(a.results.map((r) => r.decision)).toEqual(['allow', 'block']);
  });
});
