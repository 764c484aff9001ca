/** Request bodies: strict JSON, then a schema; a refusal names the field as a client writes it. */

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldPath, parseJsonBody } from '#shared/api/body.ts';
import { ApiError } from '#shared/api/errors.ts';
import { nativeRequestSchema } from '#shared/api/native.ts';
import { perspectiveRequestSchema } from '#shared/api/perspective.ts';

function refusal(text: string, schema: z.ZodType = nativeRequestSchema): ApiError {
  try {
    parseJsonBody(text, schema);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('fieldPath', () => {
  it('writes array indices in brackets and keys with dots', () => {
    expect(fieldPath(['media', 0, 'data'])).toBe('media[0].data');
    expect(fieldPath(['input', 1, 'image_url', 'url'])).toBe('input[1].image_url.url');
    expect(fieldPath(['requestedAttributes', 'TOXICITY', 'scoreThreshold'])).toBe(
      'requestedAttributes.TOXICITY.scoreThreshold',
    );
    expect(fieldPath([0, 'text'])).toBe('[0].text');
    expect(fieldPath([])).toBe('');
  });
});

describe('parseJsonBody', () => {
  it('returns the parsed, schema-checked value', () => {
    expect(parseJsonBody('{"text":"hi","media":[{"data":"QQ=="}]}', nativeRequestSchema)).toEqual({
      text: 'hi',
      media: [{ data: 'QQ==' }],
    });
  });

  it('refuses a duplicate key with 400, naming the key', () => {
    const err = refusal('{"text":"harmless","text":"the one a lax parser keeps"}');
    expect(err.status).toBe(400);
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.message).toContain('"text"');
    expect(err.message).toMatch(/more than once/);
  });

  it('refuses a duplicate key nested inside an array', () => {
    const err = refusal('{"media":[{"data":"QQ==","data":"Qg=="}]}');
    expect(err.status).toBe(400);
    expect(err.message).toContain('"data"');
  });

  it('refuses malformed JSON and over-deep nesting with 400', () => {
    expect(refusal('{"text": "unterminated').status).toBe(400);
    expect(refusal('').status).toBe(400);
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    const err = refusal(deep, z.unknown());
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/deeper/);
  });

  it('names the field a schema refuses, as a path', () => {
    const err = refusal('{"media":[{"data":"QQ=="},{"data":7}]}');
    expect(err.status).toBe(400);
    expect(err.field).toBe('media[1].data');
    expect(err.message.startsWith('media[1].data:')).toBe(true);
  });

  it('refuses a body-level problem without naming a field', () => {
    const err = refusal('{}');
    expect(err.status).toBe(400);
    expect(err.field).toBeUndefined();
    expect(err.message).toContain('give text, media or both');
  });

  it('takes relaxed syntax (unquoted keys, single quotes) only when asked', () => {
    const relaxed =
      "{comment: {text: 'what kind of idiot name is foo?'}, requestedAttributes: {TOXICITY: {}}}";
    expect(refusal(relaxed, perspectiveRequestSchema).status).toBe(400);
    expect(parseJsonBody(relaxed, perspectiveRequestSchema, { relaxed: true })).toEqual({
      comment: { text: 'what kind of idiot name is foo?' },
      requestedAttributes: { TOXICITY: {} },
    });
  });

  it('still refuses a duplicate key and over-deep nesting in strict JSON when relaxed', () => {
    const dup = '{"comment":{"text":"a"},"comment":{"text":"b"},"requestedAttributes":{"TOXICITY":{}}}';
    expect(() => parseJsonBody(dup, perspectiveRequestSchema, { relaxed: true })).toThrow(/more than once/);
    expect(() => parseJsonBody(`${'['.repeat(40)}${']'.repeat(40)}`, z.unknown(), { relaxed: true })).toThrow(
      /deeper/,
    );
    expect(() => parseJsonBody('{comment: ', perspectiveRequestSchema, { relaxed: true })).toThrow(ApiError);
  });
});
