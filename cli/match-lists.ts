/**
 * The known-content flags of `npm start`: `--bank`, `--allow-bank`, `--bank-distance`,
 * `--blocklist`, `--allowlist`. Every file is read and checked before the stack starts, so a
 * malformed one is refused with its line number and nothing of it is loaded.
 */
import { readFile } from 'node:fs/promises';
import type { LocalMatchLists } from '#local/stack.ts';
import {
  type Bank,
  BankConflictError,
  BankFileError,
  type BankKind,
  checkPdqDistance,
  mergeBanks,
  parseBankFile,
} from '#shared/matching/banks.ts';
import { parseTermList, TermListError } from '#shared/matching/terms.ts';

export const MATCH_LIST_USAGE = `  --bank <csv>       load a deny bank before moderating (repeatable): CSV with the header
                     signal_type,signal,bank,label, or the lines of \`npm run hash\` (bank named after the file)
  --allow-bank <csv> the same for an allow bank (its matches exempt an upload from the deny banks)
  --bank-distance <bank>=<bits>
                     PDQ match distance of one bank (repeatable; default 31)
  --blocklist <file> the policy's blocklist: one word, phrase or re:<regex> per line
  --allowlist <file> the policy's allowlist (exempts the blocklist hits it covers)
                     banks and lists persist in --data-dir for later runs`;

/** parseArgs options for the flags. */
export const MATCH_LIST_OPTIONS = {
  bank: { type: 'string', multiple: true },
  'allow-bank': { type: 'string', multiple: true },
  'bank-distance': { type: 'string', multiple: true },
  blocklist: { type: 'string' },
  allowlist: { type: 'string' },
} as const;

export interface MatchListFlags {
  bank?: string[];
  'allow-bank'?: string[];
  'bank-distance'?: string[];
  blocklist?: string;
  allowlist?: string;
}

/** A flag's file could not be used; the message names the file and line. */
export class MatchListFlagError extends Error {
  override name = 'MatchListFlagError';
}

function distances(flags: string[] = []): Map<string, number> {
  const out = new Map<string, number>();
  for (const flag of flags) {
    const m = /^([^=]+)=(\d+)$/.exec(flag);
    if (!m) throw new MatchListFlagError(`--bank-distance must be <bank>=<bits>, got ${flag}`);
    const bits = Number(m[2]);
    try {
      checkPdqDistance(bits);
    } catch (err) {
      throw new MatchListFlagError(`--bank-distance ${flag}: ${(err as Error).message}`);
    }
    out.set(m[1]!, bits);
  }
  return out;
}

async function read(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new MatchListFlagError(
      `${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Reads and checks the files the flags name; throws `MatchListFlagError` on the first problem. */
export async function readMatchListFlags(flags: MatchListFlags): Promise<LocalMatchLists> {
  const bits = distances(flags['bank-distance']);
  const files: [string, BankKind, string][] = [
    ...(flags.bank ?? []).map((f): [string, BankKind, string] => [f, 'deny', '--bank']),
    ...(flags['allow-bank'] ?? []).map((f): [string, BankKind, string] => [f, 'allow', '--allow-bank']),
  ];
  const banks: Bank[] = [];
  try {
    for (const [file, kind, flag] of files)
      banks.push(...parseBankFile(await read(file, flag), { kind, file }));
    for (const bank of banks) bank.pdqDistance = bits.get(bank.name) ?? bank.pdqDistance;
    const unknown = [...bits.keys()].filter((name) => !banks.some((b) => b.name === name));
    if (unknown.length)
      throw new MatchListFlagError(`--bank-distance names no loaded bank: ${unknown.join(', ')}`);
    const lists: LocalMatchLists = { banks: mergeBanks(banks) };
    if (flags.blocklist)
      lists.blocklist = parseTermList(
        await read(flags.blocklist, '--blocklist'),
        'blocklist',
        flags.blocklist,
      );
    if (flags.allowlist)
      lists.allowlist = parseTermList(
        await read(flags.allowlist, '--allowlist'),
        'allowlist',
        flags.allowlist,
      );
    return lists;
  } catch (err) {
    if (err instanceof BankFileError || err instanceof BankConflictError || err instanceof TermListError)
      throw new MatchListFlagError(err.message);
    throw err;
  }
}

/**
 * The flags' banks and lists for a command's main: a bad file is reported on stderr and yields
 * undefined (the command exits 2), since they are checked whole before anything starts.
 */
export async function matchListsOrReport(flags: MatchListFlags): Promise<LocalMatchLists | undefined> {
  try {
    return await readMatchListFlags(flags);
  } catch (err) {
    if (!(err instanceof MatchListFlagError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return undefined;
  }
}
