import type { InferenceClient } from '#shared/inference/client.ts';
import { type InferenceRetryOptions, withRetries } from '#shared/inference/retry.ts';
import { row, type Tensor } from '#shared/inference/tensor-codec.ts';
import type { ModelPack } from './model-pack.ts';

/** Scores per label for each item of a batch, and the version of the model that produced them. */
export interface Scored {
  scores: Record<string, number>[];
  version: string;
}

/** Largest batch sent in one request; larger inputs are split (endpoints cap payload size). */
const MAX_ITEMS_PER_REQUEST = 64;

function labelled(labels: readonly string[], values: number[]): Record<string, number> {
  return Object.fromEntries(labels.map((l, i) => [l, values[i] ?? 0]));
}

async function inChunks<T>(items: T[], run: (chunk: T[]) => Promise<Scored>): Promise<Scored> {
  const parts: Scored[] = [];
  for (let i = 0; i < items.length; i += MAX_ITEMS_PER_REQUEST) {
    parts.push(await run(items.slice(i, i + MAX_ITEMS_PER_REQUEST)));
  }
  return { scores: parts.flatMap((p) => p.scores), version: parts[0]?.version ?? 'none' };
}

export interface ModelGatewayOptions {
  /** Retries with backoff and jitter within the invocation's budget, per endpoint call. @default none */
  retry?: InferenceRetryOptions;
}

/**
 * The three served models behind one interface: tensors in, labelled probabilities out. Preparing
 * tensors here (in the function) keeps the GPU endpoints doing tensor work only.
 */
export function createModelGateway(
  inference: InferenceClient,
  pack: ModelPack,
  options: ModelGatewayOptions = {},
) {
  const client = options.retry ? withRetries(inference, options.retry) : inference;
  return {
    pack,

    /**
     * Text model over texts (windows, captions, OCR, transcripts): hate, harassment, offensive. The
     * pack's processor prepares the inputs and reads the outputs for the model's kind.
     */
    scoreTexts(texts: string[]): Promise<Scored> {
      const { processor } = pack.text;
      return inChunks(texts, async (chunk) => {
        const { model, outputs } = await client.invoke(pack.text.name, processor.encode(chunk));
        return {
          scores: labelledRows(processor.decode(outputs, chunk.length), processor.labels),
          version: model.version,
        };
      });
    },

    /** Image model over RGB uint8 tensors of pack.image.size²: its labels (nsfw classes, or CLIP head categories). */
    scoreImages(images: Uint8Array[]): Promise<Scored> {
      const { processor } = pack.image;
      return inChunks(images, async (chunk) => {
        const { model, outputs } = await client.invoke(pack.image.name, processor.encode(chunk));
        return {
          scores: labelledRows(processor.decode(outputs, chunk.length), processor.labels),
          version: model.version,
        };
      });
    },

    /** Late fusion of per-channel category probabilities; absent channels are masked, not zero-scored. */
    async fuse(channels: Record<string, Record<string, number>>): Promise<Scored> {
      const labels = pack.fusion.labels;
      const names = pack.fusion.channels;
      const probs = new Float32Array(names.length * labels.length);
      const present = new Float32Array(names.length);
      names.forEach((name, c) => {
        const scores = channels[name];
        if (!scores) return;
        present[c] = 1;
        labels.forEach((label, k) => {
          probs[c * labels.length + k] = scores[label] ?? 0;
        });
      });
      const { model, outputs } = await client.invoke(pack.fusion.name, {
        channel_probs: { dtype: 'float32', dims: [1, names.length, labels.length], data: probs },
        present: { dtype: 'float32', dims: [1, names.length], data: present },
      });
      return { scores: rowsOf(outputs.probs, 1, labels), version: model.version };
    },
  };
}

export type ModelGateway = ReturnType<typeof createModelGateway>;

function labelledRows(values: number[][], labels: readonly string[]): Record<string, number>[] {
  return values.map((v) => labelled(labels, v));
}

function rowsOf(t: Tensor | undefined, n: number, labels: readonly string[]): Record<string, number>[] {
  if (!t) throw new Error('model response has no `probs` output');
  return Array.from({ length: n }, (_, i) => labelled(labels, row(t, i)));
}
