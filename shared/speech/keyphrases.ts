/**
 * The phrases speech keyword spotting listens for (shared/speech/keywords.ts), each with the taxonomy
 * category a detection is evidence of and its PocketSphinx detection threshold. Data only.
 *
 * How the list was chosen (docs/MEDIA.md, "Keyword spotting"): threats of violence aimed at the
 * listener, and slurs, because those are the cases where a recognition error costs most — the
 * transcript turns "kill you" into "call you" and the text model, rightly, scores the wrong words.
 * - Every word is in the CMU dictionary the en-us model ships (`cmudict-en-us.dict`); words it lacks
 *   (most newer slurs) cannot be spotted and are left to the transcript and the text model.
 * - Threats are second-person phrases ("kill you", not "kill"), so "the comedian killed it" and
 *   "killing time" are not threats; a slur is listed alone only where it is long and has no everyday
 *   sense (three or more phonemes, not a homophone); ambiguous ones ("fag", "coon", "dyke", "spic")
 *   only with a word that makes them abuse, or not at all.
 * - Thresholds (the `/1e-N/` of a PocketSphinx keyphrase file: how much better the phrase must fit
 *   than any phone sequence) were tuned on generated speech — threats, slurs and near misses
 *   ("I will call you", "skill you", "the comedian killed it") in four flite voices at two speeds
 *   (`npx tsx model-artifacts/speech/measure-keywords.ts`) — to the strictest value that still
 *   heard the phrase in the clear voices. Longer phrases take smaller thresholds: more phonemes to
 *   match make a chance fit rarer.
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
