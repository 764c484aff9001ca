/**
 * Kept model inputs (docs/REPLAY.md, "Kept inputs"): with `KEEP_INPUTS=text|all` the functions that
 * moderate write what the models read for each scored verdict to `INPUTS_BUCKET` under `prefix`,
 * one object per verdict, and the verdict names it (`Verdict.inputs`). Written by the runtime
 * (shared/moderation/kept-inputs.ts), granted and expired by infra (the uploads bucket's construct),
 * read by `npm run replay -- --models` (ops/replay-models.ts).
 *
 *   inputs/<sha256 hex of the verdict's table key>     one JSON document, `format` below
 */

/** What is kept: nothing, the text channels' items (text, ocr, speech), or those and the image pixels. */
export const KEEP_INPUTS_MODES = ['none', 'text', 'all'] as const;
export type KeepInputsMode = (typeof KEEP_INPUTS_MODES)[number];

export const KEPT_INPUTS = {
  /**
   * Key prefix in the uploads bucket. Outside the uploads prefix, so the bucket's ObjectCreated
   * notification (filtered on `uploads/`) never sends a kept-inputs object into the pipeline.
   */
  prefix: 'inputs/',
  /** The document's `format`: a reader refuses any other (a later layout gets a new one). */
  format: 'moderation.kept-inputs/1',
  /**
   * A larger document is not written (the verdict then names none): a post of 16 videos is over a
   * thousand frames at 200 KB each in base64. 64 MiB holds a long video's 160 frames twice over.
   */
  maxBytes: 64 * 1024 * 1024,
  /** Days a kept document lives before the bucket's lifecycle rule deletes it, unless configured. */
  defaultExpirationDays: 30,
} as const;
