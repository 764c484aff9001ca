/**
 * The late-fusion classifier: per category, a logistic model over the logits of the present
 * channels' probabilities. For category c and the set S of present channels:
 *
 *   p_c = sigmoid(b_c + Σ_{k ∈ S} (w_kc · logit(clip(p_kc, lo, hi)) + β_kc)),  w_kc ≥ 0
 *
 * w_kc ≥ 0 makes the fused probability monotone in every channel's probability; β_kc is the
 * shift for channel k being present. Pairs where channel k does not score category c have
 * w = β = 0. The ONNX graph selects present channels with Where, so whatever an absent channel
 * holds (even NaN) cannot reach the output.
 *
 * Strong evidence is never silenced: where a present channel scores category c at or above
 * `strong`, the fused probability is at least that channel's own (calibrated) probability,
 *
 *   p_c ← max(p_c, max_{k ∈ S, p_kc ≥ strong} p_kc)
 *
 * A fused model learns how far to trust each channel on average; a clearly spoken or written threat
 * that speech recognition or OCR mangled into a weaker transcript must still reach review or block.
 */
import { buildModel, int64s } from '#model-artifacts/onnx/graph.ts';
import { CHANNEL_SPECS, CHANNELS } from '#shared/modalities/registry.ts';

/** The fused categories, in `probs` column order (the taxonomy's order). */
export const FUSION_LABELS = ['sexual', 'hate', 'harassment', 'violence', 'offensive'] as const;
export type FusionLabel = (typeof FUSION_LABELS)[number];

export const NUM_CHANNELS = CHANNELS.length;
export const NUM_LABELS = FUSION_LABELS.length;

/** Which categories each channel's model scores (the channel specs of shared/modalities say). */
export const CHANNEL_CATEGORIES: Readonly<Record<string, readonly FusionLabel[]>> = Object.fromEntries(
  CHANNEL_SPECS.map((spec) => [
    spec.name,
    FUSION_LABELS.filter((label) => (spec.categories as readonly string[]).includes(label)),
  ]),
);

/** 1 where channel k scores category c, row-major [channel, category]. */
export const SCORED: Float32Array = Float32Array.from(
  CHANNELS.flatMap((ch) => FUSION_LABELS.map((c) => (CHANNEL_CATEGORIES[ch]?.includes(c) ? 1 : 0))),
);

export interface FusionParams {
  /**
   * Probabilities are clipped to [lo, hi] before the logit. A high floor bounds how much a channel
   * that looks clearly benign can cancel another that looks harmful (labels are an OR of parts).
   */
  clip: { lo: number; hi: number };
  /** [channel, category] weights on the clipped logit, ≥ 0. */
  w: Float32Array;
  /** [channel, category] presence shifts. */
  beta: Float32Array;
  /** [category] intercepts. */
  bias: Float32Array;
  /** A present channel's probability at or above this is a floor for the fused one; absent: no floor. */
  strong?: number;
}

/** The floor fusion 1.2 ships with: a channel that alone says "more likely than not" keeps its say. */
export const STRONG_CHANNEL = 0.5;

export const clippedLogit = (p: number, clip: FusionParams['clip']): number => {
  const q = Math.min(clip.hi, Math.max(clip.lo, Number.isFinite(p) ? p : 0));
  return Math.log(q / (1 - q));
};

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Fused logits for one item: probs [channel][category] (row-major), present [channel]. */
export function fusedLogits(
  p: FusionParams,
  probs: ArrayLike<number>,
  present: ArrayLike<number>,
): Float64Array {
  const z = Float64Array.from(p.bias);
  for (let k = 0; k < NUM_CHANNELS; k++) {
    if ((present[k] ?? 0) <= 0.5) continue;
    for (let c = 0; c < NUM_LABELS; c++) {
      const i = k * NUM_LABELS + c;
      if ((SCORED[i] ?? 0) === 0) continue;
      z[c] = (z[c] ?? 0) + (p.w[i] ?? 0) * clippedLogit(probs[i] ?? 0, p.clip) + (p.beta[i] ?? 0);
    }
  }
  return z;
}

/** Fused probabilities for one item (what the ONNX graph computes). */
export function fuse(p: FusionParams, probs: ArrayLike<number>, present: ArrayLike<number>): Float64Array {
  const out = fusedLogits(p, probs, present).map(sigmoid);
  if (p.strong === undefined) return out;
  for (let k = 0; k < NUM_CHANNELS; k++) {
    if ((present[k] ?? 0) <= 0.5) continue;
    for (let c = 0; c < NUM_LABELS; c++) {
      const i = k * NUM_LABELS + c;
      const q = probs[i] ?? 0;
      if ((SCORED[i] ?? 0) === 1 && Number.isFinite(q) && q >= p.strong) out[c] = Math.max(out[c] ?? 0, q);
    }
  }
  return out;
}

/**
 * Name of the per-channel probability input. docs/CONTRACTS.md calls both this input and the
 * output `probs`, but an ONNX graph cannot define one name twice (onnxruntime rejects it with
 * "Duplicate definition of name"), so the input is `channel_probs`; the manifest records it.
 */
export const FUSION_INPUT = 'channel_probs';

/** Serialises fusion parameters to ONNX bytes (opset 15). */
export function exportFusionModel(p: FusionParams, metadata: Record<string, string> = {}): Uint8Array {
  const mask = (a: Float32Array): Float32Array => a.map((v, i) => v * (SCORED[i] ?? 0));
  return buildModel({
    name: 'fusion',
    inputs: [
      { name: FUSION_INPUT, type: 'float32', shape: ['batch', NUM_CHANNELS, NUM_LABELS] },
      { name: 'present', type: 'float32', shape: ['batch', NUM_CHANNELS] },
    ],
    outputs: [{ name: 'probs', type: 'float32', shape: ['batch', NUM_LABELS] }],
    initializers: [
      { name: 'clip_lo', dims: [], data: Float32Array.of(p.clip.lo) },
      { name: 'clip_hi', dims: [], data: Float32Array.of(p.clip.hi) },
      { name: 'one', dims: [], data: Float32Array.of(1) },
      { name: 'half', dims: [], data: Float32Array.of(0.5) },
      { name: 'zero', dims: [], data: Float32Array.of(0) },
      { name: 'channel_w', dims: [NUM_CHANNELS, NUM_LABELS], data: mask(p.w) },
      { name: 'channel_beta', dims: [NUM_CHANNELS, NUM_LABELS], data: mask(p.beta) },
      { name: 'intercept', dims: [NUM_LABELS], data: p.bias },
      int64s('axes_channel', [1]),
      int64s('axes_last', [2]),
      ...(p.strong === undefined
        ? []
        : [
            { name: 'strong', dims: [], data: Float32Array.of(p.strong) },
            { name: 'scored_mask', dims: [NUM_CHANNELS, NUM_LABELS], data: SCORED },
          ]),
    ],
    nodes: [
      // NaN in an absent channel must not leak through Clip/Log: zero it first with Where.
      { op: 'Unsqueeze', inputs: ['present', 'axes_last'], outputs: ['present3'] },
      { op: 'Greater', inputs: ['present3', 'half'], outputs: ['is_present'] },
      { op: 'Where', inputs: ['is_present', FUSION_INPUT, 'zero'], outputs: ['probs_present'] },
      { op: 'Clip', inputs: ['probs_present', 'clip_lo', 'clip_hi'], outputs: ['p_clipped'] },
      { op: 'Sub', inputs: ['one', 'p_clipped'], outputs: ['q'] },
      { op: 'Div', inputs: ['p_clipped', 'q'], outputs: ['odds'] },
      { op: 'Log', inputs: ['odds'], outputs: ['channel_logit'] },
      { op: 'Mul', inputs: ['channel_logit', 'channel_w'], outputs: ['weighted'] },
      { op: 'Add', inputs: ['weighted', 'channel_beta'], outputs: ['contribution'] },
      { op: 'Where', inputs: ['is_present', 'contribution', 'zero'], outputs: ['masked'] },
      { op: 'ReduceSum', inputs: ['masked', 'axes_channel'], outputs: ['summed'], attrs: { keepdims: 0 } },
      { op: 'Add', inputs: ['summed', 'intercept'], outputs: ['fused_logits'] },
      ...(p.strong === undefined
        ? [{ op: 'Sigmoid', inputs: ['fused_logits'], outputs: ['probs'] }]
        : [
            { op: 'Sigmoid', inputs: ['fused_logits'], outputs: ['fused_probs'] },
            // The floor: present, scored channels at or above `strong` (NaN compares false).
            { op: 'GreaterOrEqual', inputs: ['probs_present', 'strong'], outputs: ['is_strong_value'] },
            { op: 'Greater', inputs: ['scored_mask', 'half'], outputs: ['is_scored'] },
            { op: 'And', inputs: ['is_strong_value', 'is_scored'], outputs: ['strong_scored'] },
            { op: 'And', inputs: ['strong_scored', 'is_present'], outputs: ['is_strong'] },
            { op: 'Where', inputs: ['is_strong', 'probs_present', 'zero'], outputs: ['strong_probs'] },
            {
              op: 'ReduceMax',
              inputs: ['strong_probs'],
              outputs: ['floor'],
              attrs: { axes: [1], keepdims: 0 },
            },
            { op: 'Max', inputs: ['fused_probs', 'floor'], outputs: ['probs'] },
          ]),
    ],
    metadata,
  });
}
