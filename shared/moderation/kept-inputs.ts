/**
 * Kept model inputs (KEEP_INPUTS; docs/REPLAY.md, "Kept inputs"): what the models read for one
 * scored verdict — its `Collected` channels (text items, and with `all` the image pixels), plus
 * `partial`, `notes`, `spotted` and `engines` — as one JSON document in S3, so that
 * `npm run replay -- --models <pack>` can score the very same inputs with another model pack.
 *
 * The format is JSON with each image's RGB bytes in base64, not the binary tensor wire: the wire's
 * header holds tensors and nothing else, and most of a document is not tensors (texts with their
 * ranges and times, evidence, notes); base64 costs a third more bytes on pixels, which kept at
 * S3 Standard for 30 days is cents per million images, and keeps the document one `jq` away.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { KEPT_INPUTS, type KeepInputsMode } from '#shared/contracts/kept-inputs.ts';
import { s3Uri } from '#shared/contracts/s3-uri.ts';
import type { Evidence, KeptInputsRef } from '#shared/domain/verdict.ts';
import { CHANNEL_SPECS } from '#shared/modalities/registry.ts';
import type { Collected, ImageItem, TextItem } from '#shared/modalities/types.ts';

/** Models run on what was kept, with the pack that made it: its name and the image side it resized to. */
export interface KeptPack {
  name: string;
  imageSize: number;
}

/** A kept document, read back. */
export interface KeptInputs {
  keep: Exclude<KeepInputsMode, 'none'>;
  /** The pack that scored them (MODEL_PACK) and the side of its image input, which the pixels have. */
  modelPack: string;
  imageSize: number;
  /** The model inputs, as the judge had them (no `signals`: matching is not re-run). */
  collected: Collected;
  /** Channels whose items were not kept (image channels under `text`), with how many items they had. */
  omitted: Record<string, number>;
}

/** A document that cannot be read as kept inputs (another format, a malformed item). */
export class KeptInputsError extends Error {
  override name = 'KeptInputsError';
}

/**
 * Where a verdict's inputs are kept: its table key hashed, so the S3 key has a fixed length (a
 * 1024-byte upload key makes a table key, and an id, longer than S3 allows) and does not repeat
 * the upload's name, which users choose.
 */
export function keptInputsKey(verdictPk: string): string {
  return `${KEPT_INPUTS.prefix}${createHash('sha256').update(verdictPk, 'utf8').digest('hex')}`;
}

const CHANNEL_MODEL = new Map(CHANNEL_SPECS.map((c) => [c.name, c.model]));

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/** Only the fields the models and the evidence read: nothing else an item may carry is kept. */
const keptText = (t: TextItem) => ({
  source: t.source,
  text: t.text,
  ...(t.range && { range: t.range }),
  ...(t.timestampMs !== undefined && { timestampMs: t.timestampMs }),
  ...(t.timeRangeMs && { timeRangeMs: t.timeRangeMs }),
});
const keptImage = (i: ImageItem) => ({
  source: i.source,
  pixels: Buffer.from(i.pixels.buffer, i.pixels.byteOffset, i.pixels.byteLength).toString('base64'),
  ...(i.timestampMs !== undefined && { timestampMs: i.timestampMs }),
});

/**
 * The document for `collected`, or `too-large` (without building it) when it would be over
 * KEPT_INPUTS.maxBytes: images are counted first, since they are nearly all of the bytes.
 */
export function encodeKeptInputs(
  collected: Collected,
  keep: Exclude<KeepInputsMode, 'none'>,
  pack: KeptPack,
): Uint8Array | 'too-large' {
  const channels: Record<string, unknown[]> = {};
  const omitted: Record<string, number> = {};
  let imageBytes = 0;
  for (const [name, items] of Object.entries(collected.channels)) {
    if (items.length === 0) continue;
    if (CHANNEL_MODEL.get(name) !== 'image') continue;
    if (keep === 'text') omitted[name] = items.length;
    else imageBytes += items.reduce((n, i) => n + base64Length((i as ImageItem).pixels.byteLength), 0);
  }
  if (imageBytes > KEPT_INPUTS.maxBytes) return 'too-large';
  for (const [name, items] of Object.entries(collected.channels)) {
    if (items.length === 0 || name in omitted) continue;
    channels[name] =
      CHANNEL_MODEL.get(name) === 'image'
        ? (items as ImageItem[]).map(keptImage)
        : (items as TextItem[]).map(keptText);
  }
  const doc = {
    format: KEPT_INPUTS.format,
    keep,
    contentType: collected.contentType,
    modelPack: pack.name,
    imageSize: pack.imageSize,
    channels,
    ...(Object.keys(omitted).length > 0 && { omitted }),
    partial: collected.partial,
    ...(collected.notes?.length && { notes: collected.notes }),
    ...(collected.spotted && { spotted: collected.spotted }),
    ...(collected.engines && { engines: collected.engines }),
  };
  const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
  return bytes.byteLength > KEPT_INPUTS.maxBytes ? 'too-large' : bytes;
}

const range = z.tuple([z.number(), z.number()]);
const TextItemSchema = z.object({
  source: z.string(),
  text: z.string(),
  range: range.optional(),
  timestampMs: z.number().optional(),
  timeRangeMs: range.optional(),
});
const ImageItemSchema = z.object({
  source: z.string(),
  pixels: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'pixels must be base64'),
  timestampMs: z.number().optional(),
});
const EvidenceSchema = z.object({
  source: z.string(),
  excerpt: z.string().optional(),
  range: range.optional(),
  timestampMs: z.number().optional(),
  timeRangeMs: range.optional(),
  keyphrase: z.string().optional(),
  scores: z.record(z.string(), z.number()),
});
const DocumentSchema = z.object({
  format: z.literal(KEPT_INPUTS.format),
  keep: z.enum(['text', 'all']),
  contentType: z.string(),
  modelPack: z.string(),
  imageSize: z.number().int().positive(),
  channels: z.record(z.string(), z.array(z.unknown())),
  omitted: z.record(z.string(), z.number().int().nonnegative()).optional(),
  partial: z.boolean(),
  notes: z.array(z.string()).optional(),
  spotted: z.record(z.string(), z.array(EvidenceSchema)).optional(),
  engines: z.record(z.string(), z.string()).optional(),
});

const issue = (err: z.ZodError) =>
  err.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');

/** Reads a kept document back into model inputs; a malformed one throws KeptInputsError. */
export function decodeKeptInputs(bytes: Uint8Array): KeptInputs {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new KeptInputsError(`kept inputs are not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = DocumentSchema.safeParse(json);
  if (!parsed.success)
    throw new KeptInputsError(`not a ${KEPT_INPUTS.format} document: ${issue(parsed.error)}`);
  const doc = parsed.data;
  const pixelBytes = doc.imageSize * doc.imageSize * 3;
  const channels: Collected['channels'] = {};
  for (const [name, items] of Object.entries(doc.channels)) {
    const model = CHANNEL_MODEL.get(name);
    if (!model) throw new KeptInputsError(`unknown channel ${JSON.stringify(name)}`);
    const schema = model === 'image' ? ImageItemSchema : TextItemSchema;
    channels[name] = items.map((raw, i) => {
      const item = schema.safeParse(raw);
      if (!item.success) throw new KeptInputsError(`channel ${name} item ${i}: ${issue(item.error)}`);
      if (!('pixels' in item.data)) return item.data as TextItem;
      const buf = Buffer.from(item.data.pixels, 'base64');
      if (buf.byteLength !== pixelBytes)
        throw new KeptInputsError(
          `channel ${name} item ${i}: ${buf.byteLength} pixel bytes, not ${doc.imageSize}×${doc.imageSize}×3`,
        );
      const pixels = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      return { ...item.data, pixels } as ImageItem;
    });
  }
  const collected: Collected = {
    contentType: doc.contentType,
    channels,
    partial: doc.partial,
    ...(doc.notes && { notes: doc.notes }),
    ...(doc.spotted && { spotted: doc.spotted as Record<string, Evidence[]> }),
    ...(doc.engines && { engines: doc.engines }),
  };
  return {
    keep: doc.keep,
    modelPack: doc.modelPack,
    imageSize: doc.imageSize,
    collected,
    omitted: doc.omitted ?? {},
  };
}

/** Why a scored verdict names no kept inputs: over the size bound, or the put failed. */
export type NotKeptReason = 'too-large' | 'put-failed';

/** Keeps a scored verdict's model inputs; never throws: a verdict is never lost for them. */
export interface InputsKeeper {
  readonly mode: KeepInputsMode;
  /** Writes the document for the verdict with table key `verdictPk`; undefined when nothing was kept. */
  keep(verdictPk: string, collected: Collected, pack: KeptPack): Promise<KeptInputsRef | undefined>;
}

export const NO_INPUTS_KEEPER: InputsKeeper = { mode: 'none', keep: async () => undefined };

export interface S3InputsKeeperOptions {
  s3: S3Client;
  bucket: string;
  mode: Exclude<KeepInputsMode, 'none'>;
  /** Told when a verdict will name no kept inputs (a warning and a metric, in the functions). */
  onNotKept?: (reason: NotKeptReason, error?: unknown) => void;
}

/**
 * Kept inputs in a bucket. The key is a function of the verdict's table key, so a redelivery or a
 * retried request writes the same object again instead of another one; a failed put is reported,
 * and the verdict is written without `inputs` (replay counts it as "no kept inputs").
 */
export function createS3InputsKeeper(options: S3InputsKeeperOptions): InputsKeeper {
  const { s3, bucket, mode, onNotKept } = options;
  return {
    mode,
    async keep(verdictPk, collected, pack) {
      const body = encodeKeptInputs(collected, mode, pack);
      if (body === 'too-large') {
        onNotKept?.('too-large');
        return undefined;
      }
      const key = keptInputsKey(verdictPk);
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        );
      } catch (err) {
        onNotKept?.('put-failed', err);
        return undefined;
      }
      return { uri: s3Uri({ bucket, key }), keep: mode, bytes: body.byteLength };
    },
  };
}
