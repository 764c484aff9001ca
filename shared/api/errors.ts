/**
 * How the API answers what it cannot moderate: the async path's error codes (shared/domain/errors.ts)
 * as HTTP statuses, plus the request's own problems. Bodies name the problem; dependency failures
 * are 503 with Retry-After, so a client's retry policy does the right thing.
 */
import { type ErrorCode, ModerationError, RetryableError } from '#shared/domain/errors.ts';
import { InferenceError } from '#shared/inference/client.ts';

/** The request itself, before any content is looked at. */
export type RequestErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'URL_NOT_ALLOWED'
  | 'FETCH_FAILED'
  | 'UNSUPPORTED_ATTRIBUTE'
  | 'DEPENDENCY_FAILED'
  | 'INTERNAL';

export type ApiErrorCode = ErrorCode | RequestErrorCode;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** The request field at fault, as a path (`media[0].data`, `input[1].image_url.url`). */
    readonly field?: string,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/**
 * Every moderation error code's status. A `Record` over all of them, so a new code cannot ship
 * without one: 413 over a limit, 415 not a type we moderate, 422 well-formed but undecodable, 400
 * malformed. The last four cannot arise from a request (they are about S3 objects and the queue).
 */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  EMPTY_OBJECT: 400,
  INVALID_MANIFEST: 400,
  MEDIA_NOT_FOUND: 400,
  MEDIA_OUTSIDE_PREFIX: 400,
  TOO_LARGE: 413,
  IMAGE_TOO_MANY_PIXELS: 413,
  IMAGE_TOO_MANY_FRAMES: 413,
  DECODE_BUDGET_EXCEEDED: 413,
  MEDIA_TOO_MANY_PIXELS: 413,
  TOO_LONG_FOR_SYNC: 413,
  MEDIA_NEEDS_UPLOAD: 415,
  TOO_LONG: 413,
  UNSUPPORTED_TYPE: 415,
  UNREADABLE_TEXT: 422,
  IMAGE_DECODE_FAILED: 422,
  AUDIO_DECODE_FAILED: 422,
  VIDEO_DECODE_FAILED: 422,
  MEDIA_DECODE_TIMEOUT: 422,
  INFERENCE_REJECTED: 422,
  OBJECT_NOT_FOUND: 500,
  ACCESS_DENIED: 500,
  PROCESSING_FAILED: 503,
  TIMEOUT: 503,
};

/** Seconds a client is asked to wait after a dependency failed. */
export const RETRY_AFTER_SECONDS = 1;

/** A failure of something the API calls (an endpoint, DynamoDB, S3, the network): worth retrying. */
function isDependencyFailure(err: unknown): boolean {
  if (err instanceof RetryableError || err instanceof InferenceError) return true;
  const e = err as { $metadata?: unknown; code?: unknown; name?: unknown };
  // AWS SDK service errors carry $metadata; socket errors carry a code such as ECONNREFUSED.
  return e?.$metadata !== undefined || (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code));
}

/** Any error as the ApiError to answer with. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ModerationError) {
    const status = STATUS_OF[err.code];
    return new ApiError(
      status,
      err.code,
      err.message,
      undefined,
      status === 503 ? RETRY_AFTER_SECONDS : undefined,
    );
  }
  if (isDependencyFailure(err))
    return new ApiError(
      503,
      'DEPENDENCY_FAILED',
      'a service the moderation depends on failed; retry after the delay given',
      undefined,
      RETRY_AFTER_SECONDS,
    );
  return new ApiError(500, 'INTERNAL', 'internal error');
}
