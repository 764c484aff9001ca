/**
 * The Whisper path on the tiny random-weight fixture (test/fixtures/whisper/make-tiny-whisper.ts):
 * log-mel → encoder → greedy autoregressive decoding → tokens → text, through the real ONNX graphs.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createRecognizer } from '#shared/engines/engines.ts';
import { logMelSpectrogram, N_FRAMES } from '#shared/speech/log-mel.ts';
import {
  bytesToUnicode,
  greedyDecode,
  onnxWhisperGraphs,
  type WhisperConfig,
  type WhisperGraphs,
  WhisperTokenizer,
  whisperConfigSchema,
} from '#shared/speech/whisper.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';
import config from '#test/fixtures/whisper/tiny-random/config.json' with { type: 'json' };
import vocab from '#test/fixtures/whisper/tiny-random/vocab.json' with { type: 'json' };

const DIR = join(REPO_ROOT, 'test/fixtures/whisper/tiny-random');
const tone = (hz: number) =>
  Float32Array.from({ length: 16_000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / 16_000));

let graphs: WhisperGraphs;
let cfg: WhisperConfig;
beforeAll(async () => {
  graphs = await onnxWhisperGraphs(DIR);
  cfg = whisperConfigSchema.parse(config);
});

describe('Whisper ONNX path (tiny random-weight fixture)', () => {
  it('encodes log-mel features into [1, 1500, d] states that depend on the audio', async () => {
    const a = await graphs.encode({ data: logMelSpectrogram(tone(300)), dims: [1, 80, N_FRAMES] });
    const b = await graphs.encode({ data: logMelSpectrogram(tone(2500)), dims: [1, 80, N_FRAMES] });
    expect(a.dims).toEqual([1, 1500, 16]);
    expect(a.data.every(Number.isFinite)).toBe(true);
    const diff = a.data.reduce((s, v, i) => s + Math.abs(v - (b.data[i] ?? 0)), 0) / a.data.length;
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('attends to the encoder states: the decoder logits change with the audio', async () => {
    const ids = cfg.prompt;
    const a = await graphs.encode({ data: logMelSpectrogram(tone(300)), dims: [1, 80, N_FRAMES] });
    const b = await graphs.encode({ data: logMelSpectrogram(tone(2500)), dims: [1, 80, N_FRAMES] });
    const la = await graphs.decode(ids, a);
    const lb = await graphs.decode(ids, b);
    expect(la.dims).toEqual([1, ids.length, Object.keys(vocab).length]);
    expect(la.data.some((v, i) => Math.abs(v - (lb.data[i] ?? 0)) > 1e-4)).toBe(true);
  });

  it('decodes greedily after the prompt until end-of-text', async () => {
    const tokens = await greedyDecode(graphs, tone(440), cfg);
    const tokenizer = WhisperTokenizer.fromJson(vocab, cfg.eot);
    expect(tokens).toEqual([vocab.Ġhello, vocab.Ġworld]);
    expect(tokenizer.decode(tokens)).toBe('hello world');
  });

  it('stops at maxNewTokens', async () => {
    expect(await greedyDecode(graphs, tone(440), { ...cfg, maxNewTokens: 1 })).toEqual([vocab.Ġhello]);
  });

  it('is selected by configuration and transcribes each speech segment', async () => {
    const recognizer = await createRecognizer(
      readEngineConfig({ SPEECH_ENGINE: 'whisper', WHISPER_MODEL_DIR: DIR }),
    );
    const samples = new Float32Array(3 * 16_000).fill(0.01);
    const out = await recognizer?.transcribe(samples, [
      { startMs: 0, endMs: 1000 },
      { startMs: 1500, endMs: 3000 },
    ]);
    expect(recognizer?.version).toBe('tiny-random-whisper-1');
    expect(out).toEqual([
      { startMs: 0, endMs: 1000, text: 'hello world' },
      { startMs: 1500, endMs: 3000, text: 'hello world' },
    ]);
    await recognizer?.close?.();
  });

  it('rejects an unknown engine name with the known ones', async () => {
    await expect(async () => createRecognizer(readEngineConfig({ SPEECH_ENGINE: 'kaldi' }))).rejects.toThrow(
      /known: pocketsphinx, whisper, none/,
    );
  });
});

describe('Whisper tokenizer', () => {
  it('maps byte-level BPE strings back to UTF-8 and drops special tokens', () => {
    const b2u = bytesToUnicode();
    expect(b2u.size).toBe(256);
    expect(b2u.get(' '.charCodeAt(0))).toBe('Ġ');
    const e = [...new TextEncoder().encode('é')].map((b) => b2u.get(b)).join('');
    const tokenizer = new WhisperTokenizer({ Ġcaf: 0, [e]: 1, '<|endoftext|>': 2 }, 2);
    expect(tokenizer.decode([0, 1, 2])).toBe('café');
  });

  it('reads a Hugging Face tokenizer.json with added special tokens', () => {
    const tokenizer = WhisperTokenizer.fromJson(
      { model: { vocab: { Ġhi: 0, '!': 1 } }, added_tokens: [{ id: 2, content: '<|endoftext|>' }] },
      2,
    );
    expect(tokenizer.size).toBe(3);
    expect(tokenizer.decode([0, 1, 2])).toBe('hi!');
  });
});
