/**
 * Offline scoring as the pipeline scores a text upload: the text model on each window of the
 * normalised text (shared/extract/text.ts), the max per category over windows (the text channel's
 * scores), then the fusion model with only the text channel present (the verdict's `categories`).
 * Sessions come from the server's model loader (checksums, signature) and shared/onnx/sessions.ts;
 * pre- and post-processing from the manifest's processor, so a replaced text model needs no change here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { fusionProbabilities } from '#model-artifacts/eval/fused.ts';
import { FUSION_LABELS, NUM_CHANNELS, NUM_LABELS } from '#model-artifacts/fusion/model.ts';
import { type LoadedModel, loadModel } from '#model-artifacts/server/registry.ts';
import { extractText } from '#shared/extract/text.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { CHANNELS } from '#shared/modalities/registry.ts';
import { type TextProcessor, textProcessor } from '#shared/moderation/processors.ts';

const TEXT = CHANNELS.indexOf('text');
const BATCH = 256;

export interface ScoredUpload {
  /** Text channel scores by label (verdict.modalities.text.scores). */
  channel: Record<string, number>;
  /** Fused scores of the categories the text channel scores (verdict.categories). */
  fused: Record<string, number>;
  /** The fusion input row: [channel, category], text channel only. */
  x: Float32Array;
  present: Float32Array;
}

export interface OfflineScorer {
  textModel: LoadedModel;
  fusionModel: LoadedModel;
  score(texts: readonly string[]): Promise<ScoredUpload[]>;
  release(): Promise<void>;
}

const toOrt = (t: Tensor) => new ort.Tensor(t.dtype, t.data, t.dims);
const fromOrt = (t: ort.Tensor): Tensor => ({
  dtype: t.type as Tensor['dtype'],
  dims: [...t.dims],
  data: t.data as Tensor['data'],
});

async function runText(
  model: LoadedModel,
  proc: TextProcessor,
  texts: readonly string[],
): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += BATCH) {
    const batch = texts.slice(i, i + BATCH);
    const feeds = Object.fromEntries(Object.entries(proc.encode(batch)).map(([k, t]) => [k, toOrt(t)]));
    const res = await model.session.run(feeds);
    const outputs = Object.fromEntries(Object.entries(res).map(([k, t]) => [k, fromOrt(t as ort.Tensor)]));
    out.push(...proc.decode(outputs, batch.length));
  }
  return out;
}

/** A text-channel-only fusion row from text channel scores by label. */
export function textRow(channel: Record<string, number>): { x: Float32Array; present: Float32Array } {
  const x = new Float32Array(NUM_CHANNELS * NUM_LABELS);
  const present = new Float32Array(NUM_CHANNELS);
  present[TEXT] = 1;
  FUSION_LABELS.forEach((label, c) => {
    x[TEXT * NUM_LABELS + c] = channel[label] ?? 0;
  });
  return { x, present };
}

export async function createOfflineScorer(textDir: string, fusionDir: string): Promise<OfflineScorer> {
  const textModel = await loadModel(textDir);
  const fusionModel = await loadModel(fusionDir);
  const proc = textProcessor(textModel.manifest, (f) => readFileSync(join(textModel.dir, f), 'utf8'));
  return {
    textModel,
    fusionModel,
    async score(texts) {
      const windows = texts.map((t) => extractText(t).windows.map((w) => w.text));
      const flat = await runText(textModel, proc, windows.flat());
      let at = 0;
      const channels = windows.map((ws) => {
        const scores: Record<string, number> = {};
        for (let w = 0; w < ws.length; w++) {
          const row = flat[at++] ?? [];
          proc.labels.forEach((label, k) => {
            scores[label] = Math.max(scores[label] ?? 0, row[k] ?? 0);
          });
        }
        return scores;
      });
      const rows = channels.map(textRow);
      const fused = await fusionProbabilities(fusionModel.session, rows);
      return channels.map((channel, i) => {
        const f = fused[i] ?? new Float32Array(NUM_LABELS);
        const byLabel = Object.fromEntries(
          FUSION_LABELS.flatMap((label, c) => (label in channel ? [[label, f[c] ?? 0]] : [])),
        );
        return { channel, fused: byLabel, ...(rows[i] as { x: Float32Array; present: Float32Array }) };
      });
    },
    async release() {
      await textModel.session.release();
      await fusionModel.session.release();
    },
  };
}
