/**
 * Where banks and term lists live in their bucket (MATCH_LISTS_BUCKET): written by the local
 * stack, the CLI and the review console, read by the moderate functions at cold start and after
 * each TTL (shared/matching/store.ts), granted by infra/constructs/match-lists.ts by prefix.
 *
 *   banks/<bank>/bank.json                     { "kind": "deny" | "allow", "pdqDistance": 31 }
 *   banks/<bank>/signals/import.csv            the bank as last imported (replaced by an import)
 *   banks/<bank>/signals/added/<id>.csv        signals added one item at a time (review "block and bank")
 *   terms/<policy>/blocklist.txt               one term per line (`re:` for a regular expression)
 *   terms/<policy>/allowlist.txt
 */
export const MATCH_LISTS = {
  banksPrefix: 'banks/',
  termsPrefix: 'terms/',
  bankConfigFile: 'bank.json',
  bankImportFile: 'signals/import.csv',
  bankAddedPrefix: 'signals/added/',
} as const;

/** `banks/<bank>/`. */
export const bankPrefix = (bank: string): string => `${MATCH_LISTS.banksPrefix}${bank}/`;
export const bankConfigKey = (bank: string): string => `${bankPrefix(bank)}${MATCH_LISTS.bankConfigFile}`;
export const bankImportKey = (bank: string): string => `${bankPrefix(bank)}${MATCH_LISTS.bankImportFile}`;
export const bankAddedKey = (bank: string, id: string): string =>
  `${bankPrefix(bank)}${MATCH_LISTS.bankAddedPrefix}${id}.csv`;
/** `terms/<policy>/`. */
export const termListPrefix = (policy: string): string => `${MATCH_LISTS.termsPrefix}${policy}/`;
export const termListKey = (policy: string, list: string): string => `${termListPrefix(policy)}${list}.txt`;
