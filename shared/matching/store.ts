/**
 * Banks and term lists in S3 (layout: shared/contracts/match-lists.ts), on AWS and in the local
 * stack alike. The moderate function loads them on its first record (cold start) and keeps them
 * for a TTL; after it, one listing of each prefix tells whether any object changed (by ETag), and
 * only changed objects are fetched and parsed again, so a warm function follows an edited bank
 * within the TTL for the price of two LIST requests.
 *
 * A malformed object fails the load (the records are retried, the failure is logged): a deny bank
 * silently skipped would let known abuse through. A failed reload keeps the lists already loaded.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import {
  bankAddedKey,
  bankConfigKey,
  bankImportKey,
  MATCH_LISTS,
  termListKey,
  termListPrefix,
} from '#shared/contracts/match-lists.ts';
import { termListPolicy } from '#shared/policy/term-lists.ts';
import {
  type Bank,
  BankConflictError,
  type BankKind,
  checkBankName,
  DEFAULT_PDQ_DISTANCE,
  formatBankCsv,
  parseBankFile,
} from './banks.ts';
import { createBankMatcher, type MatchLists } from './match.ts';
import {
  createTermMatcher,
  formatTermList,
  parseTermList,
  type TermList,
  type TermListName,
} from './terms.ts';
import type { Signal, SignalType } from './types.ts';

/** Where the moderate function gets its lists: loaded once, reloaded when they change. */
export interface MatchListSource {
  current(): Promise<MatchLists>;
}

/** What a load cost, for the cold-start log line (docs/MATCHING.md, "Cold start"). */
export interface MatchListLoadStats {
  banks: number;
  signals: number;
  terms: number;
  /** Objects fetched (changed or new) of `objects` listed. */
  fetched: number;
  objects: number;
  /** Listing and fetching; parsing; building the indexes. */
  fetchMs: number;
  parseMs: number;
  indexMs: number;
  version: string;
}

/** Lists given in code (tests, or a caller that loads them itself). */
export function staticMatchLists(
  input: { banks?: readonly Bank[]; blocklist?: TermList; allowlist?: TermList; policyName?: string } = {},
): MatchListSource {
  const lists: MatchLists = {
    banks: createBankMatcher(input.banks ?? []),
    terms: createTermMatcher({
      ...(input.blocklist && { blocklist: input.blocklist }),
      ...(input.allowlist && { allowlist: input.allowlist }),
    }),
    blocklistAction: termListPolicy(input.policyName ?? 'balanced').blocklist.action,
    version: 'static',
  };
  return { current: async () => lists };
}

/** No banks, no term lists: matching finds nothing. */
export const NO_MATCH_LISTS: MatchListSource = staticMatchLists();

const bankConfigSchema = z.strictObject({
  kind: z.enum(['deny', 'allow']),
  pdqDistance: z.number().int().min(0).max(256).default(DEFAULT_PDQ_DISTANCE),
});
export type BankConfig = z.infer<typeof bankConfigSchema>;

export interface S3MatchListOptions {
  s3: S3Client;
  bucket: string;
  /** The policy whose term lists are loaded (`terms/<policy>/`). */
  policyName: string;
  /** How long loaded lists are used before the bucket is listed again. */
  ttlMs: number;
  now?: () => number;
  /** A reload failed and the previous lists are kept. */
  onError?: (err: unknown) => void;
  onLoad?: (stats: MatchListLoadStats) => void;
}

interface Listed {
  key: string;
  etag: string;
}

type Parsed =
  | { kind: 'config'; bank: string; config: BankConfig }
  | { kind: 'signals'; bank: string; text: string }
  | { kind: 'terms'; list: TermListName; text: string };

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, etag: o.ETag ?? '' });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await res.Body?.transformToString('utf8')) ?? '';
}

/** What an object of the bucket is, by its key; undefined for keys the loader ignores. */
function classify(
  key: string,
  policyName: string,
): { what: Parsed['kind']; bank?: string; list?: TermListName } | undefined {
  if (key.startsWith(MATCH_LISTS.banksPrefix)) {
    const rest = key.slice(MATCH_LISTS.banksPrefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const bank = rest.slice(0, slash);
    const file = rest.slice(slash + 1);
    if (file === MATCH_LISTS.bankConfigFile) return { what: 'config', bank };
    if (file.startsWith('signals/') && file.endsWith('.csv')) return { what: 'signals', bank };
    return undefined;
  }
  for (const list of ['blocklist', 'allowlist'] as const) {
    if (key === termListKey(policyName, list)) return { what: 'terms', list };
  }
  return undefined;
}

/**
 * The lists in `bucket`, loaded on first use and kept for `ttlMs`; then reloaded as far as
 * objects changed. Concurrent callers share one load.
 */
export function createS3MatchLists(options: S3MatchListOptions): MatchListSource {
  const { s3, bucket, policyName, ttlMs } = options;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { etag: string; parsed: Parsed }>();
  let lists: MatchLists | undefined;
  let loadedAt = -Infinity;
  let inFlight: Promise<MatchLists> | undefined;

  async function load(): Promise<MatchLists> {
    const t0 = performance.now();
    const listed = [
      ...(await listAll(s3, bucket, MATCH_LISTS.banksPrefix)),
      ...(await listAll(s3, bucket, termListPrefix(policyName))),
    ].filter((o) => classify(o.key, policyName));
    const version = createHash('sha256')
      .update(
        listed
          .map((o) => `${o.key}\u0000${o.etag}`)
          .sort()
          .join('\n'),
      )
      .digest('hex')
      .slice(0, 16);
    if (lists && version === lists.version) return lists;
    let fetched = 0;
    const parsed = new Map<string, Parsed>();
    await Promise.all(
      listed.map(async ({ key, etag }) => {
        const hit = cache.get(key);
        if (hit && hit.etag === etag) {
          parsed.set(key, hit.parsed);
          return;
        }
        fetched++;
        const text = await getText(s3, bucket, key);
        const c = classify(key, policyName)!;
        let p: Parsed;
        if (c.what === 'config') {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw new BankConflictError(`s3://${bucket}/${key} is not valid JSON`);
          }
          const result = bankConfigSchema.safeParse(json);
          if (!result.success)
            throw new BankConflictError(
              `s3://${bucket}/${key}: ${result.error.issues[0]?.message ?? 'invalid'}`,
            );
          p = { kind: 'config', bank: c.bank!, config: result.data };
        } else if (c.what === 'signals') p = { kind: 'signals', bank: c.bank!, text };
        else p = { kind: 'terms', list: c.list!, text };
        cache.set(key, { etag, parsed: p });
        parsed.set(key, p);
      }),
    );
    for (const key of [...cache.keys()]) if (!parsed.has(key)) cache.delete(key);
    const fetchMs = performance.now() - t0;

    const t1 = performance.now();
    const configs = new Map<string, BankConfig>();
    for (const p of parsed.values()) if (p.kind === 'config') configs.set(p.bank, p.config);
    const banks = new Map<string, Bank>();
    for (const [name, config] of configs) banks.set(name, { name, ...config, entries: [] });
    const termTexts: Partial<Record<TermListName, string>> = {};
    for (const [key, p] of [...parsed].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (p.kind === 'terms') termTexts[p.list] = p.text;
      if (p.kind !== 'signals') continue;
      const bank = banks.get(p.bank);
      if (!bank)
        throw new BankConflictError(
          `s3://${bucket}/${key} is in a bank with no ${MATCH_LISTS.bankConfigFile}`,
        );
      for (const b of parseBankFile(p.text, {
        kind: bank.kind,
        file: `s3://${bucket}/${key}`,
        bank: bank.name,
      })) {
        if (b.name !== bank.name)
          throw new BankConflictError(
            `s3://${bucket}/${key} has rows of bank ${b.name}; it is in bank ${bank.name}`,
          );
        // Not push(...entries): a million arguments overflow the stack.
        for (const e of b.entries) bank.entries.push(e);
      }
    }
    const blocklist =
      termTexts.blocklist === undefined
        ? undefined
        : parseTermList(
            termTexts.blocklist,
            'blocklist',
            `s3://${bucket}/${termListKey(policyName, 'blocklist')}`,
          );
    const allowlist =
      termTexts.allowlist === undefined
        ? undefined
        : parseTermList(
            termTexts.allowlist,
            'allowlist',
            `s3://${bucket}/${termListKey(policyName, 'allowlist')}`,
          );
    const parseMs = performance.now() - t1;

    const t2 = performance.now();
    const next: MatchLists = {
      banks: createBankMatcher([...banks.values()]),
      terms: createTermMatcher({ ...(blocklist && { blocklist }), ...(allowlist && { allowlist }) }),
      blocklistAction: termListPolicy(policyName).blocklist.action,
      version,
    };
    const indexMs = performance.now() - t2;
    options.onLoad?.({
      banks: banks.size,
      signals: next.banks.size,
      terms: next.terms.size,
      fetched,
      objects: listed.length,
      fetchMs: round(fetchMs),
      parseMs: round(parseMs),
      indexMs: round(indexMs),
      version,
    });
    return next;
  }

  return {
    async current() {
      if (lists && now() - loadedAt < ttlMs) return lists;
      inFlight ??= load()
        .then((loaded) => {
          lists = loaded;
          loadedAt = now();
          return loaded;
        })
        .catch((err) => {
          // Cold start: nothing to fall back on, so the records fail and are retried.
          if (!lists) throw err;
          options.onError?.(err);
          loadedAt = now();
          return lists;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

const put = (s3: S3Client, bucket: string, key: string, body: string, contentType: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));

/** Imports a bank: its settings, and its signals replacing those of its last import (added items stay). */
export async function writeBank(s3: S3Client, bucket: string, bank: Bank): Promise<void> {
  checkBankName(bank.name);
  const config: BankConfig = { kind: bank.kind, pdqDistance: bank.pdqDistance };
  await put(s3, bucket, bankImportKey(bank.name), formatBankCsv([bank]), 'text/csv');
  await put(s3, bucket, bankConfigKey(bank.name), `${JSON.stringify(config)}\n`, 'application/json');
}

/** Writes a policy's term list (checked first: a malformed list throws `TermListError`). */
export async function writeTermList(
  s3: S3Client,
  bucket: string,
  policyName: string,
  list: TermList,
): Promise<void> {
  const text = formatTermList(list);
  parseTermList(text, list.name);
  await put(s3, bucket, termListKey(policyName, list.name), text, 'text/plain; charset=utf-8');
}

export interface AddToBankOptions {
  bank: string;
  /** The label of the added signals (e.g. the reviewer's reason). */
  label: string;
  /** The item's signals (`Collected.signals`, or recomputed from the object). */
  signals: readonly Pick<Signal, 'signalType' | 'signal'>[];
  /** Creates the bank with this kind if it does not exist yet. @default the bank must exist */
  createAs?: BankKind;
}

/**
 * Adds an item's signals to a bank (the review console's "block and bank"), as one new object
 * named by its content: a retried call writes the same object, and two reviewers never overwrite
 * each other. Functions pick it up within their TTL. Returns the object's key.
 */
export async function addSignalsToBank(
  s3: S3Client,
  bucket: string,
  options: AddToBankOptions,
): Promise<string> {
  const { bank, label } = options;
  checkBankName(bank);
  const exists = await s3
    .send(new HeadObjectCommand({ Bucket: bucket, Key: bankConfigKey(bank) }))
    .then(() => true)
    .catch((err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
      if (err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) return false;
      throw err;
    });
  if (!exists) {
    if (!options.createAs) throw new BankConflictError(`bank ${bank} does not exist`);
    const config: BankConfig = { kind: options.createAs, pdqDistance: DEFAULT_PDQ_DISTANCE };
    await put(s3, bucket, bankConfigKey(bank), `${JSON.stringify(config)}\n`, 'application/json');
  }
  const seen = new Set<string>();
  const entries: { signalType: SignalType; signal: string; label: string }[] = [];
  for (const s of options.signals) {
    const id = `${s.signalType}:${s.signal.toLowerCase()}`;
    if (seen.has(id)) continue;
    seen.add(id);
    entries.push({ signalType: s.signalType, signal: s.signal.toLowerCase(), label });
  }
  if (entries.length === 0) throw new BankConflictError('no signals to add');
  const csv = formatBankCsv([
    { name: bank, kind: options.createAs ?? 'deny', pdqDistance: DEFAULT_PDQ_DISTANCE, entries },
  ]);
  // Checked as the loader will read it, so a bad signal fails here and not in every function.
  parseBankFile(csv, { kind: 'deny', file: 'added signals', bank });
  const key = bankAddedKey(bank, createHash('sha256').update(csv).digest('hex').slice(0, 32));
  await put(s3, bucket, key, csv, 'text/csv');
  return key;
}
