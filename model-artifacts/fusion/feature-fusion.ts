/**
 * The feature-fusion alternative to score-only late fusion: per-category logistic regression over
 * the channels' scores (clipped logits) *and* their projected embeddings — the text model's
 * `embedding` for text / ocr / speech, the image model's 1280-d `embedding` projected to a few
 * dimensions by a fixed random Gaussian projection — plus presence bits; absent channels are zeros.
 * Trained and compared by train.ts; kept only if it measures clearly better (it is not shipped
 * otherwise, so the fusion ONNX contract stays scores-only).
 */
import { mulberry32 } from '#model-artifacts/text-model/model.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import { clippedLogit, type FusionParams, NUM_CHANNELS, NUM_LABELS, SCORED } from './model.ts';

export interface FeatureExample {
  x: Float32Array;
  present: Float32Array;
  y: Float32Array;
  mask: Float32Array;
  embeddings: (Float32Array | undefined)[];
}

export interface FeatureSpace {
  clip: FusionParams['clip'];
  /** Image embedding projection [imageDim, projDim]. */
  projection: Float32Array;
  imageDim: number;
  projDim: number;
  textDim: number;
  /** Standardisation of the feature vector (fitted on training examples). */
  mean: Float32Array;
  std: Float32Array;
}

const IMAGE = CHANNELS.indexOf('image');

export function featureSize(textDim: number, projDim: number): number {
  let n = NUM_CHANNELS;
  for (let k = 0; k < NUM_CHANNELS; k++) {
    for (let c = 0; c < NUM_LABELS; c++) if ((SCORED[k * NUM_LABELS + c] ?? 0) > 0) n++;
    n += k === IMAGE ? projDim : textDim;
  }
  return n;
}

/** The raw (unstandardised) feature vector of one example. */
export function rawFeatures(ex: FeatureExample, space: Omit<FeatureSpace, 'mean' | 'std'>): Float32Array {
  const out = new Float32Array(featureSize(space.textDim, space.projDim));
  let i = 0;
  for (let k = 0; k < NUM_CHANNELS; k++) {
    const on = (ex.present[k] ?? 0) > 0.5;
    out[i++] = on ? 1 : 0;
    for (let c = 0; c < NUM_LABELS; c++) {
      if ((SCORED[k * NUM_LABELS + c] ?? 0) === 0) continue;
      out[i++] = on ? clippedLogit(ex.x[k * NUM_LABELS + c] ?? 0, space.clip) : 0;
    }
    const emb = on ? ex.embeddings[k] : undefined;
    if (k === IMAGE) {
      for (let j = 0; j < space.projDim; j++) {
        let s = 0;
        if (emb)
          for (let d = 0; d < space.imageDim; d++)
            s += (emb[d] ?? 0) * (space.projection[d * space.projDim + j] ?? 0);
        out[i++] = s;
      }
    } else {
      for (let d = 0; d < space.textDim; d++) out[i++] = emb?.[d] ?? 0;
    }
  }
  return out;
}

/** Fixes the projection and the standardisation from training examples. */
export function fitSpace(
  train: readonly FeatureExample[],
  opts: { clip: FusionParams['clip']; textDim: number; imageDim: number; projDim: number; seed: number },
): FeatureSpace {
  const rnd = mulberry32(opts.seed);
  const projection = Float32Array.from({ length: opts.imageDim * opts.projDim }, () => {
    const u = Math.max(1e-12, rnd());
    return (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd())) / Math.sqrt(opts.projDim);
  });
  const base = {
    clip: opts.clip,
    projection,
    imageDim: opts.imageDim,
    projDim: opts.projDim,
    textDim: opts.textDim,
  };
  const n = featureSize(opts.textDim, opts.projDim);
  const mean = new Float64Array(n);
  const sq = new Float64Array(n);
  for (const ex of train) {
    const f = rawFeatures(ex, base);
    for (let i = 0; i < n; i++) {
      mean[i] = (mean[i] ?? 0) + (f[i] ?? 0);
      sq[i] = (sq[i] ?? 0) + (f[i] ?? 0) ** 2;
    }
  }
  const m = Float32Array.from(mean, (v) => v / train.length);
  const std = Float32Array.from(sq, (v, i) => Math.sqrt(Math.max(1e-8, v / train.length - (m[i] ?? 0) ** 2)));
  return { ...base, mean: m, std };
}

export function features(ex: FeatureExample, space: FeatureSpace): Float32Array {
  const f = rawFeatures(ex, space);
  for (let i = 0; i < f.length; i++) f[i] = ((f[i] ?? 0) - (space.mean[i] ?? 0)) / (space.std[i] ?? 1);
  return f;
}

export interface LogisticModel {
  /** [feature, category] */
  w: Float32Array;
  b: Float32Array;
  dim: number;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function predictLogistic(m: LogisticModel, f: Float32Array): Float64Array {
  const out = new Float64Array(NUM_LABELS);
  for (let c = 0; c < NUM_LABELS; c++) {
    let z = m.b[c] ?? 0;
    for (let i = 0; i < m.dim; i++) z += (f[i] ?? 0) * (m.w[i * NUM_LABELS + c] ?? 0);
    out[c] = sigmoid(z);
  }
  return out;
}

/**
 * Masked logistic regression with Adam and L2; `drawEpoch` returns that epoch's examples (so
 * modality dropout can draw fresh presence patterns every epoch, as for the score-only model).
 */
export function trainLogistic(
  drawEpoch: () => readonly FeatureExample[],
  space: FeatureSpace,
  opts: { epochs: number; batchSize: number; lr: number; l2: number },
): LogisticModel {
  const dim = space.mean.length;
  const m: LogisticModel = { w: new Float32Array(dim * NUM_LABELS), b: new Float32Array(NUM_LABELS), dim };
  const params = [m.w, m.b];
  const grads = params.map((p) => new Float64Array(p.length));
  const mom = params.map((p) => new Float64Array(p.length));
  const vel = params.map((p) => new Float64Array(p.length));
  let t = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const examples = drawEpoch().map((ex) => ({ f: features(ex, space), y: ex.y, mask: ex.mask }));
    for (let start = 0; start < examples.length; start += opts.batchSize) {
      const batch = examples.slice(start, start + opts.batchSize);
      for (const g of grads) g.fill(0);
      const [gw, gb] = grads as [Float64Array, Float64Array];
      for (const ex of batch) {
        const p = predictLogistic(m, ex.f);
        for (let c = 0; c < NUM_LABELS; c++) {
          if ((ex.mask[c] ?? 0) === 0) continue;
          const d = (p[c] ?? 0) - (ex.y[c] ?? 0);
          gb[c] = (gb[c] ?? 0) + d;
          for (let i = 0; i < dim; i++)
            gw[i * NUM_LABELS + c] = (gw[i * NUM_LABELS + c] ?? 0) + d * (ex.f[i] ?? 0);
        }
      }
      t++;
      params.forEach((param, j) => {
        const g = grads[j] as Float64Array;
        const mj = mom[j] as Float64Array;
        const vj = vel[j] as Float64Array;
        for (let i = 0; i < param.length; i++) {
          const gi = (g[i] ?? 0) / batch.length + (j === 0 ? opts.l2 * (param[i] ?? 0) : 0);
          mj[i] = 0.9 * (mj[i] ?? 0) + 0.1 * gi;
          vj[i] = 0.999 * (vj[i] ?? 0) + 0.001 * gi * gi;
          param[i] =
            (param[i] ?? 0) -
            (opts.lr * ((mj[i] ?? 0) / (1 - 0.9 ** t))) / (Math.sqrt((vj[i] ?? 0) / (1 - 0.999 ** t)) + 1e-8);
        }
      });
    }
  }
  return m;
}
