/** Errors of the inference server: one base, subclasses that set `name` and keep `cause`. */
export class InferenceServerError extends Error {
  override name = 'InferenceServerError';
}

/** A model directory that cannot be served: bad manifest, checksum or signature mismatch. */
export class ModelLoadError extends InferenceServerError {
  override name = 'ModelLoadError';
}

/** The model file's sha256 differs from the manifest's: a corrupt or swapped artifact. */
export class ChecksumMismatchError extends ModelLoadError {
  override name = 'ChecksumMismatchError';
}

/** A request the caller must fix (SageMaker `ValidationError`); `status` is the HTTP status. */
export class RequestValidationError extends InferenceServerError {
  override name = 'RequestValidationError';
  readonly status: number;
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.status = options?.status ?? 400;
  }
}

/** The model failed on a valid request (SageMaker `ModelError`). */
export class ModelExecutionError extends InferenceServerError {
  override name = 'ModelExecutionError';
}
