/**
 * Keyword spotting: PocketSphinx (`pocketsphinx_continuous -kws`) listening for the short list of
 * threat and slur phrases in shared/speech/keyphrases.ts, over the same 16 kHz PCM the recogniser
 * reads. It is a second opinion on the audio, not on the transcript: a phrase the language model
 * decoded as something likelier ("kill you" → "call you") can still be heard. Debian's binary runs
 * one search per decoder (`-kws` and `-lm` together keep only the language model), so this is one
 * more run per clip; without the language model to load it costs about a fifth of a recogniser run
 * (docs/MEDIA.md, "Keyword spotting").
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Category } from '#shared/domain/taxonomy.ts';
import { runTool, withTempInput } from '#shared/media/ffmpeg.ts';
import { KEYPHRASES, KEYPHRASES_VERSION, type Keyphrase } from './keyphrases.ts';
import { toPcm16 } from './pocketsphinx.ts';
import type { SpeechSegment } from './vad.ts';

/** One phrase heard, with when. */
export interface KeywordHit {
  phrase: string;
  category: Keyphrase['category'];
  startMs: number;
  endMs: number;
}

export interface KeywordSpotter {
  readonly name: string;
  /** Engine and phrase-list version, stamped on verdicts under modelVersions. */
  readonly version: string;
  /** The listed phrases heard in the speech `segments` of 16 kHz mono `samples`. */
  spot(samples: Float32Array, segments: readonly SpeechSegment[]): Promise<KeywordHit[]>;
}

/**
 * The probability a detection stands for, by category: the verdict's calibrated scale, so it is
 * compared with the policy's thresholds as it is. A detection alone is a reason for a person to
 * listen, never to block: these sit between the review and block thresholds of the balanced and
 * strict presets and under lenient's review threshold (lenient asks people for less), and
 * test/unit/shared/speech/keywords.test.ts fails when recomputed presets move them out. Blocking
 * needs the transcript's text-model score. They are set, not fitted: synthetic speech says nothing
 * about how often a real recording makes PocketSphinx hear a phrase nobody said (docs/MEDIA.md).
 */
export const SPOTTED_SCORE: Readonly<Record<Keyphrase['category'], number>> = { violence: 0.17, hate: 0.5 };

/** Detections kept per clip: a clip full of them is decided by the first few. */
export const MAX_KEYWORD_HITS = 32;

/** A PocketSphinx keyphrase file: one `phrase /threshold/` a line. */
export function keyphraseFile(phrases: readonly Keyphrase[]): string {
  return phrases.map((p) => `${p.phrase} /${p.threshold.toExponential()}/\n`).join('');
}

/**
 * Detections from `-kws … -time yes` output: after the hypothesis line, one `phrase start end prob`
 * line per detection (a double space after the phrase). Only listed phrases count.
 */
export function parseKeywordHits(stdout: string, phrases: readonly Keyphrase[]): KeywordHit[] {
  const byPhrase = new Map(phrases.map((p) => [p.phrase, p]));
  const hits: KeywordHit[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S.*?)\s+(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/.exec(line.trim());
    const listed = m && byPhrase.get(m[1] ?? '');
    if (!m || !listed) continue;
    hits.push({
      phrase: listed.phrase,
      category: listed.category,
      startMs: Math.round(Number(m[2]) * 1000),
      endMs: Math.round(Number(m[3]) * 1000),
    });
  }
  return hits.sort((a, b) => a.startMs - b.startMs);
}

/** Hits inside a speech segment (by midpoint, with the recogniser's slack): the VAD decides what is speech. */
export function hitsInSpeech(
  hits: readonly KeywordHit[],
  segments: readonly SpeechSegment[],
  slackMs = 250,
): KeywordHit[] {
  return hits.filter((h) => {
    const mid = (h.startMs + h.endMs) / 2;
    return segments.some((s) => mid >= s.startMs - slackMs && mid <= s.endMs + slackMs);
  });
}

/** The highest spotted score per category over `hits`. */
export function spottedScores(hits: readonly KeywordHit[]): Partial<Record<Category, number>> {
  const out: Partial<Record<Category, number>> = {};
  for (const h of hits) out[h.category] = Math.max(out[h.category] ?? 0, SPOTTED_SCORE[h.category]);
  return out;
}

export interface PocketsphinxKwsConfig {
  /** @default pocketsphinx_continuous */
  bin: string;
  /** Folder with `en-us/` (acoustic model) and `cmudict-en-us.dict`. */
  modelDir: string;
  timeoutMs: number;
}

export function pocketsphinxKeywordSpotter(
  config: PocketsphinxKwsConfig,
  phrases: readonly Keyphrase[] = KEYPHRASES,
): KeywordSpotter {
  const list = keyphraseFile(phrases);
  return {
    name: 'pocketsphinx-kws',
    version: `pocketsphinx-0.8-en-us+keyphrases-${KEYPHRASES_VERSION}`,
    async spot(samples, segments) {
      if (segments.length === 0 || phrases.length === 0) return [];
      const { stdout } = await withTempInput(toPcm16(samples), async (path, dir) => {
        const kws = join(dir, 'keyphrases.txt');
        await writeFile(kws, list, { mode: 0o600 });
        return runTool(
          config.bin,
          [
            ...['-infile', path, '-hmm', join(config.modelDir, 'en-us')],
            ...['-dict', join(config.modelDir, 'cmudict-en-us.dict'), '-kws', kws],
            ...['-samprate', '16000', '-time', 'yes', '-logfn', '/dev/null'],
          ],
          // Output is one short line per detection: 1 MiB is thousands of them.
          { timeoutMs: config.timeoutMs, maxStdoutBytes: 1024 * 1024 },
        );
      });
      return hitsInSpeech(parseKeywordHits(stdout.toString('utf8'), phrases), segments).slice(
        0,
        MAX_KEYWORD_HITS,
      );
    },
  };
}
