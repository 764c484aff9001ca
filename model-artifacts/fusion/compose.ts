/**
 * Composes multi-channel training items for the fusion classifier from labelled single texts.
 * No labelled multimodal data exists here, so items are built from parts: a typed text, an
 * image (whose `sexual` score comes from a teacher distribution, see {@link imagePart}), text
 * read by OCR and text heard by speech recognition (both simulated with recognition noise and
 * run through the real text model). An item's label per category is the OR of its present parts'.
 */
import { mulberry32 } from '#model-artifacts/text-model/model.ts';
import { NUM_CHANNELS, NUM_LABELS } from './model.ts';

export type Rng = () => number;
export { mulberry32 };

const OCR_CONFUSIONS: Record<string, string[]> = {
  l: ['1', 'I', 'i'],
  i: ['l', '1', 'j'],
  o: ['0', 'a', 'c'],
  e: ['c', 'o'],
  a: ['o', 'e'],
  s: ['5', 'e'],
  t: ['f', 'l'],
  h: ['b', 'n'],
  u: ['v', 'n'],
  n: ['h', 'r'],
  c: ['e', 'o'],
  g: ['q', '9'],
  b: ['h', '6'],
  m: ['rn', 'n'],
};

/** Simulated OCR: dropped and confused characters, lost and spurious spaces, no emoji. */
export function ocrNoise(text: string, rnd: Rng, rate = 0.04): string {
  const chars = Array.from(text.replace(/\p{Extended_Pictographic}/gu, ''));
  let out = '';
  for (const ch of chars) {
    const r = rnd();
    if (ch === ' ') {
      if (r < rate * 1.5) continue;
      out += ch;
    } else if (r < rate * 0.5) {
      // dropped
    } else if (r < rate * 1.5) {
      const alts = OCR_CONFUSIONS[ch.toLowerCase()];
      out += alts === undefined ? ch : (alts[Math.floor(rnd() * alts.length)] ?? ch);
    } else if (r < rate * 1.75) out += `${ch} `;
    else out += ch;
  }
  return out;
}

/** Words a weak recogniser substitutes for what it did not understand. */
const ASR_FILLERS = [
  'the',
  'a',
  'and',
  'you',
  'to',
  'it',
  'is',
  'that',
  'we',
  'with',
  'of',
  'in',
  'i',
  'he',
  'for',
];

/**
 * Simulated speech recognition: only spoken words survive (no URLs, mentions, HTML entities,
 * hashtag signs, emoji or punctuation), lowercase, and words are dropped or replaced by common short words.
 */
export function speechNoise(text: string, rnd: Rng, rate = 0.12): string {
  const words = text
    .toLowerCase()
    .replace(/https?:\/\/\S+|\burl\b|@\w+|&#?\w+;/g, ' ')
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const out: string[] = [];
  for (const w of words) {
    const r = rnd();
    if (r < rate) continue;
    out.push(r < 2 * rate ? (ASR_FILLERS[Math.floor(rnd() * ASR_FILLERS.length)] ?? w) : w);
  }
  return out.join(' ');
}

/** One channel's evidence for an item: its model's probabilities and the part's true labels. */
export interface Part {
  /** [category] probabilities in fusion label order. */
  probs: Float32Array;
  /** [category] true labels and whether each is known. */
  y: Float32Array;
  mask: Float32Array;
}

/** A composed item: one part per channel; which of them are present is drawn separately. */
export interface Item {
  parts: Part[];
}

/** Sample from Beta(a, b) via two gamma draws (Marsaglia–Tsang), deterministic from `rnd`. */
export function betaSample(a: number, b: number, rnd: Rng): number {
  const gamma = (k: number): number => {
    if (k < 1) return gamma(k + 1) * rnd() ** (1 / k);
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        // Box–Muller normal.
        x = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - rnd();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  const g1 = gamma(a);
  return g1 / (g1 + gamma(b));
}

/** Beta spread of the image model's `sexual` probability: U-shaped, like a confident classifier. */
export const IMAGE_BETA = { a: 0.35, b: 0.65 } as const;

/**
 * The image part. There are no labelled images, so the image model is treated as a calibrated
 * teacher: p ~ Beta(IMAGE_BETA), label ~ Bernoulli(p). Other categories are not scored (0).
 */
export function imagePart(rnd: Rng, sexualIndex: number): Part {
  const p = betaSample(IMAGE_BETA.a, IMAGE_BETA.b, rnd);
  const probs = new Float32Array(NUM_LABELS);
  const y = new Float32Array(NUM_LABELS);
  probs[sexualIndex] = p;
  y[sexualIndex] = rnd() < p ? 1 : 0;
  // The image is known to carry no hate/harassment/offensive label (only its `sexual` is modelled).
  return { probs, y, mask: new Float32Array(NUM_LABELS).fill(1) };
}

/** Draws a non-empty presence mask, each channel present with probability `p`. */
export function drawPresence(rnd: Rng, p = 0.5): Float32Array {
  for (;;) {
    const present = Float32Array.from({ length: NUM_CHANNELS }, () => (rnd() < p ? 1 : 0));
    if (present.some((v) => v > 0)) return present;
  }
}

/**
 * Item labels given which parts are present: 1 if any present part is positive; unknown (mask 0)
 * if none is positive but some present part's label is unknown; else 0.
 */
export function itemLabels(item: Item, present: ArrayLike<number>): { y: Float32Array; mask: Float32Array } {
  const y = new Float32Array(NUM_LABELS);
  const mask = new Float32Array(NUM_LABELS).fill(1);
  for (let c = 0; c < NUM_LABELS; c++) {
    let unknown = false;
    item.parts.forEach((part, k) => {
      if ((present[k] ?? 0) <= 0.5) return;
      if ((part.mask[c] ?? 0) === 0) unknown = true;
      else if ((part.y[c] ?? 0) > 0.5) y[c] = 1;
    });
    if (y[c] === 0 && unknown) mask[c] = 0;
  }
  return { y, mask };
}

/** Flattens present parts' probabilities into the model's [channel, category] input row. */
export function itemInput(item: Item, present: ArrayLike<number>): Float32Array {
  const row = new Float32Array(NUM_CHANNELS * NUM_LABELS);
  item.parts.forEach((part, k) => {
    if ((present[k] ?? 0) > 0.5) row.set(part.probs, k * NUM_LABELS);
  });
  return row;
}
