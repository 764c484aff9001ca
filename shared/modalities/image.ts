/**
 * Images: the picture itself (and the other frames of an animated GIF/WebP) for the image model,
 * and the text written in it (OCR) for the text model as a channel of its own.
 */
import type { Category } from '#shared/domain/taxonomy.ts';
import { readImageHeader } from '#shared/extract/animation.ts';
import { planImageDecode } from '#shared/extract/decode-budget.ts';
import { checkImageBytes, extractImage, extractImagePages } from '#shared/extract/image.ts';
import {
  modelInputProbe,
  type OcrEngine,
  type OcrInput,
  ocrImage,
  type RawImage,
} from '#shared/extract/ocr.ts';
import { extractText } from '#shared/extract/text.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { trailingBytes } from '#shared/ingest/trailing.ts';
import { imageSignals } from '#shared/matching/signals.ts';
import { TEXT_MODEL_CATEGORIES } from './text.ts';
import {
  addItems,
  type Collected,
  defineChannel,
  emptyCollected,
  type Modality,
  type TextItem,
  textEvidence,
  unscored,
} from './types.ts';

/** What the image model scores. */
export const IMAGE_MODEL_CATEGORIES: readonly Category[] = ['sexual'];

/** How the image classes map into the taxonomy: every not-safe-for-work class counts toward `sexual`. */
export function imageCategories(classes: Record<string, number>): Record<string, number> {
  // A model whose head scores the taxonomy itself (a CLIP pack, processors.ts) passes it through.
  if ('sexual' in classes) return { sexual: classes.sexual ?? 0 };
  return { sexual: (classes.porn ?? 0) + (classes.hentai ?? 0) + (classes.sexy ?? 0) };
}

export const IMAGE_CHANNEL = defineChannel({
  name: 'image',
  model: 'image',
  categories: IMAGE_MODEL_CATEGORIES,
  // Evidence keeps the model's own classes beside the category, so a reviewer sees why.
  score: (classes) => ({
    channel: imageCategories(classes),
    evidence: { ...imageCategories(classes), ...classes },
  }),
  evidence: ({ source, timestampMs }, scores) => ({
    source,
    ...(timestampMs !== undefined && { timestampMs }),
    scores,
  }),
});

/** Text read from images and video frames: it fails differently from typed text, so it is a channel of its own. */
export const OCR_CHANNEL = defineChannel({
  name: 'ocr',
  model: 'text',
  categories: TEXT_MODEL_CATEGORIES,
  evidence: textEvidence,
});

export interface OcrFrame {
  input: OcrInput;
  page?: number;
  timestampMs?: number;
  /** The frame's model input, when it can stand in for the edge test's own decode (`modelInputProbe`). */
  probe?: RawImage;
}

/**
 * OCR over a list of frames into the OCR channel. Text identical to an earlier frame's is not scored
 * again: the first item's time range is widened instead, so evidence says when the text was on screen.
 */
export async function ocrFrames(
  frames: readonly OcrFrame[],
  source: string,
  engine: OcrEngine | undefined,
  out: Collected,
): Promise<void> {
  if (!engine) return;
  out.engines = { ...out.engines, ocr: engine.name };
  const byText = new Map<string, TextItem[]>();
  for (const frame of frames) {
    const result = await ocrImage(frame.input, engine, { page: frame.page, probe: frame.probe });
    if (result.skipped === 'timeout') {
      const where = frame.timestampMs === undefined ? 'the image' : `the frame at ${frame.timestampMs} ms`;
      unscored(out, `text in ${where} was not read (OCR time limit)`);
    }
    if (result.partial) out.partial = true;
    if (!result.text) continue;
    const seen = byText.get(result.text);
    if (seen) {
      for (const item of seen) {
        if (frame.timestampMs !== undefined && item.timeRangeMs) item.timeRangeMs[1] = frame.timestampMs;
      }
      continue;
    }
    const items = extractText(result.text).windows.map(
      (w): TextItem => ({
        source,
        text: w.text,
        ...(frame.timestampMs !== undefined && {
          timestampMs: frame.timestampMs,
          timeRangeMs: [frame.timestampMs, frame.timestampMs] as [number, number],
        }),
      }),
    );
    byText.set(result.text, items);
    addItems(out, OCR_CHANNEL, items);
  }
}

export const imageModality: Modality = {
  name: 'image',
  kinds: ['image'],
  channels: [IMAGE_CHANNEL, OCR_CHANNEL],
  async collect(bytes, sniffed, ctx) {
    const { source, imageSize } = ctx;
    const out = emptyCollected(sniffed.mime);
    // The work budget (frame size, frames, pixels over every frame decoded), from the header alone.
    checkImageBytes(bytes, LIMITS.image);
    const header = await readImageHeader(bytes);
    const plan = planImageDecode(header, LIMITS.image, LIMITS.video.maxAnimationFrames);
    // A polyglot (an image with an archive or script after its end): the image is scored, the rest
    // is not, so the verdict can't be `allow` on the image alone.
    const notePolyglot = () => {
      const trailing = trailingBytes(bytes, sniffed.mime);
      if (trailing > 0) unscored(out, `${trailing} bytes after the end of the image were not moderated`);
    };
    if (plan.where === 'in-process') {
      // An ordinary still image: decoded here, with no process hop.
      const image = await extractImage(bytes, imageSize);
      addItems(out, IMAGE_CHANNEL, [{ source, pixels: image.pixels }]);
      notePolyglot();
      const probe = modelInputProbe(image.pixels, imageSize, image);
      await ocrFrames([{ input: bytes, page: 0, probe }], source, ctx.engines.ocr(), out);
      // Hashes for bank matching (PDQ of the full-size pixels, MD5/SHA-256 of the bytes).
      if (ctx.signals !== false) out.signals = await imageSignals(bytes, source);
      return out;
    }
    // Animated or large: page 0 (the image itself) and the sampled frames, in the killable decoder,
    // which also returns the frames OCR reads so that nothing decodes them again outside the budget.
    const ocr = ctx.engines.ocr();
    const decoded = await extractImagePages(bytes, header, plan, imageSize, {
      ocrMaxSide: ocr ? LIMITS.ocr.maxSide : 0,
    });
    const times = new Map(plan.frames.map((f) => [f.page, f.timestampMs]));
    for (const page of decoded) {
      const timestampMs = page.page === 0 ? undefined : times.get(page.page);
      addItems(out, IMAGE_CHANNEL, [
        { source, pixels: page.pixels, ...(timestampMs !== undefined && { timestampMs }) },
      ]);
      if (page.page === 0) notePolyglot();
    }
    const frameSize = { width: header.width, height: header.pageHeight };
    await ocrFrames(
      decoded.flatMap((page): OcrFrame[] => {
        if (!page.ocr) return [];
        const timestampMs = times.get(page.page);
        const probe = modelInputProbe(page.pixels, imageSize, frameSize);
        return [{ input: page.ocr, ...(timestampMs !== undefined && { timestampMs }), probe }];
      }),
      source,
      ocr,
      out,
    );
    // PDQ of the sampled frames (each with its time) and MD5/SHA-256 of the bytes, for bank matching.
    if (ctx.signals !== false) out.signals = await imageSignals(bytes, source);
    return out;
  },
};
