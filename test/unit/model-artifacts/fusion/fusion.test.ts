import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Item,
  itemInput,
  itemLabels,
  mulberry32,
  ocrNoise,
  speechNoise,
} from '#model-artifacts/fusion/compose.ts';
import {
  exportFusionModel,
  FUSION_INPUT,
  FUSION_LABELS,
  type FusionParams,
  fuse,
  NUM_CHANNELS,
  NUM_LABELS,
  SCORED,
} from '#model-artifacts/fusion/model.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const MODEL_DIR = join(REPO_ROOT, 'model-artifacts/models/fusion/');
const ROW = NUM_CHANNELS * NUM_LABELS;

/** Every non-empty subset of the four channels, as presence masks. */
const SUBSETS: number[][] = Array.from({ length: 15 }, (_, s) =>
  Array.from({ length: NUM_CHANNELS }, (_, k) => ((s + 1) >> k) & 1),
);

async function run(
  session: ort.InferenceSession,
  rows: Float32Array[],
  presents: number[][],
): Promise<number[][]> {
  const x = new Float32Array(rows.length * ROW);
  rows.forEach((r, b) => {
    x.set(r, b * ROW);
  });
  const out = await session.run({
    [FUSION_INPUT]: new ort.Tensor('float32', x, [rows.length, NUM_CHANNELS, NUM_LABELS]),
    present: new ort.Tensor('float32', Float32Array.from(presents.flat()), [rows.length, NUM_CHANNELS]),
  });
  const data = Array.from(out.probs?.data as Float32Array);
  return rows.map((_, b) => data.slice(b * NUM_LABELS, (b + 1) * NUM_LABELS));
}

describe('committed fusion model', () => {
  let session: ort.InferenceSession;
  let manifest: {
    sha256: string;
    labels: string[];
    inputs: { name: string; shape: (string | number)[] }[];
    outputs: { name: string }[];
  };
  const rnd = mulberry32(42);
  const randomRow = (): Float32Array => Float32Array.from({ length: ROW }, () => rnd());

  beforeAll(async () => {
    const bytes = readFileSync(`${MODEL_DIR}model.onnx`);
    manifest = JSON.parse(readFileSync(`${MODEL_DIR}manifest.json`, 'utf8'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    session = await ort.InferenceSession.create(bytes);
  });

  it('declares the fused labels and the input and output names the graph has', () => {
    expect(manifest.labels).toEqual(['sexual', 'hate', 'harassment', 'violence', 'offensive']);
    expect(manifest.inputs.map((i) => i.name)).toEqual(session.inputNames);
    expect(manifest.outputs.map((o) => o.name)).toEqual(['probs']);
    expect(session.outputNames).toEqual(['probs']);
  });

  it('accepts every non-empty subset of channels and returns probabilities', async () => {
    const rows = SUBSETS.map(() => randomRow());
    const out = await run(session, rows, SUBSETS);
    expect(out).toHaveLength(SUBSETS.length);
    for (const row of out) {
      expect(row).toHaveLength(NUM_LABELS);
      for (const p of row) {
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
      }
    }
  });

  it('never lowers a category when a present channel raises its probability', async () => {
    const FLOAT32_ROUNDING = 1e-6;
    const grid = [0, 1e-6, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.999, 1];
    const rows: Float32Array[] = [];
    const presents: number[][] = [];
    for (const present of SUBSETS) {
      const base = randomRow();
      for (let k = 0; k < NUM_CHANNELS; k++) {
        if (present[k] === 0) continue;
        for (let c = 0; c < NUM_LABELS; c++) {
          for (const v of grid) {
            const row = base.slice();
            row[k * NUM_LABELS + c] = v;
            rows.push(row);
            presents.push(present);
          }
        }
      }
    }
    const out = await run(session, rows, presents);
    for (let start = 0; start < out.length; start += grid.length) {
      const c = Math.floor(start / grid.length) % NUM_LABELS;
      const series = out.slice(start, start + grid.length).map((r) => r[c] ?? Number.NaN);
      // Within float32 rounding: near saturation a sigmoid output steps by one ulp (6e-8) either way.
      series.slice(1).forEach((p, i) => {
        expect(p).toBeGreaterThanOrEqual((series[i] ?? Number.NaN) - FLOAT32_ROUNDING);
      });
    }
  });

  it('ignores whatever an absent channel holds', async () => {
    for (const present of SUBSETS.filter((s) => s.includes(0))) {
      const base = randomRow();
      const variants = [0, 1, 0.5, Number.NaN].map((fill) => {
        const row = base.slice();
        present.forEach((p, k) => {
          if (p === 0) row.fill(fill, k * NUM_LABELS, (k + 1) * NUM_LABELS);
        });
        return row;
      });
      const out = await run(
        session,
        variants,
        variants.map(() => present),
      );
      for (const row of out) expect(row).toEqual(out[0]);
    }
  });

  it('raises hate when the text channel says hate, whatever else is present', async () => {
    const hate = FUSION_LABELS.indexOf('hate');
    const text = CHANNELS.indexOf('text');
    const low = new Float32Array(ROW).fill(0.05);
    const high = low.slice();
    high[text * NUM_LABELS + hate] = 0.95;
    const present = [1, 1, 1, 1];
    const [a, b] = await run(session, [low, high], [present, present]);
    expect(b?.[hate]).toBeGreaterThan((a?.[hate] ?? 1) + 0.2);
  });
  it('never silences a strong channel: its own probability is a floor for the fused one', async () => {
    const rows: Float32Array[] = [];
    const presents: number[][] = [];
    const expected: [number, number][] = [];
    CHANNELS.forEach((_, k) => {
      FUSION_LABELS.forEach((_, c) => {
        if ((SCORED[k * NUM_LABELS + c] ?? 0) === 0) return;
        // Every channel present and clearly benign, but this one says 0.8.
        const row = new Float32Array(ROW).fill(0.01);
        row[k * NUM_LABELS + c] = 0.8;
        rows.push(row);
        presents.push(CHANNELS.map(() => 1));
        expected.push([rows.length - 1, c]);
      });
    });
    const out = await run(session, rows, presents);
    for (const [b, c] of expected) expect(out[b]?.[c]).toBeGreaterThanOrEqual(0.8 - 1e-6);
  });
});

describe('fusion export', () => {
  it.each([
    undefined,
    0.5,
  ])('computes the same probabilities as the TypeScript model (strong %s)', async (strong) => {
    const params: FusionParams = {
      clip: { lo: 0.05, hi: 0.9999 },
      w: Float32Array.from(SCORED, (s, i) => s * (0.5 + (i % 3) * 0.25)),
      beta: Float32Array.from(SCORED, (s, i) => s * ((i % 5) - 2) * 0.3),
      bias: Float32Array.of(-2, -1, -0.5, -3, 0.25),
      ...(strong === undefined ? {} : { strong }),
    };
    const session = await ort.InferenceSession.create(exportFusionModel(params));
    const rnd = mulberry32(7);
    const rows = SUBSETS.map(() => Float32Array.from({ length: ROW }, () => rnd()));
    const out = await run(session, rows, SUBSETS);
    rows.forEach((row, b) => {
      const ts = Array.from(fuse(params, row, SUBSETS[b] ?? []));
      expect(out[b]).toEqual(ts.map((v) => expect.closeTo(v, 6)));
    });
  });
});

describe('item composition', () => {
  // Columns: sexual, hate, harassment, violence, offensive.
  const part = (y: number[], mask: number[] = [1, 1, 1, 1, 1]) => ({
    probs: Float32Array.from(y, (v) => v * 0.9),
    y: Float32Array.from(y),
    mask: Float32Array.from(mask),
  });
  const item: Item = {
    parts: [
      part([0, 0, 0, 0, 1]),
      part([1, 0, 0, 0, 0]),
      part([0, 1, 0, 0, 1]),
      part([0, 0, 0, 0, 0], [1, 1, 0, 1, 1]),
    ],
  };

  it('labels an item with the OR of its present parts, unknown only when nothing decides', () => {
    expect(itemLabels(item, [1, 0, 1, 0])).toEqual({
      y: Float32Array.of(0, 1, 0, 0, 1),
      mask: Float32Array.of(1, 1, 1, 1, 1),
    });
    expect(itemLabels(item, [1, 0, 0, 1])).toEqual({
      y: Float32Array.of(0, 0, 0, 0, 1),
      mask: Float32Array.of(1, 1, 0, 1, 1),
    });
  });

  it('zeroes absent channels in the model input', () => {
    const x = itemInput(item, [0, 1, 0, 0]);
    expect(Array.from(x)).toEqual(
      [0, 0, 0, 0, 0, 0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].map((v) => expect.closeTo(v, 6)),
    );
  });

  it('simulates recognition noise deterministically', () => {
    const text = '@USER You are such a LOSER 😂 http://t.co/x';
    expect(ocrNoise(text, mulberry32(1))).toBe(ocrNoise(text, mulberry32(1)));
    const heard = speechNoise(text, mulberry32(1), 0);
    expect(heard).toBe('you are such a loser');
  });
});
