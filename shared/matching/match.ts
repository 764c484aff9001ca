/**
 * Known-content matching, the step that runs before any model (issue 18): an upload's signals
 * against the banks, and its text (typed, OCR, transcript) against the policy's term lists.
 *
 * - A deny-bank match blocks, unless an allow bank also matches the upload (a known false
 *   positive). A post matches if any of its media does (their signals are merged into the post's).
 * - Models are not run on a deny match: the bank is the evidence (a reviewer put it there), the
 *   category scores would change nothing, and known abuse re-uploaded in bulk is where the GPU
 *   time would go. The verdict says so in its reasons (`MODELS_SKIPPED_REASON`).
 * - Blocklist hits follow the policy's action for the list (review or block); the models still
 *   run, since a word is weaker evidence than a banked image and the text model is cheap.
 */
import type { VerdictMatch } from '#shared/domain/verdict.ts';
import { type Collected, cleanExcerpt, type TextItem } from '#shared/modalities/types.ts';
import type { Bank, BankKind } from './banks.ts';
import { createLinearPdqIndex, createPdqIndex, type PdqIndex } from './pdq-index.ts';
import type { TermMatcher } from './terms.ts';
import type { Signal, SignalType } from './types.ts';

/** PDQ hashes of lower quality (flat or tiny images) match too much to be matched at all (the reference's guidance). */
export const MIN_PDQ_QUALITY = 50;
/** Below this many PDQ hashes a linear scan is as fast as the multi-index and has no fixed tables. */
const LINEAR_INDEX_BELOW = 4096;
/** Bank matches kept in one verdict, nearest first. */
export const MAX_VERDICT_MATCHES = 20;

/** A bank hit for one of the upload's signals. */
export interface BankHit {
  bank: string;
  kind: BankKind;
  label: string;
  signalType: SignalType;
  /** The bank's signal. */
  signal: string;
  distance: number;
  /** Where the upload's signal came from (a post's medium has its own). */
  source: string;
  frameMs?: number;
}

export interface BankMatcher {
  /** Signals over all banks. */
  readonly size: number;
  /** The banks, by name. */
  readonly banks: readonly Pick<Bank, 'name' | 'kind' | 'pdqDistance'>[];
  /** Every bank entry each signal matches (PDQ within the bank's distance, exact hashes equal). */
  match(signals: readonly Signal[]): BankHit[];
}

interface Flat {
  bank: Bank;
  label: string;
  signal: string;
}

/** Indexes the banks: one PDQ index over all of them, queried at the largest distance any bank allows. */
export function createBankMatcher(banks: readonly Bank[]): BankMatcher {
  const pdq: Flat[] = [];
  const exact = new Map<string, Flat[]>();
  for (const bank of banks) {
    for (const e of bank.entries) {
      const flat = { bank, label: e.label, signal: e.signal };
      if (e.signalType === 'pdq') pdq.push(flat);
      else {
        const id = `${e.signalType}:${e.signal}`;
        exact.set(id, [...(exact.get(id) ?? []), flat]);
      }
    }
  }
  const entries = pdq.map((f, id) => ({ hash: f.signal, id }));
  const index: PdqIndex =
    entries.length < LINEAR_INDEX_BELOW ? createLinearPdqIndex(entries) : createPdqIndex(entries);
  const maxDistance = Math.max(0, ...banks.filter((b) => b.entries.length).map((b) => b.pdqDistance));
  return {
    size: banks.reduce((n, b) => n + b.entries.length, 0),
    banks: banks.map(({ name, kind, pdqDistance }) => ({ name, kind, pdqDistance })),
    match(signals) {
      const hits: BankHit[] = [];
      const seen = new Set<string>();
      const hit = (f: Flat, s: Signal, distance: number) => {
        // A bank that lists a signal twice matches once per signal of the upload.
        const id = `${f.bank.name}\u0000${f.signal}\u0000${s.source}\u0000${s.frameMs ?? ''}\u0000${s.signalType}`;
        if (seen.has(id)) return;
        seen.add(id);
        hits.push({
          bank: f.bank.name,
          kind: f.bank.kind,
          label: f.label,
          signalType: s.signalType,
          signal: f.signal,
          distance,
          source: s.source,
          ...(s.frameMs !== undefined && { frameMs: s.frameMs }),
        });
      };
      for (const s of signals) {
        if (s.signalType === 'pdq') {
          if (index.size === 0 || (s.quality ?? 100) < MIN_PDQ_QUALITY) continue;
          for (const h of index.query(s.signal, maxDistance)) {
            const f = pdq[h.id]!;
            if (h.distance <= f.bank.pdqDistance) hit(f, s, h.distance);
          }
        } else {
          for (const f of exact.get(`${s.signalType}:${s.signal.toLowerCase()}`) ?? []) hit(f, s, 0);
        }
      }
      return hits;
    },
  };
}

/** What the step matches against: the banks and the policy's term lists, with the action for a blocklist hit. */
export interface MatchLists {
  banks: BankMatcher;
  terms: TermMatcher;
  /** What a blocklist hit does (the policy's, shared/policy/term-lists.ts). */
  blocklistAction: 'review' | 'block';
  /** Identifies what was loaded (object versions), for logs. */
  version: string;
}

/** The outcome of the matching step for one upload. */
export interface KnownContent {
  /** For the verdict, nearest bank matches first, then term hits in text order. */
  matches: VerdictMatch[];
  /** A deny bank matched and no allow bank did: block, and skip the models. */
  denied: boolean;
  /** What the matches decide on their own (before the models), if anything. */
  decision?: 'review' | 'block';
  reasons: string[];
}

/** Why a verdict has no model scores. */
export const MODELS_SKIPPED_REASON =
  'models not run: known content matched a deny bank (the bank is the evidence; see docs/MATCHING.md)';

const isTextItem = (item: unknown): item is TextItem => typeof (item as TextItem).text === 'string';

/** The upload's signals and text against the lists. */
export function matchKnownContent(
  collected: Pick<Collected, 'channels' | 'signals'>,
  lists: MatchLists,
): KnownContent {
  const hits = lists.banks.size ? lists.banks.match(collected.signals ?? []) : [];
  hits.sort((a, b) => a.distance - b.distance);
  const deny = hits.filter((h) => h.kind === 'deny');
  const allow = hits.filter((h) => h.kind === 'allow');
  const reasons: string[] = [];
  const names = (hs: BankHit[]) => [...new Set(hs.map((h) => h.bank))];
  const denied = deny.length > 0 && allow.length === 0;
  if (denied) {
    const h = deny[0]!;
    reasons.push(
      `known content: deny bank ${names(deny).join(', ')} (${h.label}; ${h.signalType} distance ${h.distance})`,
    );
  } else if (deny.length) {
    reasons.push(
      `deny bank ${names(deny).join(', ')} matched, exempted by allow bank ${names(allow).join(', ')}`,
    );
  }
  const matches: VerdictMatch[] = hits.slice(0, MAX_VERDICT_MATCHES).map((h) => ({
    bank: h.bank,
    kind: h.kind,
    label: h.label,
    signalType: h.signalType,
    signal: h.signal,
    distance: h.distance,
    source: h.source,
    ...(h.frameMs !== undefined && { frameMs: h.frameMs }),
  }));

  const termMatches = lists.terms.size ? matchTerms(collected.channels, lists.terms) : [];
  matches.push(...termMatches);
  let decision: KnownContent['decision'] = denied ? 'block' : undefined;
  if (termMatches.length) {
    const terms = [...new Set(termMatches.map((m) => m.label))].slice(0, 5);
    reasons.push(`blocklist: ${terms.map((t) => JSON.stringify(t)).join(', ')} → ${lists.blocklistAction}`);
    if (decision !== 'block') decision = lists.blocklistAction;
  }
  return { matches, denied, ...(decision && { decision }), reasons };
}

/** Blocklist hits in every text item (typed text, OCR, transcripts), as verdict matches. */
function matchTerms(channels: Collected['channels'], terms: TermMatcher): VerdictMatch[] {
  const out: VerdictMatch[] = [];
  for (const [channel, items] of Object.entries(channels)) {
    for (const item of items) {
      if (!isTextItem(item)) continue;
      // Typed text windows know where they are in the whole text; OCR and speech items are texts of their own.
      const offset = item.range?.[0] ?? 0;
      for (const hit of terms.match(item.text)) {
        out.push({
          bank: hit.list,
          kind: 'deny',
          label: hit.term,
          signalType: 'term',
          // What a reviewer reads: without the invisible or stacked characters that hide it on screen.
          signal: cleanExcerpt(hit.excerpt),
          distance: 0,
          source: item.source,
          channel,
          range: [offset + hit.range[0], offset + hit.range[1]],
          ...(item.timestampMs !== undefined && { frameMs: item.timestampMs }),
          ...(item.timeRangeMs && { timeRangeMs: [...item.timeRangeMs] as [number, number] }),
        });
      }
    }
  }
  return out;
}
