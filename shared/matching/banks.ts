/**
 * Banks (issue 18): named lists of known signals, each with a label, of kind `deny` (known abuse:
 * a match blocks) or `allow` (known false positives: a match exempts the upload from the deny
 * banks). Imported and exported as CSV with the header `signal_type,signal,bank,label`; the
 * plain output of `npm run hash` (`<pdq hex>,<quality>,<path>`, and `md5|sha256,<hex>,<path>`
 * lines with `--crypto`) imports too, into the bank the options name.
 *
 * A file is parsed whole before anything is kept: the first bad line throws `BankFileError` with
 * its number, and nothing of that file is loaded.
 */
import { basename, extname } from 'node:path';
import type { SignalType } from './types.ts';

export type BankKind = 'deny' | 'allow';
export const BANK_KINDS: readonly BankKind[] = ['deny', 'allow'];

/** The reference's recommended PDQ match distance (bits of 256). */
export const DEFAULT_PDQ_DISTANCE = 31;
/** The CSV header, exactly (case and spaces aside). */
export const BANK_CSV_HEADER = 'signal_type,signal,bank,label';
/** A bank name: what metrics, S3 keys and verdicts carry. */
export const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Hex digits per signal type. */
export const SIGNAL_HEX_LENGTH: Readonly<Record<SignalType, number>> = { pdq: 64, md5: 32, sha256: 64 };
const SIGNAL_TYPES = Object.keys(SIGNAL_HEX_LENGTH) as SignalType[];
const LOWER_HEX = /^[0-9a-f]+$/;

export interface BankEntry {
  signalType: SignalType;
  /** Lower-case hex. */
  signal: string;
  label: string;
}

export interface Bank {
  name: string;
  kind: BankKind;
  /** PDQ hashes within this many bits of an entry match it. @default DEFAULT_PDQ_DISTANCE */
  pdqDistance: number;
  entries: BankEntry[];
}

/** A bank file that cannot be loaded: which file and line, and why. */
export class BankFileError extends Error {
  override name = 'BankFileError';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}${line > 0 ? ` line ${line}` : ''}: ${reason}`);
  }
}

/** Banks that do not fit together (one name, two kinds or two distances). */
export class BankConflictError extends Error {
  override name = 'BankConflictError';
}

export interface BankFileOptions {
  kind: BankKind;
  /** The file's name, for messages (and the default bank name). */
  file: string;
  /** The bank of rows that name none, and of hash-format lines. @default the file's name (bankNameFromPath) */
  bank?: string;
  /** The label of rows that have none. @default the bank's name */
  label?: string;
  /** @default DEFAULT_PDQ_DISTANCE */
  pdqDistance?: number;
}

/** `deny-list.v2.csv` → `deny-list.v2`; characters a bank name can't hold become `-`. */
export function bankNameFromPath(path: string): string {
  const stem = basename(path, extname(path))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return stem || 'bank';
}

/** Throws unless `name` is a valid bank name. */
export function checkBankName(name: string): void {
  if (!BANK_NAME.test(name))
    throw new BankConflictError(
      `bank name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
}

/** Throws unless `distance` is a PDQ distance (an integer 0..256). */
export function checkPdqDistance(distance: number): void {
  if (!Number.isInteger(distance) || distance < 0 || distance > 256)
    throw new BankConflictError(`PDQ distance must be an integer from 0 to 256, got ${distance}`);
}

/** One CSV line's fields (RFC 4180 quoting, within the line), or a reason it is malformed. */
function csvFields(line: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return 'unterminated quoted field';
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i++];
      }
      fields.push(value);
      if (i < line.length && line[i] !== ',') return 'text after a closing quote';
    } else {
      const end = line.indexOf(',', i);
      const value = line.slice(i, end === -1 ? undefined : end);
      if (value.includes('"')) return 'a quote inside an unquoted field';
      fields.push(value);
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return fields;
    i++; // the comma
    if (i === line.length) {
      fields.push('');
      return fields;
    }
  }
}

/** Checks a signal's type and hex; returns the lower-cased signal or a reason. */
function checkSignal(signalType: string, signal: string): { type: SignalType; hex: string } | string {
  if (!SIGNAL_TYPES.includes(signalType as SignalType))
    return `signal_type ${JSON.stringify(signalType)} is not one of ${SIGNAL_TYPES.join(', ')}`;
  const type = signalType as SignalType;
  const want = SIGNAL_HEX_LENGTH[type];
  if (signal.length === want && LOWER_HEX.test(signal)) return { type, hex: signal };
  if (!/^[0-9a-fA-F]*$/.test(signal)) return `${type} signal ${JSON.stringify(signal)} is not hexadecimal`;
  if (signal.length !== want) return `${type} signal has ${signal.length} hex digits; ${type} has ${want}`;
  return { type, hex: signal.toLowerCase() };
}

/** Parses one bank file (CSV with the header, or `npm run hash` lines) into its banks. */
export function parseBankFile(text: string, options: BankFileOptions): Bank[] {
  const { file } = options;
  const defaultBank = options.bank ?? bankNameFromPath(file);
  const pdqDistance = options.pdqDistance ?? DEFAULT_PDQ_DISTANCE;
  const fail = (line: number, reason: string): never => {
    throw new BankFileError(file, line, reason);
  };
  try {
    checkBankName(defaultBank);
    checkPdqDistance(pdqDistance);
  } catch (err) {
    fail(0, (err as Error).message);
  }
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first === -1) fail(1, 'the file is empty');
  const header = lines[first]!.trim()
    .toLowerCase()
    .replace(/\s*,\s*/g, ',');
  const csv = header === BANK_CSV_HEADER;
  // `npm run hash` lines: `<hash>,<quality>,<path>` or `md5|sha256,<hex>,<path>`.
  const [firstField = '', secondField = ''] = header.split(',');
  const hashLines = ['md5', 'sha256'].includes(firstField) || /^\d{1,3}$/.test(secondField);
  if (!csv && !hashLines) {
    fail(
      first + 1,
      `expected the header ${BANK_CSV_HEADER}, or <pdq hex>,<quality>,<path> lines (npm run hash)`,
    );
  }

  // Duplicates are kept (a million-row import is not worth a million-key set): the matcher reports a
  // bank once per signal of the upload however often the bank lists it.
  const banks = new Map<string, Bank>();
  let last: Bank | undefined;
  const validNames = new Set<string>();
  const add = (bank: string, type: SignalType, signal: string, label: string) => {
    let b = last?.name === bank ? last : banks.get(bank);
    if (!b) {
      b = { name: bank, kind: options.kind, pdqDistance, entries: [] };
      banks.set(bank, b);
    }
    last = b;
    b.entries.push({ signalType: type, signal, label });
  };

  for (let i = csv ? first + 1 : first; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (!line) continue;
    if (csv) {
      const fields = line.includes('"') ? csvFields(line) : line.split(',');
      if (typeof fields === 'string') fail(n, fields);
      const row = fields as string[];
      if (row.length !== 4) fail(n, `${row.length} fields; a row has 4 (${BANK_CSV_HEADER})`);
      const [type = '', signal = '', bankField = '', labelField = ''] = row.map((f) =>
        f.length && (f.charCodeAt(0) === 32 || f.charCodeAt(f.length - 1) === 32) ? f.trim() : f,
      );
      const checked = checkSignal(
        type === 'pdq' || type === 'md5' || type === 'sha256' ? type : type.toLowerCase(),
        signal,
      );
      if (typeof checked === 'string') fail(n, checked);
      const bank = bankField || defaultBank;
      if (!validNames.has(bank)) {
        if (!BANK_NAME.test(bank))
          fail(n, `bank name ${JSON.stringify(bank)} must be 1-64 letters, digits, '.', '_' or '-'`);
        validNames.add(bank);
      }
      const { type: t, hex } = checked as { type: SignalType; hex: string };
      add(bank, t, hex, labelField || options.label || bank);
    } else {
      // <pdq hex>,<quality>,<path> or md5|sha256,<hex>,<path>; the path may itself hold commas.
      const [a = '', b = ''] = line.split(',', 2);
      if (line.split(',').length < 3) fail(n, 'expected <pdq hex>,<quality>,<path>');
      if (a === 'md5' || a === 'sha256') {
        const checked = checkSignal(a, b);
        if (typeof checked === 'string') fail(n, checked);
        const { type, hex } = checked as { type: SignalType; hex: string };
        add(defaultBank, type, hex, options.label || defaultBank);
        continue;
      }
      const checked = checkSignal('pdq', a);
      if (typeof checked === 'string') fail(n, checked);
      if (!/^\d{1,3}$/.test(b) || Number(b) > 100)
        fail(n, `quality ${JSON.stringify(b)} is not an integer 0-100`);
      add(defaultBank, 'pdq', (checked as { hex: string }).hex, options.label || defaultBank);
    }
  }
  if (banks.size === 0)
    banks.set(defaultBank, { name: defaultBank, kind: options.kind, pdqDistance, entries: [] });
  return [...banks.values()];
}

const csvField = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** The banks as one CSV file with the header (what `parseBankFile` reads back). */
export function formatBankCsv(banks: readonly Bank[]): string {
  const rows = [BANK_CSV_HEADER];
  for (const bank of banks) {
    for (const e of bank.entries)
      rows.push([e.signalType, e.signal, bank.name, e.label].map(csvField).join(','));
  }
  return `${rows.join('\n')}\n`;
}

/**
 * Banks of the same name merged into one (several files may fill one bank); throws
 * `BankConflictError` when one name is given two kinds or two PDQ distances.
 */
export function mergeBanks(banks: readonly Bank[]): Bank[] {
  const byName = new Map<string, Bank>();
  for (const bank of banks) {
    const known = byName.get(bank.name);
    if (!known) {
      byName.set(bank.name, { ...bank, entries: [...bank.entries] });
      continue;
    }
    if (known.kind !== bank.kind)
      throw new BankConflictError(`bank ${bank.name} is loaded as both ${known.kind} and ${bank.kind}`);
    if (known.pdqDistance !== bank.pdqDistance)
      throw new BankConflictError(
        `bank ${bank.name} is given PDQ distances ${known.pdqDistance} and ${bank.pdqDistance}`,
      );
    const seen = new Set(known.entries.map((e) => `${e.signalType}\u0000${e.signal}`));
    for (const e of bank.entries) {
      const id = `${e.signalType}\u0000${e.signal}`;
      if (!seen.has(id)) {
        seen.add(id);
        known.entries.push(e);
      }
    }
  }
  return [...byName.values()];
}
