/**
 * The decision on one upload's bytes, wherever they came from (an S3 object, an API request):
 * collect by channel → known content → models → policy. The S3 path (moderate-object.ts) and the
 * synchronous API (moderate-content.ts) both call this, so there is one implementation of it.
 */
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import type { Engines } from '#shared/engines/engines.ts';
import type { Sniffed } from '#shared/ingest/sniff.ts';
import { MODELS_SKIPPED_REASON, matchKnownContent } from '#shared/matching/match.ts';
import { byteSignals, imageSignals } from '#shared/matching/signals.ts';
import { type MatchListSource, NO_MATCH_LISTS } from '#shared/matching/store.ts';
import type { Signal } from '#shared/matching/types.ts';
import type { Collected } from '#shared/modalities/types.ts';
import { applyPolicy, type Policy } from '#shared/policy/policy.ts';
import { collect, type ObjectSource } from './collect.ts';
import type { InputsKeeper } from './kept-inputs.ts';
import type { ModelGateway } from './models.ts';
import { score } from './score.ts';

export interface JudgeDeps {
  models: ModelGateway;
  policy: Policy;
  /** OCR, speech and ffmpeg, and the audio/video limits of this handler's mode (shared/engines/engines.ts). */
  engines: Engines;
  /** Banks and term lists, matched before any model (shared/matching/). @default none */
  matchLists?: MatchListSource;
  /** Audio and video throw `MediaDecodingDeferral` from their sniffed type (MEDIA_DECODING=forward). @default false */
  deferMediaDecoding?: boolean;
  /** Keeps what the models read for replay with another pack (KEEP_INPUTS, kept-inputs.ts). @default none kept */
  inputs?: InputsKeeper;
  now?: () => Date;
}

/** What names the verdict: the object, its version, the policy that decides. */
export type VerdictBase = Pick<Verdict, 'object' | 'objectVersion' | 'policyVersion'>;

/** Where the upload is: its key among `objects`, which a post's media are read from too. */
export interface JudgeInput {
  objects: ObjectSource;
  key: string;
  /** Set only where the caller made the bytes' kind itself (collect.ts, `CollectOptions.sniffed`). */
  sniffed?: Sniffed;
  /**
   * The table key the verdict will be stored under: its model inputs are kept under a key made
   * from it when `JudgeDeps.inputs` keeps any. Absent: nothing is kept (a verdict not stored).
   */
  keepInputsAs?: string;
}

export const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;

/**
 * The verdict on `bytes` (without `totalMs`, which the caller measures). A problem with the upload
 * itself throws a ModerationError; a failing dependency throws whatever it threw.
 */
export async function judge(
  bytes: Uint8Array,
  input: JudgeInput,
  base: VerdictBase,
  timings: Record<string, number>,
  deps: JudgeDeps,
): Promise<Verdict> {
  // Loaded at cold start and kept for a TTL (shared/matching/store.ts); a failed first load throws.
  const lists = await (deps.matchLists ?? NO_MATCH_LISTS).current();
  let t = performance.now();
  const collected = await collect(bytes, {
    ...input,
    imageSize: deps.models.pack.image.size,
    engines: deps.engines,
    signals: lists.banks.size > 0,
    deferMediaDecoding: deps.deferMediaDecoding,
  });
  timings.extractMs = elapsed(t);
  // Known content first: a deny-bank match is decided here, with no model run.
  t = performance.now();
  const known = matchKnownContent(collected, lists);
  timings.matchMs = elapsed(t);
  const createdAt = (deps.now?.() ?? new Date()).toISOString();
  const decided = { ...base, contentType: collected.contentType, timings, createdAt };
  // What the models read, where they ran: written while they run (the put and the model calls
  // overlap, one round trip less in each verdict's latency), and awaited before the verdict exists
  // (the caller stores it), so a verdict that names kept inputs always finds them; a failed write
  // only leaves `inputs` out. When scoring fails the document is written for nothing: the retry
  // writes it again under the same key.
  const keeping =
    !known.denied && deps.inputs && deps.inputs.mode !== 'none' && input.keepInputsAs !== undefined
      ? keepInputs(deps.inputs, input.keepInputsAs, collected, deps.models.pack, timings)
      : undefined;
  const verdict = known.denied
    ? knownContentVerdict(decided, known, collected)
    : await scoredVerdict(decided, known, collected, deps);
  const kept = await keeping;
  if (kept) verdict.inputs = kept;
  // What a person may bank ("block and bank", docs/REVIEW.md): kept on verdicts a person may see.
  if (verdict.decision === 'review' || verdict.decision === 'block')
    verdict.signals = (collected.signals ?? (await signalsToBank(bytes, input, collected))).slice(
      0,
      MAX_KEPT_SIGNALS,
    );
  return verdict;
}

/** Keeps `collected`'s model inputs under `verdictPk`, timed; undefined when nothing was kept. */
async function keepInputs(
  inputs: InputsKeeper,
  verdictPk: string,
  collected: Collected,
  pack: JudgeDeps['models']['pack'],
  timings: Record<string, number>,
): Promise<Verdict['inputs']> {
  const t = performance.now();
  const kept = await inputs.keep(verdictPk, collected, { name: pack.name, imageSize: pack.image.size });
  timings.keepInputsMs = elapsed(t);
  return kept;
}

/** A long video has many frame hashes; a verdict keeps at most this many (the item stays small). */
const MAX_KEPT_SIGNALS = 64;

/**
 * The upload's hashes when matching did not compute them (no bank was loaded): exact hashes of its
 * bytes, and PDQ for an image. Only verdicts a person may see pay for it, and only then.
 */
async function signalsToBank(bytes: Uint8Array, input: JudgeInput, collected: Collected): Promise<Signal[]> {
  const source = input.objects.uri(input.key);
  // The type collect sniffed: an image's is `image/…` (a post's, a video's are not).
  return collected.contentType.startsWith('image/')
    ? imageSignals(bytes, source)
    : byteSignals(bytes, source);
}

type DecidedBase = Pick<
  Verdict,
  'object' | 'objectVersion' | 'policyVersion' | 'contentType' | 'timings' | 'createdAt'
>;
type KnownContent = ReturnType<typeof matchKnownContent>;

/** A deny-bank match: blocked as content a person already judged, with no model run. */
function knownContentVerdict(base: DecidedBase, known: KnownContent, collected: Collected): Verdict {
  return {
    ...base,
    decision: 'block',
    // Certain: the upload is (a copy of) content a person already judged.
    score: 1,
    categories: {},
    unscoredCategories: [...CATEGORIES],
    reasons: [...known.reasons, MODELS_SKIPPED_REASON],
    modalities: {},
    matches: known.matches,
    modelVersions: { ...collected.engines },
  };
}

/** The models' verdict under the policy; a blocklist hit raises the decision to its list's action, never lowers it. */
async function scoredVerdict(
  base: DecidedBase,
  known: KnownContent,
  collected: Collected,
  deps: JudgeDeps,
): Promise<Verdict> {
  const t = performance.now();
  const scoring = await score(collected, deps.models);
  base.timings.inferMs = elapsed(t);
  const policy = applyPolicy(deps.policy, scoring.categories as Record<string, number>, collected.partial);
  const decision =
    known.decision === 'block' || (known.decision === 'review' && policy.decision === 'allow')
      ? known.decision
      : policy.decision;
  return {
    ...base,
    decision,
    score: Math.max(0, ...Object.values(scoring.categories)),
    categories: scoring.categories,
    unscoredCategories: scoring.unscoredCategories,
    reasons: [...known.reasons, ...policy.reasons, ...(collected.notes ?? [])],
    modalities: scoring.modalities,
    matches: known.matches,
    modelVersions: scoring.modelVersions,
    ...(collected.partial && { partial: true }),
  };
}
