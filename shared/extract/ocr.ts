/**
 * Text inside images and video frames (OCR). The recognised text goes through the text model as the
 * `ocr` fusion channel, so an image whose only harmful content is written words scores like the words.
 *
 * Engine: tesseract.js (LSTM, English `best_int` data from `@tesseract.js-data/eng`), in the function
 * itself — see docs/MEDIA.md for the comparison with PP-OCRv4 that chose it. Every run is bounded:
 * the image is scaled to `maxSide`, recognition is abandoned after `timeoutMs`, the text is cut at
 * `maxChars`, and images with no sharp edges at all (flat colours, smooth gradients, blurry photos)
 * skip recognition entirely.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { LIMITS, type OcrLimits } from '#shared/ingest/limits.ts';

/** One recognised word and the engine's confidence in it (0..100). */
export interface OcrWord {
  text: string;
  confidence: number;
}

/** An OCR engine: encoded image (PNG) in, words out. */
export interface OcrEngine {
  readonly name: string;
  recognize(png: Uint8Array): Promise<OcrWord[]>;
  close(): Promise<void>;
}

export interface OcrResult {
  /** Recognised text, words joined by spaces and lines by newlines; empty when none. */
  text: string;
  /** Mean word confidence (0..100) of the kept words. */
  confidence: number;
  /** Why recognition did not run or did not finish. */
  skipped?: 'no-edges' | 'timeout';
  /** Text was cut at `maxChars` (or recognition timed out): part of the image went unscored. */
  partial: boolean;
  ms: number;
}

/** Raw pixels, row-major, `channels` bytes each. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** Input to OCR: an encoded image (any format sharp reads), or raw pixels. */
export type OcrInput = Uint8Array | RawImage;

export interface OcrOptions {
  limits?: OcrLimits;
  /** Frame of an animated image. */
  page?: number;
  /** Words below this confidence (0..100) are dropped: on textures tesseract reports low-confidence noise. */
  minWordConfidence?: number;
  /** Fraction of strong-edge pixels under which an image is assumed to hold no text. */
  minEdgeFraction?: number;
  /** Small pixels of the same image for the edge test instead of its own decode (`modelInputProbe`). */
  probe?: RawImage;
}

const DEFAULT_MIN_WORD_CONFIDENCE = 55;
const DEFAULT_MIN_EDGE_FRACTION = 0.004;
/**
 * A probe's fractions run 10–35 % below the thumbnail's on the same image (it squashes the image to
 * a square and is smaller), so its threshold is lowered by a quarter: a missed sign costs more than
 * an engine run on a busy photo (docs/MEDIA.md, "Cheap skip").
 */
const PROBE_THRESHOLD_SCALE = 0.75;
/** Side of the thumbnail the edge test runs on: a few thousand pixels, well under a millisecond. */
const EDGE_PROBE_SIDE = 256;
const EDGE_STEP = 48;

function toSharp(input: OcrInput, page?: number): Sharp {
  if (input instanceof Uint8Array) {
    return sharp(input, { limitInputPixels: LIMITS.image.maxPixels, failOn: 'truncated', page: page ?? 0 });
  }
  return sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
}

/**
 * Fraction of pixels in a small greyscale thumbnail whose horizontal or vertical neighbour differs by
 * more than EDGE_STEP levels. Rendered glyphs are dense in such edges; flat or smooth images have none.
 */
export async function edgeFraction(input: OcrInput, page?: number): Promise<number> {
  // Grey at the output (`b-w`), not `greyscale()`, which converts every full-size pixel before the
  // resize: 640×480 JPEG 10.7 → 7.3 ms of CPU, the thumbnail within 2 levels of the other order.
  const { data, info } = await toSharp(input, page)
    .flatten({ background: '#ffffff' })
    .resize(EDGE_PROBE_SIDE, EDGE_PROBE_SIDE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return greyEdgeFraction(data, info.width, info.height);
}

/** `edgeFraction` of pixels already small (a probe): grey by Rec. 709 luma, no decode, no resize. */
export function edgeFractionOfPixels({ data, width, height, channels }: RawImage): number {
  if (channels === 1) return greyEdgeFraction(data, width, height);
  const grey = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < grey.length; i++, p += channels) {
    grey[i] = 0.2126 * (data[p] ?? 0) + 0.7152 * (data[p + 1] ?? 0) + 0.0722 * (data[p + 2] ?? 0);
  }
  return greyEdgeFraction(grey, width, height);
}

function greyEdgeFraction(data: Uint8Array, width: number, height: number): number {
  let edges = 0;
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const v = data[y * width + x] ?? 0;
      const right = data[y * width + x + 1] ?? 0;
      const below = data[(y + 1) * width + x] ?? 0;
      if (Math.abs(v - right) > EDGE_STEP || Math.abs(v - below) > EDGE_STEP) edges++;
    }
  }
  return edges / Math.max(1, (width - 1) * (height - 1));
}

/**
 * The image model's input (RGB, squashed to `size`²) as the edge test's probe, so a still image or
 * a frame is decoded once, not twice (docs/MEDIA.md, "Cheap skip"). Only for an image at least the
 * thumbnail's size, which the model's resize shrinks as the thumbnail's would: a smaller one was
 * enlarged for the model, which softens its edges, and gets the test on its own pixels.
 */
export function modelInputProbe(
  pixels: Uint8Array,
  size: number,
  image: { width: number; height: number },
): RawImage | undefined {
  if (Math.max(image.width, image.height) < EDGE_PROBE_SIDE) return undefined;
  return { data: pixels, width: size, height: size, channels: 3 };
}

/** Greyscale PNG scaled to fit `maxSide`: what the engine reads. Uncompressed (level 0): it is read once, in memory. */
async function prepare(input: OcrInput, maxSide: number, page?: number): Promise<Buffer> {
  return toSharp(input, page)
    .rotate()
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

class OcrTimeoutError extends Error {
  override name = 'OcrTimeoutError';
}

/** Recognises the text in one image, within the OCR limits. */
export async function ocrImage(
  input: OcrInput,
  engine: OcrEngine,
  options: OcrOptions = {},
): Promise<OcrResult> {
  const limits = options.limits ?? LIMITS.ocr;
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  const edges = options.probe ? edgeFractionOfPixels(options.probe) : await edgeFraction(input, options.page);
  const threshold =
    (options.minEdgeFraction ?? DEFAULT_MIN_EDGE_FRACTION) * (options.probe ? PROBE_THRESHOLD_SCALE : 1);
  if (edges < threshold) {
    return { text: '', confidence: 0, skipped: 'no-edges', partial: false, ms: ms() };
  }
  const png = await prepare(input, limits.maxSide, options.page);
  let timer: NodeJS.Timeout | undefined;
  let words: OcrWord[];
  try {
    words = await Promise.race([
      engine.recognize(png),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new OcrTimeoutError(`OCR over ${limits.timeoutMs} ms`)),
          limits.timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    if (!(err instanceof OcrTimeoutError)) throw err;
    // The engine may still be busy with the abandoned image: start it afresh for the next one.
    await engine.close().catch(() => undefined);
    return { text: '', confidence: 0, skipped: 'timeout', partial: true, ms: ms() };
  } finally {
    clearTimeout(timer);
  }
  const minConfidence = options.minWordConfidence ?? DEFAULT_MIN_WORD_CONFIDENCE;
  const kept = new Set(words.filter((w) => w.confidence >= minConfidence && /[\p{L}\p{N}]/u.test(w.text)));
  let text = words
    .filter((w) => w.text === '\n' || kept.has(w))
    .map((w) => w.text)
    .join(' ')
    .replace(/ *\n[\n ]*/g, '\n')
    .trim();
  const partial = text.length > limits.maxChars;
  if (partial) text = text.slice(0, limits.maxChars);
  const confidence = kept.size ? [...kept].reduce((s, w) => s + w.confidence, 0) / kept.size : 0;
  return { text, confidence: Math.round(confidence * 10) / 10, partial, ms: ms() };
}

const require = createRequire(import.meta.url);

/** Where the English LSTM data lives: the `best_int` build (small, integer, accurate enough for signs). */
export function tesseractLangPath(): string {
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/**
 * tesseract.js behind the OcrEngine interface: one worker per process, created on first use and
 * reused (its start-up, ~0.5 s, is paid once per warm function). `close()` ends it; the next call
 * starts a new one.
 *
 * Jobs run one at a time (the worker is single-threaded, so nothing is lost): the only job on the
 * worker is then always the oldest unfinished call, which is the one whose timeout fires first, so
 * `ocrImage`'s `close()` after a timeout ends exactly that job and never another caller's. A job
 * still on a closed worker is rejected rather than left pending, and no job is sent to a closed
 * worker: tesseract.js would throw from an unawaited `postMessage`, an unhandled rejection that
 * ends a Lambda process.
 */
export function tesseractEngine(): OcrEngine {
  type Worker = import('tesseract.js').Worker;
  let worker: Promise<Worker> | undefined;
  let generation = 0;
  let running: { reject: (err: Error) => void } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const start = async (): Promise<Worker> => {
    const { createWorker, OEM, PSM } = await import('tesseract.js');
    const w = await createWorker('eng', OEM.LSTM_ONLY, {
      langPath: tesseractLangPath(),
      cacheMethod: 'none',
      gzip: true,
    });
    // Signs, memes and captions: sparse text anywhere in the picture, not a page of columns.
    // Screen images carry no usable resolution; saying so stops tesseract guessing (and warning).
    await w.setParameters({ tessedit_pageseg_mode: PSM.SPARSE_TEXT, user_defined_dpi: '96' });
    return w;
  };
  const acquire = async (): Promise<Worker> => {
    for (;;) {
      const current = generation;
      worker ??= start().catch((err) => {
        worker = undefined;
        throw err;
      });
      const w = await worker;
      // Closed while starting: take the next one.
      if (current === generation) return w;
    }
  };
  const run = async (png: Uint8Array): Promise<OcrWord[]> => {
    const w = await acquire();
    const closed = new Promise<never>((_, reject) => {
      running = { reject };
    });
    try {
      const { data } = await Promise.race([
        w.recognize(Buffer.from(png), {}, { text: true, blocks: true }),
        closed,
      ]);
      const words: OcrWord[] = [];
      for (const block of data.blocks ?? []) {
        for (const paragraph of block.paragraphs) {
          for (const line of paragraph.lines) {
            line.words.forEach((word) => {
              words.push({ text: word.text, confidence: word.confidence });
            });
            words.push({ text: '\n', confidence: 100 });
          }
        }
      }
      return words;
    } finally {
      running = undefined;
    }
  };
  return {
    name: 'tesseract.js',
    recognize(png) {
      const job = queue.then(() => run(png));
      queue = job.catch(() => undefined);
      return job;
    },
    async close() {
      const w = worker;
      worker = undefined;
      generation += 1;
      running?.reject(new Error('OCR worker closed'));
      if (w) await (await w).terminate();
    },
  };
}
