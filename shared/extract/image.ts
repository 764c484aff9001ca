import sharp from 'sharp';
import { ModerationError } from '#shared/domain/errors.ts';
import { type ImageLimits, LIMITS } from '#shared/ingest/limits.ts';
import type { ImageHeader } from './animation.ts';
import { type DecodePlan, decodesInOrder } from './decode-budget.ts';
import { type DecodedPage, type DecodePool, imageDecoders } from './decode-worker.ts';

export interface ExtractedImage {
  /** RGB uint8, row-major [size, size, 3]: what the image encoder takes. */
  pixels: Uint8Array;
  width: number;
  height: number;
  format: string;
}

/**
 * Decodes and resizes one image in the function, so the GPU endpoint receives a compact tensor.
 * The pixel limit is checked from the header before decoding (a 30000×30000 bomb fails in < 1 ms),
 * and truncated files are refused rather than half-decoded.
 */
export async function extractImage(
  bytes: Uint8Array,
  size: number,
  limits: Pick<ImageLimits, 'maxBytes' | 'maxPixels'> = LIMITS.image,
  /** Frame of an animated GIF/WebP (shared/extract/animation.ts). @default 0 */
  page = 0,
): Promise<ExtractedImage> {
  checkImageBytes(bytes, limits);
  const options = { limitInputPixels: limits.maxPixels, failOn: 'truncated', animated: false, page } as const;
  try {
    const image = sharp(bytes, options);
    const meta = await image.metadata();
    const { data } = await image
      .rotate() // honour EXIF orientation, as a viewer would
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .toColourspace('srgb')
      // The encoder was trained on whole images squashed to a square (nsfwjs does the same): no crop.
      .resize(size, size, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      format: meta.format ?? 'unknown',
    };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/pixel limit/i.test(message)) {
      throw new ModerationError('IMAGE_TOO_MANY_PIXELS', `image exceeds ${limits.maxPixels} pixels`, {
        cause,
      });
    }
    throw new ModerationError('IMAGE_DECODE_FAILED', `image could not be decoded: ${message}`, { cause });
  }
}

/** The byte limit of an image, checked before anything else. */
export function checkImageBytes(bytes: Uint8Array, limits: Pick<ImageLimits, 'maxBytes'>): void {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `image is over the ${limits.maxBytes}-byte limit`);
  }
}

export interface ExtractPagesOptions {
  /** Also return each page scaled to fit this side for OCR (shared/extract/ocr.ts); 0 for none. */
  ocrMaxSide: number;
  limits?: ImageLimits;
  /** @default the function's decoders */
  decoders?: DecodePool;
}

/**
 * The pages of a decode plan (shared/extract/decode-budget.ts), decoded in the killable decoder within
 * the image's work budget: the same pixels `extractImage` gives for each page, plus the frame OCR reads.
 */
export async function extractImagePages(
  bytes: Uint8Array,
  header: ImageHeader,
  plan: DecodePlan,
  size: number,
  { ocrMaxSide, limits = LIMITS.image, decoders = imageDecoders }: ExtractPagesOptions,
): Promise<DecodedPage[]> {
  checkImageBytes(bytes, limits);
  const result = await decoders.decode(
    {
      bytes,
      pages: plan.pages,
      size,
      ocrMaxSide,
      maxPixels: limits.maxPixels,
      maxDecodedPixels: limits.maxDecodedPixels,
      sequential: decodesInOrder(header.format),
    },
    { timeoutMs: limits.decodeTimeoutMs },
  );
  return result.pages;
}
