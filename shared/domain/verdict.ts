import type { Category } from './taxonomy.ts';

export type Decision = 'allow' | 'review' | 'block' | 'error';

/** One piece of evidence: where in the upload a score came from. */
export interface Evidence {
  /** The object or post medium it came from (s3 uri or path). */
  source: string;
  /** Text excerpt that was scored (a window of the text, OCR text, transcript). */
  excerpt?: string;
  /** Character range of `excerpt` within its text. */
  range?: [number, number];
  /** Media time in ms, for video frames and speech. */
  timestampMs?: number;
  /** Media time range in ms [start, end], for speech and for text seen across several frames. */
  timeRangeMs?: [number, number];
  /** The channel's scores for this piece alone. */
  scores: Record<string, number>;
}

/** What one channel (text, image, ocr, speech) saw: its highest scores and the evidence behind them. */
export interface ModalityResult {
  scores: Record<string, number>;
  evidence: Evidence[];
}

export interface VerdictError {
  code: string;
  message: string;
}

/** The verdict contract (ARCHITECTURE.md): printed by the CLI, stored as the DynamoDB item. */
export interface Verdict {
  /** s3://bucket/key (or the local path, in CLI output). */
  object: string;
  /** S3 version id, or the ETag when the bucket is not versioned. */
  objectVersion?: string;
  /** The real type, sniffed from the bytes. */
  contentType?: string;
  decision: Decision;
  /** Highest unsafe probability over the scored categories, 0..1. */
  score: number;
  categories: Partial<Record<Category, number>>;
  /** Taxonomy categories that no deployed model scores: reported, never invented. */
  unscoredCategories: Category[];
  /** Why the policy decided as it did, e.g. "hate 0.91 ≥ block 0.85". */
  reasons: string[];
  /** By fusion channel (text, image, ocr, speech: shared/modalities/registry.ts). */
  modalities: Record<string, ModalityResult>;
  error?: VerdictError;
  modelVersions: Record<string, string>;
  policyVersion: string;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  createdAt: string;
}

/** The verdict for an upload that could not be moderated: decision `error`, a stable code, a message. */
export function errorVerdict(
  base: Pick<Verdict, 'object' | 'objectVersion' | 'policyVersion'>,
  code: string,
  message: string,
  timings: Record<string, number> = {},
  now: Date = new Date(),
): Verdict {
  return {
    ...base,
    decision: 'error',
    score: 0,
    categories: {},
    unscoredCategories: [],
    reasons: [],
    modalities: {},
    error: { code, message },
    modelVersions: {},
    timings,
    createdAt: now.toISOString(),
  };
}
