/**
 * Hand-written backprop for the text model: masked binary cross-entropy, Adam on the dense
 * layers and lazy (row-sparse) Adam on the embedding matrix, linear learning-rate decay,
 * feature dropout, best epoch chosen on a validation set. Deterministic from its seed.
 */
import type { Features } from '#shared/text/featurize.ts';
import {
  forward,
  initParams,
  mulberry32,
  OUTPUTS,
  outputsOf,
  type Pooling,
  pooledWidth,
  sigmoid,
  type TextModelParams,
  WEIGHT_EPS,
} from './model.ts';

/** One training row: features, targets and a mask that is 0 where the target is unknown. */
export interface TrainExample {
  f: Features;
  y: ArrayLike<number>;
  mask: ArrayLike<number>;
  /** Weight of the row's loss (small sources up-weighted). @default 1 */
  weight?: number;
}

export interface TrainOptions {
  buckets: number;
  dim: number;
  hidden: number;
  epochs: number;
  /** @default 32 */
  batchSize?: number;
  /** Peak Adam learning rate, decayed linearly to 5% of it. @default 0.01 */
  lr?: number;
  /** Probability of dropping each feature of a training text. @default 0 */
  featureDropout?: number;
  seed: number;
  /** Number of outputs. @default OUTPUTS */
  outputs?: number;
  /** @default 'mean' */
  pooling?: Pooling;
  /** Used to pick the best epoch (lowest masked loss) when given. */
  validation?: readonly TrainExample[];
  /** Called after each epoch with its summary. */
  onEpoch?: (e: EpochSummary) => void;
}

export interface EpochSummary {
  epoch: number;
  trainLoss: number;
  validationLoss?: number;
  seconds: number;
}

export interface TrainResult {
  params: TextModelParams;
  history: EpochSummary[];
  /** 1-based epoch whose parameters were kept. */
  bestEpoch: number;
  seconds: number;
}

const bce = (z: number, y: number): number => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));

/** Mean over examples of the summed masked cross-entropy of the uncalibrated outputs. */
export function maskedLoss(p: TextModelParams, examples: readonly TrainExample[]): number {
  let s = 0;
  for (const e of examples) {
    const { rawLogits } = forward(p, e.f);
    for (let o = 0; o < outputsOf(p); o++) s += (e.mask[o] ?? 0) * bce(rawLogits[o] ?? 0, e.y[o] ?? 0);
  }
  return examples.length === 0 ? Number.NaN : s / examples.length;
}

class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  constructor(size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
  /** Updates `param[from..to)` with `grad[from..to)` at step t (1-based). */
  step(param: Float32Array, grad: Float32Array, from: number, to: number, lr: number, t: number): void {
    const c1 = 1 - 0.9 ** t;
    const c2 = 1 - 0.999 ** t;
    const { m, v } = this;
    for (let i = from; i < to; i++) {
      const g = grad[i] ?? 0;
      const mi = 0.9 * (m[i] ?? 0) + 0.1 * g;
      const vi = 0.999 * (v[i] ?? 0) + 0.001 * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = (param[i] ?? 0) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + 1e-8);
    }
  }
}

function cloneParams(p: TextModelParams): TextModelParams {
  return {
    ...p,
    embedding: p.embedding.slice(),
    w1: p.w1.slice(),
    b1: p.b1.slice(),
    w2: p.w2.slice(),
    b2: p.b2.slice(),
    calibScale: p.calibScale.slice(),
    calibShift: p.calibShift.slice(),
  };
}

/** Trains a text model from scratch. */
export function trainTextModel(train: readonly TrainExample[], o: TrainOptions): TrainResult {
  const started = performance.now();
  const batchSize = o.batchSize ?? 32;
  const peakLr = o.lr ?? 0.01;
  const dropout = o.featureDropout ?? 0;
  const { dim, hidden } = o;
  const outputs = o.outputs ?? OUTPUTS;
  const p = initParams(o.buckets, dim, hidden, o.seed, outputs, o.pooling ?? 'mean');
  const rnd = mulberry32(o.seed ^ 0x9e3779b9);
  const width = pooledWidth(p);
  const inner = hidden > 0 ? hidden : width;

  const gE = new Float32Array(p.embedding.length);
  const touched = new Uint8Array(o.buckets);
  const rows: number[] = [];
  const gW1 = new Float32Array(p.w1.length);
  const gB1 = new Float32Array(p.b1.length);
  const gW2 = new Float32Array(p.w2.length);
  const gB2 = new Float32Array(p.b2.length);
  const adamE = new Adam(p.embedding.length);
  const adamW1 = new Adam(p.w1.length);
  const adamB1 = new Adam(p.b1.length);
  const adamW2 = new Adam(p.w2.length);
  const adamB2 = new Adam(p.b2.length);
  const dRepr = new Float64Array(inner);
  const dBag = new Float64Array(width);

  const order = Array.from({ length: train.length }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(train.length / batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  let step = 0;
  const history: EpochSummary[] = [];
  let best: { loss: number; epoch: number; params: TextModelParams } | undefined;

  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const epochStart = performance.now();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
    }
    let lossSum = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const end = Math.min(order.length, start + batchSize);
      for (let b = start; b < end; b++) {
        const ex = train[order[b] ?? 0];
        if (ex === undefined) continue;
        let f = ex.f;
        if (dropout > 0 && f.ids.length > 1) {
          const ids: number[] = [];
          const weights: number[] = [];
          f.ids.forEach((id, t) => {
            if (rnd() >= dropout) {
              ids.push(id);
              weights.push(f.weights[t] ?? 0);
            }
          });
          if (ids.length > 0) f = { ids, weights };
        }
        const fr = forward(p, f);
        dRepr.fill(0);
        const weight = ex.weight ?? 1;
        for (let k = 0; k < outputs; k++) {
          const m = (ex.mask[k] ?? 0) * weight;
          if (m === 0) continue;
          const z = fr.rawLogits[k] ?? 0;
          const y = ex.y[k] ?? 0;
          lossSum += m * bce(z, y);
          const dz = m * (sigmoid(z) - y);
          gB2[k] = (gB2[k] ?? 0) + dz;
          for (let j = 0; j < inner; j++) {
            gW2[j * outputs + k] = (gW2[j * outputs + k] ?? 0) + (fr.repr[j] ?? 0) * dz;
            dRepr[j] = (dRepr[j] ?? 0) + (p.w2[j * outputs + k] ?? 0) * dz;
          }
        }
        if (hidden > 0) {
          dBag.fill(0);
          for (let j = 0; j < hidden; j++) {
            const d = (fr.pre[j] ?? 0) > 0 ? (dRepr[j] ?? 0) : 0;
            if (d === 0) continue;
            gB1[j] = (gB1[j] ?? 0) + d;
            for (let k = 0; k < width; k++) {
              gW1[k * hidden + j] = (gW1[k * hidden + j] ?? 0) + (fr.bag[k] ?? 0) * d;
              dBag[k] = (dBag[k] ?? 0) + (p.w1[k * hidden + j] ?? 0) * d;
            }
          }
        } else dBag.set(dRepr);
        const den = Math.max(fr.weightSum, WEIGHT_EPS);
        for (let t = 0; t < f.ids.length; t++) {
          const id = f.ids[t] ?? 0;
          const s = (f.weights[t] ?? 0) / den;
          if (s === 0 || id === 0) continue;
          if (touched[id] === 0) {
            touched[id] = 1;
            rows.push(id);
          }
          const off = id * dim;
          for (let k = 0; k < dim; k++) gE[off + k] = (gE[off + k] ?? 0) + s * (dBag[k] ?? 0);
        }
        // Max pooling: each dimension's gradient goes to the row that gave the max.
        for (let k = 0; k < fr.argmax.length; k++) {
          const t = fr.argmax[k] ?? -1;
          const id = t >= 0 ? (f.ids[t] ?? 0) : 0;
          if (id === 0) continue;
          if (touched[id] === 0) {
            touched[id] = 1;
            rows.push(id);
          }
          gE[id * dim + k] = (gE[id * dim + k] ?? 0) + (dBag[dim + k] ?? 0);
        }
      }
      // Gradients are means over the batch.
      const inv = 1 / (end - start);
      step++;
      const lr = peakLr * (1 - 0.95 * ((step - 1) / Math.max(1, totalSteps - 1)));
      for (const g of [gW1, gB1, gW2, gB2]) for (let i = 0; i < g.length; i++) g[i] = (g[i] ?? 0) * inv;
      adamW1.step(p.w1, gW1, 0, gW1.length, lr, step);
      adamB1.step(p.b1, gB1, 0, gB1.length, lr, step);
      adamW2.step(p.w2, gW2, 0, gW2.length, lr, step);
      adamB2.step(p.b2, gB2, 0, gB2.length, lr, step);
      for (const g of [gW1, gB1, gW2, gB2]) g.fill(0);
      for (const r of rows) {
        const from = r * dim;
        for (let k = from; k < from + dim; k++) gE[k] = (gE[k] ?? 0) * inv;
        adamE.step(p.embedding, gE, from, from + dim, lr, step);
        gE.fill(0, from, from + dim);
        touched[r] = 0;
      }
      rows.length = 0;
    }
    const summary: EpochSummary = {
      epoch,
      trainLoss: lossSum / train.length,
      seconds: (performance.now() - epochStart) / 1000,
    };
    if (o.validation !== undefined) {
      summary.validationLoss = maskedLoss(p, o.validation);
      if (best === undefined || summary.validationLoss < best.loss) {
        best = { loss: summary.validationLoss, epoch, params: cloneParams(p) };
      }
    }
    history.push(summary);
    o.onEpoch?.(summary);
  }
  return {
    params: best?.params ?? p,
    history,
    bestEpoch: best?.epoch ?? o.epochs,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Platt scaling of one output: finds a, b minimising the cross-entropy of sigmoid(a·z + b) on
 * held-out logits (Newton's method on two parameters, with Platt's smoothed targets). With
 * `prevalence`, positives and negatives are reweighted so positives make up that share of the
 * total weight: the probabilities are then calibrated for traffic with that base rate rather than
 * for the held-out mix.
 */
export function fitPlatt(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  prevalence?: number,
): { scale: number; shift: number } {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) pos++;
  const neg = labels.length - pos;
  const n = labels.length;
  const wPos = prevalence === undefined || pos === 0 ? 1 : (prevalence * n) / pos;
  const wNeg = prevalence === undefined || neg === 0 ? 1 : ((1 - prevalence) * n) / neg;
  const hi = (pos * wPos + 1) / (pos * wPos + 2);
  const lo = 1 / (neg * wNeg + 2);
  const target = (i: number) => ((labels[i] ?? 0) > 0.5 ? hi : lo);
  const weight = (i: number) => ((labels[i] ?? 0) > 0.5 ? wPos : wNeg);
  // Weighted cross-entropy plus a weak ridge on (a − 1, b): with few positives and a heavy weight
  // the data can be nearly separable, and plain Newton then runs off to infinite scale.
  const RIDGE = 1e-3 * n;
  const loss = (a: number, b: number): number => {
    let l = RIDGE * ((a - 1) ** 2 + b * b) * 0.5;
    for (let i = 0; i < logits.length; i++) {
      const z = a * (logits[i] ?? 0) + b;
      const t = target(i);
      l += weight(i) * (Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z))));
    }
    return l;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let ga = RIDGE * (a - 1);
    let gb = RIDGE * b;
    let haa = RIDGE + 1e-9;
    let hab = 0;
    let hbb = RIDGE + 1e-9;
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i] ?? 0;
      const wi = weight(i);
      const q = sigmoid(a * z + b);
      const d = wi * (q - target(i));
      const w = wi * q * (1 - q);
      ga += d * z;
      gb += d;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    // Backtracking: halve the Newton step until the loss goes down.
    let step = 1;
    let next = loss(a - da, b - db);
    while (!(next <= current) && step > 1e-6) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (!(next <= current)) break;
    a -= step * da;
    b -= step * db;
    const moved = step * (Math.abs(da) + Math.abs(db));
    current = next;
    if (moved < 1e-9) break;
  }
  return { scale: a, shift: b };
}
