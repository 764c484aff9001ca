/**
 * Trains the subword CNN (cnn.ts) with PyTorch: writes the rows as hashed ids (the TypeScript
 * featurizer is the only one), runs cnn/train_cnn.py with the system Python, reads the weights and the
 * logits of the rows it was asked to score back. Why Python for the loop only: see train_cnn.py.
 * PyTorch is optional: {@link torchUnavailable} says why it cannot run, and train.ts then skips the CNN.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featurizerTokens, type SubwordFeaturizerConfig, subwordIds } from '#shared/text/featurize.ts';
import type { CnnParams } from './cnn.ts';
import type { EpochSummary } from './trainer.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TRAIN_CNN_SCRIPT = join(HERE, 'cnn/train_cnn.py');

/** Debian's python3, where python3-torch is installed; a pyenv `python3` on PATH has no torch. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** Hyperparameters of the CNN and of its training loop. */
export interface CnnHyperparameters {
  dim: number;
  filters: number;
  /** Convolution width in words (odd). */
  width: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  /** Peak Adam learning rate, decayed linearly to 5% of it (as trainer.ts). */
  lr: number;
  /** Dropout on the pooled vector while training. */
  dropout: number;
}

/** Why `python` cannot train the CNN (no interpreter, no torch), or undefined when it can. */
export function torchUnavailable(python: string): string | undefined {
  const r = spawnSync(python, ['-c', 'import numpy, torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${python} cannot be run (${r.error.message})`;
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`;
    return `${python} cannot import torch and numpy (${last})`;
  }
  return undefined;
}

/** A training or scored row: its text, and for training its targets, mask and loss weight. */
export interface CnnRow {
  e: { text: string };
  y: ArrayLike<number>;
  mask: ArrayLike<number>;
  weight?: number;
}

/**
 * Distinct word rows (word id + subword ids) of every text seen, and each text's words as indices into
 * them: Python then embeds each distinct word once per batch. Cached per row object across fits.
 */
export class SubwordVocabulary {
  readonly slots: number;
  private readonly typeOf = new Map<string, number>();
  private readonly rows: Int32Array[] = [];
  private readonly cache = new WeakMap<object, Int32Array>();

  constructor(readonly config: SubwordFeaturizerConfig) {
    this.slots = 1 + config.maxSubwords;
  }

  /** The text's words, in order and cut at maxWords, as type indices (as featurizeSubwords sees them). */
  words(row: { e: { text: string } }): Int32Array {
    const hit = this.cache.get(row);
    if (hit !== undefined) return hit;
    const tokens = featurizerTokens(row.e.text, this.config).slice(0, this.config.maxWords);
    const out = Int32Array.from(tokens, (t) => {
      let k = this.typeOf.get(t);
      if (k === undefined) {
        k = this.rows.length;
        this.rows.push(subwordIds(t, this.config));
        this.typeOf.set(t, k);
      }
      return k;
    });
    this.cache.set(row, out);
    return out;
  }

  /** [types, slots] row-major. */
  types(): Int32Array {
    const out = new Int32Array(this.rows.length * this.slots);
    this.rows.forEach((r, i) => {
      out.set(r, i * this.slots);
    });
    return out;
  }

  get size(): number {
    return this.rows.length;
  }
}

export const INPUT_MAGIC = 'TXTCNN01';
export const ROLE = { train: 1, validation: 2, score: 4 } as const;

type Dtype = 'int32' | 'float32' | 'uint8';
interface ArraySpec {
  dtype: Dtype;
  shape: number[];
  data: Int32Array | Float32Array | Uint8Array;
}

/** The input file of train_cnn.py (layout in its docstring). */
export function encodeCnnInput(header: Record<string, unknown>, arrays: Record<string, ArraySpec>): Buffer {
  let offset = 0;
  const specs: Record<string, { dtype: Dtype; shape: number[]; offset: number }> = {};
  for (const [name, a] of Object.entries(arrays)) {
    specs[name] = { dtype: a.dtype, shape: a.shape, offset };
    offset += Math.ceil(a.data.byteLength / 8) * 8;
  }
  const json = Buffer.from(JSON.stringify({ ...header, arrays: specs }), 'utf8');
  const start = Math.ceil((12 + json.length) / 8) * 8;
  const out = Buffer.alloc(start + offset);
  out.write(INPUT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  for (const [name, a] of Object.entries(arrays)) {
    const at = start + (specs[name]?.offset ?? 0);
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).copy(out, at);
  }
  return out;
}

/** What one training run gives back. */
export interface CnnTrainResult {
  params: CnnParams;
  /** Uncalibrated logits of the rows asked to score (and of the validation rows). */
  logits: Map<CnnRow, Float32Array>;
  bestEpoch: number;
  history: EpochSummary[];
  seconds: number;
}

export interface CnnTrainOptions {
  python: string;
  vocabulary: SubwordVocabulary;
  hyper: CnnHyperparameters;
  seed: number;
  outputs: number;
  train: readonly CnnRow[];
  validation: readonly CnnRow[];
  /** Rows whose logits are wanted besides validation's. */
  score: readonly CnnRow[];
}

/** Trains once in PyTorch; throws with the script's exit status when it fails. */
export function trainCnn(o: CnnTrainOptions): CnnTrainResult {
  const started = performance.now();
  const roles = new Map<CnnRow, number>();
  const add = (rows: readonly CnnRow[], bit: number) => {
    for (const r of rows) roles.set(r, (roles.get(r) ?? 0) | bit);
  };
  add(o.train, ROLE.train);
  add(o.validation, ROLE.validation | ROLE.score);
  add(o.score, ROLE.score);
  const rows = [...roles.keys()];
  const words = rows.map((r) => o.vocabulary.words(r));
  const offsets = new Int32Array(rows.length + 1);
  words.forEach((w, i) => {
    offsets[i + 1] = (offsets[i] ?? 0) + w.length;
  });
  const tokens = new Int32Array(offsets[rows.length] ?? 0);
  words.forEach((w, i) => {
    tokens.set(w, offsets[i] ?? 0);
  });
  const k = o.outputs;
  const y = new Float32Array(rows.length * k);
  const mask = new Float32Array(rows.length * k);
  rows.forEach((r, i) => {
    for (let j = 0; j < k; j++) {
      y[i * k + j] = r.y[j] ?? 0;
      mask[i * k + j] = r.mask[j] ?? 0;
    }
  });
  const { vocabulary: v } = o;
  const input = encodeCnnInput(
    { buckets: v.config.buckets, outputs: k, hyper: { ...o.hyper, seed: o.seed } },
    {
      types: { dtype: 'int32', shape: [v.size, v.slots], data: v.types() },
      offsets: { dtype: 'int32', shape: [rows.length + 1], data: offsets },
      tokens: { dtype: 'int32', shape: [tokens.length], data: tokens },
      y: { dtype: 'float32', shape: [rows.length, k], data: y },
      mask: { dtype: 'float32', shape: [rows.length, k], data: mask },
      weight: { dtype: 'float32', shape: [rows.length], data: Float32Array.from(rows, (r) => r.weight ?? 1) },
      role: { dtype: 'uint8', shape: [rows.length], data: Uint8Array.from(rows, (r) => roles.get(r) ?? 0) },
    },
  );
  const dir = mkdtempSync(join(tmpdir(), 'text-cnn-'));
  try {
    writeFileSync(join(dir, 'input.bin'), input);
    const run = spawnSync(o.python, [TRAIN_CNN_SCRIPT, join(dir, 'input.bin'), dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (run.error) throw new Error(`cannot run ${o.python} ${TRAIN_CNN_SCRIPT}: ${run.error.message}`);
    if (run.status !== 0) throw new Error(`${TRAIN_CNN_SCRIPT} failed (exit ${run.status ?? run.signal})`);
    const meta = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as {
      tensors: Record<string, { shape: number[]; offset: number }>;
      bestEpoch: number;
      history: EpochSummary[];
    };
    const params = readParams(
      readFileSync(join(dir, 'weights.bin')),
      meta.tensors,
      v.config.buckets,
      o.hyper,
    );
    const raw = new Float32Array(new Uint8Array(readFileSync(join(dir, 'logits.bin'))).buffer);
    const scored = rows.filter((r) => ((roles.get(r) ?? 0) & ROLE.score) !== 0);
    if (raw.length !== scored.length * k)
      throw new Error(`logits.bin holds ${raw.length} values, expected ${scored.length} × ${k}`);
    const logits = new Map(scored.map((r, i) => [r, raw.slice(i * k, (i + 1) * k)] as const));
    return {
      params,
      logits,
      bestEpoch: meta.bestEpoch,
      history: meta.history,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** weights.bin + its shapes → CnnParams, with identity calibration. */
export function readParams(
  bytes: Uint8Array,
  tensors: Record<string, { shape: number[]; offset: number }>,
  buckets: number,
  hyper: Pick<CnnHyperparameters, 'dim' | 'filters' | 'width' | 'hidden'>,
): CnnParams {
  const get = (name: string, shape: number[]): Float32Array => {
    const t = tensors[name];
    if (t === undefined) throw new Error(`weights.json has no tensor ${name}`);
    if (t.shape.join() !== shape.join())
      throw new Error(`tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    const n = shape.reduce((a, b) => a * b, 1);
    // Copy: the offset inside the file buffer is not necessarily 4-byte aligned in memory.
    return new Float32Array(new Uint8Array(bytes.subarray(t.offset, t.offset + 4 * n)).buffer);
  };
  const { dim, filters, width, hidden } = hyper;
  const outputs = tensors.out_b?.shape[0] ?? 0;
  const inner = hidden > 0 ? hidden : filters;
  const embedding = get('embedding', [buckets + 1, dim]);
  // Row 0 is padding: PyTorch's EmbeddingBag skips it, the ONNX graph sums it, so it must be zero
  // (train_cnn.py zeroes it and never updates it; this makes the graph not depend on that).
  embedding.fill(0, 0, dim);
  return {
    buckets,
    dim,
    filters,
    width,
    hidden,
    embedding,
    convW: get('conv_w', [filters, dim, width]),
    convB: get('conv_b', [filters]),
    hiddenW: hidden > 0 ? get('hidden_w', [hidden, filters]) : new Float32Array(),
    hiddenB: hidden > 0 ? get('hidden_b', [hidden]) : new Float32Array(),
    outW: get('out_w', [outputs, inner]),
    outB: get('out_b', [outputs]),
    calibScale: new Float32Array(outputs).fill(1),
    calibShift: new Float32Array(outputs),
  };
}
