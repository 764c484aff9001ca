import type { KeepInputsMode } from '#shared/contracts/kept-inputs.ts';
import type { SignalType } from '#shared/matching/types.ts';
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
  /** Speech keyword spotting: the listed phrase heard (docs/MEDIA.md); `excerpt` is then what the transcript says there. */
  keyphrase?: string;
  /** The channel's scores for this piece alone. */
  scores: Record<string, number>;
}

/** What one channel (text, image, ocr, speech) saw: its highest scores and the evidence behind them. */
export interface ModalityResult {
  scores: Record<string, number>;
  evidence: Evidence[];
}

/**
 * A bank or term-list hit (ARCHITECTURE.md, "verdict additions"): `bank`, `label`, `signalType`,
 * `signal`, `distance`, `frameMs`. For a term-list hit `bank` is the list (`blocklist`), `label`
 * the list's line that matched, `signalType` `term` and `signal` the text it matched, at `range`.
 */
export interface VerdictMatch {
  /** The bank's name, or the term list's. */
  bank: string;
  /** Deny (known abuse, blocklist) or allow (known false positive). */
  kind: 'deny' | 'allow';
  label: string;
  signalType: SignalType | 'term';
  /** The bank's signal that matched, or the text a term matched (cleaned for display). */
  signal: string;
  /** Hamming distance for PDQ; 0 for exact hashes and terms. */
  distance: number;
  /** The object or post medium the upload's signal or text came from. */
  source: string;
  /** Media time of the frame (video, animation) or of the text (OCR, speech start), ms. */
  frameMs?: number;
  /** Term hits: the channel the text was in (text, ocr, speech). */
  channel?: string;
  /** Term hits: the matched span's character range in its text (the typed text, or the OCR/transcript item). */
  range?: [number, number];
  /** Term hits in OCR text or speech: when the text was on screen or spoken, ms. */
  timeRangeMs?: [number, number];
}

/**
 * Where a verdict's model inputs are kept (KEEP_INPUTS; docs/REPLAY.md, "Kept inputs"), for
 * `npm run replay -- --models <pack>`. Only scored verdicts keep any: a deny-bank match ran no
 * model, an error verdict has nothing scored.
 */
export interface KeptInputsRef {
  /** `s3://<INPUTS_BUCKET>/inputs/<sha256 hex of the verdict's table key>`. */
  uri: string;
  /** `text`: the text, OCR and speech items; `all`: those and the image pixels. */
  keep: Exclude<KeepInputsMode, 'none'>;
  /** The document's size. */
  bytes: number;
}

export interface VerdictError {
  code: string;
  message: string;
}

/** A person's decision on a verdict (docs/REVIEW.md). */
export interface ReviewRecord {
  decision: 'allow' | 'block';
  /** The reviewer key's name. */
  reviewer: string;
  at: string;
  reason: string;
  /** Per category: whether the content really is that (reviewers' labels, for calibration). */
  labels?: Partial<Record<Category, boolean>>;
  /** Decided from the review queue or on appeal. */
  kind: 'review' | 'appeal';
  /** The deny bank the item's hashes were added to. */
  bank?: string;
}

export interface AppealRecord {
  reason: string;
  at: string;
  /** The appealing API key's id. */
  by: string;
}

/** The verdict contract (ARCHITECTURE.md): printed by the CLI, stored as the DynamoDB item. */
export interface Verdict {
  /** Stable URL-safe id (`GET /v1/verdicts/{id}`), given when the verdict is stored. */
  id?: string;
  /** s3://bucket/key (or the local path, in CLI output), or `api://<tenant>/<content sha256>`. */
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
  /** Bank and term-list hits (matching runs before any model); empty when nothing matched. */
  matches?: VerdictMatch[];
  error?: VerdictError;
  modelVersions: Record<string, string>;
  policyVersion: string;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  createdAt: string;
  /** The upload's hashes, on verdicts a person may see (review, block): what "block and bank" adds to a bank. */
  signals?: {
    signalType: SignalType;
    signal: string;
    source: string;
    timestampMs?: number;
    quality?: number;
  }[];
  /** Part of the upload went unscored (the policy may ask a person because of it); kept for replay. */
  partial?: boolean;
  /** Where the model inputs are kept, when KEEP_INPUTS keeps them (replay with another model pack). */
  inputs?: KeptInputsRef;
  /** Waiting for a person: `review` (the automatic decision was review) or `appeal`. */
  queue?: 'review' | 'appeal';
  queuedAt?: string;
  /** Who is deciding it, until when (a claim); an expired lease returns the item to the queue. */
  lease?: { reviewer: string; until: string };
  /** The latest decision by a person; `reviews` has them all, oldest first. */
  review?: ReviewRecord;
  reviews?: ReviewRecord[];
  appeal?: AppealRecord;
  /** The decision that stands: a person's when there is one, else the automatic `decision`. */
  finalDecision?: Decision;
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
