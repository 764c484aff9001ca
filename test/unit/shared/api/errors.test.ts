/** Every failure as the HTTP answer a client's retry policy can act on. */
import { describe, expect, it } from 'vitest';
import { ApiError, RETRY_AFTER_SECONDS, STATUS_OF, toApiError } from '#shared/api/errors.ts';
import { ERROR_CODES, type ErrorCode, ModerationError, RetryableError } from '#shared/domain/errors.ts';
import { InferenceUnavailableError, InferenceValidationError } from '#shared/inference/client.ts';

describe('STATUS_OF', () => {
  it('gives every moderation error code an HTTP status, and nothing else', () => {
    expect(Object.keys(STATUS_OF).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const status of Object.values(STATUS_OF)) expect([400, 413, 415, 422, 500, 503]).toContain(status);
  });

  it('answers limits with 413, foreign types with 415 and undecodable content with 422', () => {
    expect(STATUS_OF.TOO_LARGE).toBe(413);
    expect(STATUS_OF.IMAGE_TOO_MANY_PIXELS).toBe(413);
    expect(STATUS_OF.UNSUPPORTED_TYPE).toBe(415);
    expect(STATUS_OF.IMAGE_DECODE_FAILED).toBe(422);
    expect(STATUS_OF.EMPTY_OBJECT).toBe(400);
  });
});

describe('toApiError', () => {
  it('passes an ApiError through unchanged', () => {
    const err = new ApiError(429, 'RATE_LIMITED', 'slow down', undefined, 7);
    expect(toApiError(err)).toBe(err);
  });

  it('maps each ModerationError to its code and status; only 503s carry Retry-After', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const api = toApiError(new ModerationError(code, `because ${code}`));
      expect(api).toBeInstanceOf(ApiError);
      expect(api.status).toBe(STATUS_OF[code]);
      expect(api.code).toBe(code);
      expect(api.message).toBe(`because ${code}`);
      expect(api.retryAfter).toBe(api.status === 503 ? RETRY_AFTER_SECONDS : undefined);
    }
  });

  it('answers an AWS SDK service error (it carries $metadata) with 503 and Retry-After', () => {
    const sdkError = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400, requestId: 'r-1' },
    });
    const api = toApiError(sdkError);
    expect(api.status).toBe(503);
    expect(api.code).toBe('DEPENDENCY_FAILED');
    expect(api.retryAfter).toBe(RETRY_AFTER_SECONDS);
    // The dependency's own message stays in the logs, not in the answer.
    expect(api.message).not.toContain('throughput');
  });

  it('answers inference failures, RetryableError and socket errors with 503 and Retry-After', () => {
    const inference = new InferenceUnavailableError('endpoint down', {
      model: 'text',
      endpoint: 'e',
      retryable: true,
    });
    const rejected = new InferenceValidationError('bad input', {
      model: 'text',
      endpoint: 'e',
      retryable: false,
    });
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    for (const err of [inference, rejected, new RetryableError('try again'), socket]) {
      const api = toApiError(err);
      expect(api.status).toBe(503);
      expect(api.code).toBe('DEPENDENCY_FAILED');
      expect(api.retryAfter).toBe(RETRY_AFTER_SECONDS);
    }
  });

  it('answers anything else with a bare 500 INTERNAL that leaks nothing', () => {
    for (const err of [
      new Error('secret detail'),
      new TypeError('x is undefined'),
      Object.assign(new Error('node error'), { code: 'ERR_INVALID_ARG_TYPE' }),
      'a string',
      undefined,
      null,
    ]) {
      const api = toApiError(err);
      expect(api.status).toBe(500);
      expect(api.code).toBe('INTERNAL');
      expect(api.message).toBe('internal error');
      expect(api.retryAfter).toBeUndefined();
    }
  });
});
