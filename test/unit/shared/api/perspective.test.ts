/** Perspective's dialect over verdicts built here: attributes read from categories, Google's errors. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/api/errors.ts';
import {
  checkPerspectiveRequest,
  PERSPECTIVE_ATTRIBUTES,
  type PerspectiveRequest,
  perspectiveError,
  perspectiveRequestSchema,
  perspectiveResponse,
  supportedAttributes,
} from '#shared/api/perspective.ts';
import type { Category } from '#shared/domain/taxonomy.ts';
import type { Evidence, Verdict } from '#shared/domain/verdict.ts';
import { TEXT_CHANNEL } from '#shared/modalities/text.ts';

const textScored = (c: Category) => TEXT_CHANNEL.categories.includes(c);
const SUPPORTED = Object.keys(PERSPECTIVE_ATTRIBUTES).filter((a) =>
  PERSPECTIVE_ATTRIBUTES[a]!.some(textScored),
);
const UNSUPPORTED = Object.keys(PERSPECTIVE_ATTRIBUTES).filter(
  (a) => !PERSPECTIVE_ATTRIBUTES[a]!.some(textScored),
);

function verdict(categories: Partial<Record<Category, number>>, evidence: Evidence[] = []): Verdict {
  return {
    object: 'api://acme/abc',
    decision: 'allow',
    score: 0,
    categories,
    unscoredCategories: [],
    reasons: [],
    modalities: { text: { scores: categories as Record<string, number>, evidence } },
    modelVersions: {},
    policyVersion: 'balanced-test',
    timings: {},
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

const request = (attributes: string[], extra: Partial<PerspectiveRequest> = {}): PerspectiveRequest =>
  perspectiveRequestSchema.parse({
    comment: { text: 'what kind of idiot name is foo?' },
    requestedAttributes: Object.fromEntries(attributes.map((a) => [a, {}])),
    ...extra,
  });

function refusal(req: PerspectiveRequest): ApiError {
  try {
    checkPerspectiveRequest(req);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error(`expected ${JSON.stringify(req.requestedAttributes)} to be refused`);
}

describe('attribute mapping', () => {
  // Every category at a distinct score, so each attribute shows which categories it read.
  const scores: Record<Category, number> = {
    sexual: 0.11,
    hate: 0.22,
    harassment: 0.33,
    violence: 0.44,
    offensive: 0.55,
  };
  const scoredOnly = Object.fromEntries(Object.entries(scores).filter(([c]) => textScored(c as Category)));
  const value = (attr: string, categories: Partial<Record<Category, number>> = scoredOnly) =>
    (
      perspectiveResponse(request([attr]), verdict(categories)).attributeScores[attr] as {
        summaryScore: { value: number };
      }
    ).summaryScore.value;

  it('reads INSULT from harassment, PROFANITY from offensive, IDENTITY_ATTACK from hate', () => {
    expect(value('INSULT')).toBe(scores.harassment);
    expect(value('PROFANITY')).toBe(scores.offensive);
    expect(value('IDENTITY_ATTACK')).toBe(scores.hate);
  });

  it('reports TOXICITY as the highest of its text-scored categories', () => {
    const expected = Math.max(...PERSPECTIVE_ATTRIBUTES.TOXICITY!.filter(textScored).map((c) => scores[c]));
    expect(value('TOXICITY')).toBe(expected);
    expect(value('TOXICITY', { hate: 0.9, harassment: 0.1, offensive: 0.2 })).toBe(0.9);
    expect(value('TOXICITY', { hate: 0.1, harassment: 0.1, offensive: 0.7 })).toBe(0.7);
  });

  it('answers each requested attribute as a PROBABILITY summary score, and only those', () => {
    const res = perspectiveResponse(request(['INSULT', 'PROFANITY']), verdict(scoredOnly));
    expect(Object.keys(res.attributeScores).sort()).toEqual(['INSULT', 'PROFANITY']);
    expect(res.attributeScores.INSULT).toEqual({
      summaryScore: { value: scores.harassment, type: 'PROBABILITY' },
    });
    expect(res.languages).toEqual(['en']);
    expect(res).not.toHaveProperty('clientToken');
  });

  it('leaves out an attribute scored under its scoreThreshold', () => {
    const req = perspectiveRequestSchema.parse({
      comment: { text: 'x' },
      requestedAttributes: {
        INSULT: { scoreThreshold: 0.5 },
        PROFANITY: { scoreThreshold: 0.5 },
        IDENTITY_ATTACK: {},
      },
    });
    const res = perspectiveResponse(req, verdict({ harassment: 0.49, offensive: 0.5, hate: 0.01 }));
    expect(Object.keys(res.attributeScores).sort()).toEqual(['IDENTITY_ATTACK', 'PROFANITY']);
  });

  it('gives span scores, per text window, only when spanAnnotations is set', () => {
    const evidence: Evidence[] = [
      { source: 'text', excerpt: 'what kind of', range: [0, 12], scores: { harassment: 0.1, hate: 0.05 } },
      { source: 'text', excerpt: 'idiot name', range: [13, 23], scores: { harassment: 0.8, hate: 0.2 } },
      { source: 'text', scores: { harassment: 0.99 } },
    ];
    const v = verdict({ harassment: 0.8, hate: 0.2 }, evidence);
    const without = perspectiveResponse(request(['INSULT']), v);
    expect(without.attributeScores.INSULT).not.toHaveProperty('spanScores');
    const withSpans = perspectiveResponse(request(['INSULT'], { spanAnnotations: true }), v);
    expect((withSpans.attributeScores.INSULT as { spanScores: unknown }).spanScores).toEqual([
      { begin: 0, end: 12, score: { value: 0.1, type: 'PROBABILITY' } },
      { begin: 13, end: 23, score: { value: 0.8, type: 'PROBABILITY' } },
    ]);
  });

  it('echoes clientToken and the requested languages', () => {
    const res = perspectiveResponse(
      request(['INSULT'], { clientToken: 'tok-42', languages: ['en-US'] }),
      verdict({}),
    );
    expect(res.clientToken).toBe('tok-42');
    expect(res.languages).toEqual(['en-US']);
  });
});

describe('checkPerspectiveRequest', () => {
  it('accepts every attribute some category of which the text channel scores', () => {
    expect(SUPPORTED.length).toBeGreaterThan(0);
    expect(supportedAttributes().sort()).toEqual([...SUPPORTED].sort());
    expect(() => checkPerspectiveRequest(request(SUPPORTED))).not.toThrow();
    expect(() => checkPerspectiveRequest(request(SUPPORTED, { languages: ['en', 'EN-gb'] }))).not.toThrow();
  });

  it('refuses an unknown attribute with 400 UNSUPPORTED_ATTRIBUTE naming it', () => {
    const err = refusal(request(['TOXICITY', 'FLIRTATION']));
    expect(err).toMatchObject({
      status: 400,
      code: 'UNSUPPORTED_ATTRIBUTE',
      field: 'requestedAttributes.FLIRTATION',
    });
    expect(err.message).toContain('FLIRTATION');
  });

  it('refuses an attribute name that is only an Object.prototype member, as unknown', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      expect(refusal(request([name]))).toMatchObject({ status: 400, code: 'UNSUPPORTED_ATTRIBUTE' });
    }
  });

  it('refuses an attribute none of whose categories the text channel scores', () => {
    for (const name of UNSUPPORTED) {
      expect(refusal(request([name]))).toMatchObject({
        status: 400,
        code: 'UNSUPPORTED_ATTRIBUTE',
        field: `requestedAttributes.${name}`,
      });
    }
  });

  it('refuses a language the text model was not trained on', () => {
    const err = refusal(request(['TOXICITY'], { languages: ['en', 'de'] }));
    expect(err).toMatchObject({ status: 400, code: 'UNSUPPORTED_ATTRIBUTE', field: 'languages' });
    expect(err.message).toContain('de');
  });
});

describe('perspectiveError', () => {
  it("is Google's error shape: numeric code, message, gRPC status, ErrorInfo with our code", () => {
    const body = perspectiveError(
      new ApiError(400, 'UNSUPPORTED_ATTRIBUTE', 'Unknown attribute: X', 'requestedAttributes.X'),
    );
    expect(body).toEqual({
      error: {
        code: 400,
        message: 'Unknown attribute: X',
        status: 'INVALID_ARGUMENT',
        details: [
          expect.objectContaining({
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'UNSUPPORTED_ATTRIBUTE',
          }),
        ],
      },
    });
  });

  it('maps statuses to gRPC status names, INTERNAL for the rest', () => {
    const status = (s: number) => perspectiveError(new ApiError(s, 'INTERNAL', 'm')).error.status;
    expect(status(401)).toBe('UNAUTHENTICATED');
    expect(status(404)).toBe('NOT_FOUND');
    expect(status(429)).toBe('RESOURCE_EXHAUSTED');
    expect(status(503)).toBe('UNAVAILABLE');
    expect(status(500)).toBe('INTERNAL');
  });
});
