/**
 * What a policy does with a hit of its term lists (issue 18): the blocklist's hits send the upload
 * to `review` or `block` it, per preset; the allowlist only exempts blocklist hits it covers. The
 * lists themselves are data, kept per policy beside the banks (shared/contracts/match-lists.ts),
 * so trust-and-safety staff change them without a deployment.
 *
 * Kept apart from the threshold presets (presets/*.json), which `npm run eval` rewrites.
 */
export type TermListAction = 'review' | 'block';

export interface TermListPolicy {
  /** What a blocklist hit does. */
  blocklist: { action: TermListAction };
}

/** Per preset: strict blocks on a listed term; balanced and lenient ask a person, since a word alone misses context. */
const TERM_LIST_POLICIES: Readonly<Record<string, TermListPolicy>> = {
  strict: { blocklist: { action: 'block' } },
  balanced: { blocklist: { action: 'review' } },
  lenient: { blocklist: { action: 'review' } },
};

const DEFAULT: TermListPolicy = { blocklist: { action: 'review' } };

/** The term-list settings of a preset (a preset not listed here reviews). */
export function termListPolicy(policyName: string): TermListPolicy {
  return TERM_LIST_POLICIES[policyName] ?? DEFAULT;
}
