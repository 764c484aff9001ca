/**
 * The phrases speech keyword spotting listens for (shared/speech/keywords.ts), each with the taxonomy
 * category a detection is evidence of and its PocketSphinx detection threshold. Data only.
 *
 * How the list was chosen (docs/MEDIA.md, "Keyword spotting"): threats of violence aimed at the
 * listener, and slurs, because those are the cases where a recognition error costs most — the
 * transcript turns "kill you" into "call you" and the text model, rightly, scores the wrong words.
 * - Every word is in the CMU dictionary the en-us model ships (`cmudict-en-us.dict`); words it lacks
 *   (most newer slurs) cannot be spotted and are left to the transcript and the text model.
 * - Threats are second-person phrases of at least two words ("shoot you", not "shoot"), so "the
 *   comedian killed it" is not one. A bare "kill you" was tried and dropped: PocketSphinx heard it
 *   inside "skill you", "killing", "killed it" and "kill the lights when you…" (12 of 40 near-miss
 *   clips; a threshold 10⁵ times stricter still left 9 of its 10 false alarms in the flite
 *   voices); the longer "i will kill
 *   you", "i'll kill you" and "going to kill you" carry the threat instead.
 * - A slur is listed alone only where it is long and has no everyday sense; ambiguous ones ("fag",
 *   "coon", "dyke", "spic") only with a word that makes them abuse, or not at all.
 * - Thresholds (the `/1e-N/` of a PocketSphinx keyphrase file: how far the phrase must out-score
 *   the phone loop; nearer 1 detects less) started at 1e-30 for three or more words, 1e-20 for two
 *   and 1e-15 for one (longer phrases add up larger score gaps), and were moved where generated
 *   speech — threats, slurs and near misses in three flite voices, one slowed, and espeak-ng
 *   (`npx tsx model-artifacts/speech/measure-keywords.ts [--sweep]`) — showed false alarms that a
 *   stricter value removed. That is tuning on the measurement set itself, on synthetic voices: the
 *   figures in docs/MEDIA.md are optimistic for real recordings.
 */
import type { Category } from '#shared/domain/taxonomy.ts';

export interface Keyphrase {
  /** Lower case, words from the CMU dictionary, as PocketSphinx's keyphrase file takes it. */
  phrase: string;
  /** What a detection is evidence of. */
  category: Extract<Category, 'violence' | 'hate'>;
  /** PocketSphinx's `-kws` threshold: how far the phrase must out-score the phone loop; nearer 1 detects less. */
  threshold: number;
}

/** Bumped whenever a phrase or threshold changes; stamped on verdicts under modelVersions. */
export const KEYPHRASES_VERSION = '2';

export const KEYPHRASES: readonly Keyphrase[] = [
  // Threats: a harm done to "you" (the listener) or to what is theirs.
  { phrase: 'i will kill you', category: 'violence', threshold: 1e-30 },
  { phrase: "i'll kill you", category: 'violence', threshold: 1e-30 },
  { phrase: 'going to kill you', category: 'violence', threshold: 1e-30 },
  { phrase: 'shoot you', category: 'violence', threshold: 1e-20 },
  { phrase: 'stab you', category: 'violence', threshold: 1e-20 },
  { phrase: 'i will hurt you', category: 'violence', threshold: 1e-30 },
  { phrase: 'slit your throat', category: 'violence', threshold: 1e-30 },
  { phrase: 'burn your house', category: 'violence', threshold: 1e-30 },
  { phrase: 'you are dead', category: 'violence', threshold: 1e-20 },
  // Slurs.
  { phrase: 'nigger', category: 'hate', threshold: 1e-15 },
  { phrase: 'niggers', category: 'hate', threshold: 1e-15 },
  { phrase: 'faggot', category: 'hate', threshold: 1e-5 },
  { phrase: 'dirty jew', category: 'hate', threshold: 1e-20 },
  { phrase: 'gas the jews', category: 'hate', threshold: 1e-25 },
  { phrase: 'you chink', category: 'hate', threshold: 1e-20 },
  { phrase: 'dirty spic', category: 'hate', threshold: 1e-20 },
];
