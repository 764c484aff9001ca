/**
 * Errors of the moderation domain. A `ModerationError` is about the upload itself and ends as an
 * `error` verdict with its `code`; anything else (a dependency failing) is retried by the queue.
 */
export class ModerationError extends Error {
  override name = 'ModerationError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Stable error codes: clients branch on them, so never rename one. */
export const ERROR_CODES = {
  EMPTY_OBJECT: 'the object has no bytes',
  TOO_LARGE: 'the object exceeds the size limit for its type',
  UNSUPPORTED_TYPE: 'the bytes are not a type this pipeline moderates',
  UNREADABLE_TEXT: 'the text is not valid UTF-8',
  IMAGE_DECODE_FAILED: 'the image could not be decoded (corrupt or truncated)',
  IMAGE_TOO_MANY_PIXELS: 'the image exceeds the pixel limit (decompression bomb guard)',
  IMAGE_TOO_MANY_FRAMES: 'the animated image has more frames than the frame limit (checked from its header)',
  DECODE_BUDGET_EXCEEDED:
    'decoding the image would exceed its work budget: pixels decoded over all frames, or decode time',
  INVALID_MANIFEST: 'the post manifest is malformed',
  MEDIA_NOT_FOUND: 'a medium referenced by a post does not exist',
  MEDIA_OUTSIDE_PREFIX: 'a post references media outside its own folder',
  OBJECT_NOT_FOUND: 'the object was deleted before it could be moderated',
  ACCESS_DENIED: 'the pipeline may not read the object',
  INFERENCE_REJECTED: 'a model endpoint refused the input as invalid (not worth retrying)',
  PROCESSING_FAILED: 'moderation failed repeatedly and the message was dead-lettered',
  AUDIO_DECODE_FAILED: 'the audio could not be decoded (corrupt, truncated or no audio stream)',
  VIDEO_DECODE_FAILED: 'the video could not be decoded (corrupt, truncated or no video stream)',
  MEDIA_TOO_MANY_PIXELS: 'the video frame size exceeds the limit (checked from the container header)',
  MEDIA_DECODE_TIMEOUT: 'decoding the media took longer than its time limit',
  TOO_LONG_FOR_SYNC:
    'the audio or video is longer than the synchronous limit; it needs the asynchronous path',
  MEDIA_NEEDS_UPLOAD:
    'this deployment decodes audio and video only from the uploads bucket (the media function), not in a request',
  TOO_LONG: 'the audio or video is longer than the long-media limit (the asynchronous path)',
  TIMEOUT: 'no verdict arrived before the deadline of the caller (the CLI --timeout); nothing was decided',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A dependency failed in a way worth retrying (throttling, 5xx, timeout): the message goes back to the queue. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}
