/**
 * CMU PocketSphinx (Debian's `pocketsphinx_continuous` with the `pocketsphinx-en-us` acoustic model,
 * language model and dictionary) as a subprocess: the whole clip is written once as 16-bit PCM and
 * recognised in one run (the model takes ~1 s to load, so one run per segment would cost more), and
 * its word timings are mapped onto the VAD's speech segments.
 */
import { join } from 'node:path';
import { runTool, withTempInput } from '#shared/media/ffmpeg.ts';
import { type SpeechRecognizer, wordsToSegments } from './recognizer.ts';
import type { SpeechSegment } from './vad.ts';

export interface PocketsphinxConfig {
  /** @default pocketsphinx_continuous */
  bin: string;
  /** Folder with `en-us/` (acoustic model), `en-us.lm.bin`, `cmudict-en-us.dict`. @default /usr/share/pocketsphinx/model/en-us */
  modelDir: string;
  timeoutMs: number;
}

/** Words with times from `-time yes` output; fillers, silences and sentence markers dropped. */
export function parsePocketsphinxWords(stdout: string): { word: string; startMs: number; endMs: number }[] {
  const words: { word: string; startMs: number; endMs: number }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m) continue;
    const token = m[1] ?? '';
    if (/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(token)) continue;
    words.push({
      // Alternative pronunciations are numbered: "you(2)".
      word: token.replace(/\(\d+\)$/, ''),
      startMs: Math.round(Number(m[2]) * 1000),
      endMs: Math.round(Number(m[3]) * 1000),
    });
  }
  return words;
}

/** Float samples as the 16-bit little-endian PCM `pocketsphinx_continuous -infile` reads (no header). */
export function toPcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] ?? 0));
    out.writeInt16LE(Math.round(s * 32767), i * 2);
  }
  return out;
}

export function pocketsphinxRecognizer(config: PocketsphinxConfig): SpeechRecognizer {
  return {
    name: 'pocketsphinx',
    version: 'pocketsphinx-0.8-en-us',
    async transcribe(samples: Float32Array, segments: readonly SpeechSegment[]) {
      if (segments.length === 0) return [];
      const { stdout } = await withTempInput(toPcm16(samples), async (path) =>
        runTool(
          config.bin,
          [
            '-infile',
            path,
            '-hmm',
            join(config.modelDir, 'en-us'),
            '-lm',
            join(config.modelDir, 'en-us.lm.bin'),
            '-dict',
            join(config.modelDir, 'cmudict-en-us.dict'),
            '-samprate',
            '16000',
            '-time',
            'yes',
            '-logfn',
            '/dev/null',
          ],
          { timeoutMs: config.timeoutMs, maxStdoutBytes: 4 * 1024 * 1024 },
        ),
      );
      return wordsToSegments(parsePocketsphinxWords(stdout.toString('utf8')), segments);
    },
  };
}
