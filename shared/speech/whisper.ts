/**
 * Whisper speech-to-text from ONNX graphs, selected by configuration (SPEECH_ENGINE=whisper,
 * WHISPER_MODEL_DIR). The folder holds what a Whisper export produces, with the names of Hugging Face
 * Optimum's exports (encoder_model.onnx / decoder_model.onnx without a KV cache):
 *
 * - `encoder.onnx`: `input_features` float32 [batch, 80, 3000] → `last_hidden_state` [batch, frames, d]
 * - `decoder.onnx`: `input_ids` int64 [batch, tokens] + `encoder_hidden_states` → `logits` [batch, tokens, vocab]
 * - `vocab.json`: token → id (GPT-2 byte-level BPE strings, as Whisper's tokenizer has them), or a
 *   Hugging Face `tokenizer.json` (its `model.vocab` plus `added_tokens`)
 * - `config.json`: `{ "prompt": [sot, lang, task, notimestamps ids], "eot": id, "maxNewTokens": n,
 *   "suppressTokens"?: ids, "beginSuppressTokens"?: ids, "version"?: string }`
 *
 * Decoding is greedy: the prompt, then the arg-max token until end-of-text or `maxNewTokens`.
 * Features are computed in TypeScript (shared/speech/log-mel.ts); each speech segment (≤ 30 s) is
 * one decode. Sessions come from the project's one session factory.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { logMelSpectrogram, N_FRAMES, SAMPLE_RATE } from './log-mel.ts';
import type { SpeechRecognizer, TranscriptSegment } from './recognizer.ts';
import type { SpeechSegment } from './vad.ts';

export const whisperConfigSchema = z.object({
  prompt: z.array(z.number().int().nonnegative()).min(1),
  eot: z.number().int().nonnegative(),
  maxNewTokens: z.number().int().positive().max(448).default(224),
  nMels: z.number().int().positive().default(80),
  suppressTokens: z.array(z.number().int()).default([]),
  beginSuppressTokens: z.array(z.number().int()).default([]),
  version: z.string().default('whisper-onnx'),
});
export type WhisperConfig = z.infer<typeof whisperConfigSchema>;

/** A tensor as the graphs exchange them. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** The two graphs, however they are run (in-process sessions here; an endpoint could implement it too). */
export interface WhisperGraphs {
  encode(features: FloatTensor): Promise<FloatTensor>;
  /** Logits for every position of `ids` given the encoder output. */
  decode(ids: readonly number[], encoderStates: FloatTensor): Promise<FloatTensor>;
  release?(): Promise<void>;
}

/** GPT-2's reversible byte ↔ printable-unicode mapping, used by Whisper's BPE vocabulary. */
export function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i] ?? 0)]));
}

/** Token ids → text: special tokens (≥ eot) dropped, byte-level BPE strings mapped back to UTF-8. */
export class WhisperTokenizer {
  readonly #byId: string[];
  readonly #byteOf: Map<string, number>;
  constructor(
    vocab: Record<string, number>,
    readonly eot: number,
  ) {
    this.#byId = [];
    for (const [token, id] of Object.entries(vocab)) this.#byId[id] = token;
    this.#byteOf = new Map([...bytesToUnicode()].map(([b, c]) => [c, b]));
  }

  get size(): number {
    return this.#byId.length;
  }

  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (id >= this.eot) continue;
      for (const ch of this.#byId[id] ?? '') {
        const b = this.#byteOf.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes)).trim();
  }

  /** Reads `vocab.json` ({token: id}) or a Hugging Face `tokenizer.json`. */
  static fromJson(json: unknown, eot: number): WhisperTokenizer {
    const hf = z
      .object({
        model: z.object({ vocab: z.record(z.string(), z.number()) }),
        added_tokens: z.array(z.object({ id: z.number(), content: z.string() })).default([]),
      })
      .safeParse(json);
    if (hf.success) {
      const vocab = { ...hf.data.model.vocab };
      for (const t of hf.data.added_tokens) vocab[t.content] = t.id;
      return new WhisperTokenizer(vocab, eot);
    }
    return new WhisperTokenizer(z.record(z.string(), z.number()).parse(json), eot);
  }
}

function argmax(row: Float32Array, suppressed: ReadonlySet<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i] ?? -Infinity;
    if (v > bestValue && !suppressed.has(i)) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** Greedy decoding of one ≤ 30 s chunk: its generated token ids (without the prompt, up to eot). */
export async function greedyDecode(
  graphs: WhisperGraphs,
  samples: Float32Array,
  config: WhisperConfig,
): Promise<number[]> {
  const features = logMelSpectrogram(samples);
  const states = await graphs.encode({ data: features, dims: [1, config.nMels, N_FRAMES] });
  const ids = [...config.prompt];
  const out: number[] = [];
  const suppress = new Set(config.suppressTokens);
  const suppressFirst = new Set([...config.suppressTokens, ...config.beginSuppressTokens]);
  for (let step = 0; step < config.maxNewTokens; step++) {
    const logits = await graphs.decode(ids, states);
    const vocab = logits.dims.at(-1) ?? 0;
    const last = logits.data.subarray((ids.length - 1) * vocab, ids.length * vocab);
    const next = argmax(last, step === 0 ? suppressFirst : suppress);
    if (next < 0 || next === config.eot) break;
    ids.push(next);
    out.push(next);
  }
  return out;
}

/** A Whisper recogniser over any graph runner: one greedy decode per speech segment. */
export function whisperRecognizer(
  graphs: WhisperGraphs,
  tokenizer: WhisperTokenizer,
  config: WhisperConfig,
): SpeechRecognizer {
  return {
    name: 'whisper',
    version: config.version,
    async transcribe(samples, segments: readonly SpeechSegment[]) {
      const out: TranscriptSegment[] = [];
      for (const s of segments) {
        const chunk = samples.subarray(
          Math.floor((s.startMs / 1000) * SAMPLE_RATE),
          Math.ceil((s.endMs / 1000) * SAMPLE_RATE),
        );
        const text = tokenizer.decode(await greedyDecode(graphs, chunk, config));
        if (text) out.push({ ...s, text });
      }
      return out;
    },
    async close() {
      await graphs.release?.();
    },
  };
}

/** Runs the two graphs in this process through the project's session factory. */
export async function onnxWhisperGraphs(dir: string): Promise<WhisperGraphs> {
  const [{ createSession }, { Tensor }] = await Promise.all([
    import('#shared/onnx/sessions.ts'),
    import('onnxruntime-node'),
  ]);
  const [encoder, decoder] = await Promise.all([
    createSession(join(dir, 'encoder.onnx')),
    createSession(join(dir, 'decoder.onnx')),
  ]);
  const floats = (t: unknown): FloatTensor => {
    const tensor = t as { data: Float32Array; dims: readonly number[] };
    return { data: tensor.data, dims: [...tensor.dims] };
  };
  return {
    async encode(features) {
      const out = await encoder.run({ input_features: new Tensor('float32', features.data, features.dims) });
      return floats(out.last_hidden_state);
    },
    async decode(ids, states) {
      const out = await decoder.run({
        input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
        encoder_hidden_states: new Tensor('float32', states.data, states.dims),
      });
      return floats(out.logits);
    },
    async release() {
      await Promise.all([encoder.release(), decoder.release()]);
    },
  };
}

/** A Whisper recogniser from a model folder (see the module comment for its layout). */
export async function loadWhisperRecognizer(dir: string): Promise<SpeechRecognizer> {
  const config = whisperConfigSchema.parse(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
  const tokenizer = WhisperTokenizer.fromJson(
    JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')),
    config.eot,
  );
  return whisperRecognizer(await onnxWhisperGraphs(dir), tokenizer, config);
}
