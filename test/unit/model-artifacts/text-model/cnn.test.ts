import { describe, expect, it } from 'vitest';
import {
  type CnnParams,
  cnnForward,
  cnnParamsFromOnnx,
  exportCnnModel,
  randomCnnParams,
  runCnnModel,
} from '#model-artifacts/text-model/cnn.ts';
import {
  encodeCnnInput,
  INPUT_MAGIC,
  readParams,
  SubwordVocabulary,
} from '#model-artifacts/text-model/cnn-train.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import { featurizeSubwords, type SubwordFeaturizerConfig } from '#shared/text/featurize.ts';

const CONFIG: SubwordFeaturizerConfig = {
  kind: 'hashed-subword-cnn',
  version: 1,
  hash: 'fnv1a32',
  buckets: 97,
  maxWords: 16,
  maxSubwords: 5,
  charNgrams: [3, 5],
  deleet: true,
  evasion: true,
};
const TEXTS = [
  'they are not lazy',
  'you absolute idiot',
  '',
  'a much longer text with many more words than the rest',
];
const SHAPE = { buckets: CONFIG.buckets, dim: 6, filters: 7, width: 3, outputs: 5 };

function model(hidden: number): CnnParams {
  const p = randomCnnParams({ ...SHAPE, hidden }, 11);
  p.calibScale.set([0.9, 1.1, 1.3, 1, 0.5]);
  p.calibShift.set([-0.1, 0.2, 0, 0.3, -0.4]);
  return p;
}

const seqs = TEXTS.map((t) => featurizeSubwords(t, CONFIG));

describe('subword CNN ONNX graph', () => {
  it.each([0, 4])('matches the TypeScript forward pass (hidden %i)', async (hidden) => {
    const p = model(hidden);
    const session = await createSession(exportCnnModel(p));
    const out = await runCnnModel(session, seqs);
    seqs.forEach((s, i) => {
      const ts = cnnForward(p, s);
      expect(Array.from(out.probs[i] ?? [])).toEqual(Array.from(ts.probs).map((v) => expect.closeTo(v, 5)));
      expect(Array.from(out.embedding[i] ?? [])).toEqual(
        Array.from(ts.repr).map((v) => expect.closeTo(v, 5)),
      );
    });
    expect(out.embedding[0]).toHaveLength(hidden || SHAPE.filters);
  });

  it('is unchanged by padding words and subwords, in the batch and on its own', async () => {
    const session = await createSession(exportCnnModel(model(4)));
    const tight = await runCnnModel(session, seqs);
    const padded = await runCnnModel(session, seqs, { words: 40, slots: 9 });
    const alone = await runCnnModel(session, [seqs[1] as (typeof seqs)[number]]);
    tight.probs.forEach((row, i) => {
      expect(Array.from(padded.probs[i] ?? [])).toEqual(Array.from(row).map((v) => expect.closeTo(v, 6)));
    });
    expect(Array.from(alone.probs[0] ?? [])).toEqual(
      Array.from(tight.probs[1] ?? []).map((v) => expect.closeTo(v, 6)),
    );
  });

  it('pools an empty text to zeros and sees word order', async () => {
    const p = model(4);
    const empty = cnnForward(p, seqs[2] as (typeof seqs)[number]);
    expect(Array.from(empty.pooled)).toEqual(new Array(SHAPE.filters).fill(0));
    const session = await createSession(exportCnnModel(p));
    const [a, b] = (
      await runCnnModel(session, [
        featurizeSubwords('they are not lazy at all', CONFIG),
        featurizeSubwords('all at lazy not are they', CONFIG),
      ])
    ).probs;
    const diff = Math.max(...Array.from(a ?? [], (v, k) => Math.abs(v - (b?.[k] ?? 0))));
    expect(diff).toBeGreaterThan(1e-4);
  });

  it('round-trips its weights through cnnParamsFromOnnx', () => {
    const p = model(4);
    const back = cnnParamsFromOnnx(exportCnnModel(p));
    const { buckets, dim, filters, width, hidden } = back;
    expect({ buckets, dim, filters, width, hidden }).toEqual({
      buckets: SHAPE.buckets,
      dim: SHAPE.dim,
      filters: SHAPE.filters,
      width: SHAPE.width,
      hidden: 4,
    });
    expect(back.convW).toEqual(p.convW);
    expect(back.calibShift).toEqual(p.calibShift);
  });

  it('rejects an even convolution width', () => {
    expect(() => exportCnnModel({ ...model(0), width: 2 })).toThrow(/odd/);
  });
});

describe('PyTorch bridge files (cnn-train.ts)', () => {
  it('lists each distinct word once and gives each text its words in order', () => {
    const v = new SubwordVocabulary(CONFIG);
    const rows = ['you idiot you', 'idiot'].map((text) => ({ e: { text } }));
    const [a, b] = rows.map((r) => v.words(r));
    expect(Array.from(a ?? [])).toEqual([0, 1, 0]);
    expect(Array.from(b ?? [])).toEqual([1]);
    expect(v.size).toBe(2);
    // The type rows, read back through the indices, are the featurizer's own sequence.
    const types = v.types();
    const rebuilt = Array.from(a ?? [], (k) =>
      Array.from(types.subarray(k * v.slots, (k + 1) * v.slots)),
    ).flat();
    expect(rebuilt).toEqual(Array.from(featurizeSubwords('you idiot you', CONFIG).ids));
  });

  it('writes the magic, the header and 8-byte aligned arrays at the offsets the header gives', () => {
    const offsets = Int32Array.of(0, 3, 4);
    const role = Uint8Array.of(1, 6);
    const bytes = encodeCnnInput(
      { outputs: 5 },
      {
        offsets: { dtype: 'int32', shape: [3], data: offsets },
        role: { dtype: 'uint8', shape: [2], data: role },
        y: { dtype: 'float32', shape: [1, 2], data: Float32Array.of(0.5, 1) },
      },
    );
    expect(bytes.subarray(0, 8).toString('latin1')).toBe(INPUT_MAGIC);
    const size = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + size).toString('utf8'));
    const start = Math.ceil((12 + size) / 8) * 8;
    expect(header.outputs).toBe(5);
    const at = (name: string) => start + header.arrays[name].offset;
    expect(header.arrays.role.offset % 8).toBe(0);
    expect(bytes.readInt32LE(at('offsets') + 4)).toBe(3);
    expect(bytes[at('role') + 1]).toBe(6);
    expect(bytes.readFloatLE(at('y') + 4)).toBe(1);
  });

  it('reads weights.bin by name and shape, and refuses a shape that does not fit', () => {
    const p = model(4);
    const parts: [string, Float32Array, number[]][] = [
      ['embedding', p.embedding, [SHAPE.buckets + 1, SHAPE.dim]],
      ['conv_w', p.convW, [SHAPE.filters, SHAPE.dim, SHAPE.width]],
      ['conv_b', p.convB, [SHAPE.filters]],
      ['hidden_w', p.hiddenW, [4, SHAPE.filters]],
      ['hidden_b', p.hiddenB, [4]],
      ['out_w', p.outW, [SHAPE.outputs, 4]],
      ['out_b', p.outB, [SHAPE.outputs]],
    ];
    const tensors: Record<string, { shape: number[]; offset: number }> = {};
    let offset = 0;
    for (const [name, data, shape] of parts) {
      tensors[name] = { shape, offset };
      offset += data.byteLength;
    }
    const bin = Buffer.concat(parts.map(([, d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
    const hyper = { dim: SHAPE.dim, filters: SHAPE.filters, width: SHAPE.width, hidden: 4 };
    const back = readParams(bin, tensors, SHAPE.buckets, hyper);
    expect(back.outW).toEqual(p.outW);
    expect(back.embedding).toEqual(p.embedding);
    expect(Array.from(back.calibScale)).toEqual([1, 1, 1, 1, 1]);
    expect(() => readParams(bin, tensors, SHAPE.buckets, { ...hyper, filters: 8 })).toThrow(
      /conv_w has shape/,
    );
  });
});
