/**
 * Loads the two labelled tweet corpora (Davidson et al. 2017, OLID 2019), maps their labels onto
 * the text model's outputs with a per-example mask for labels a dataset does not define,
 * removes exact duplicates and splits deterministically by a hash of the normalised text.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fnv1a32, normaliseText } from '#shared/text/featurize.ts';

/** Output columns of the text model, in order. */
export const TEXT_LABELS = ['hate', 'harassment', 'offensive'] as const;
export type TextLabel = (typeof TEXT_LABELS)[number];

export type Source = 'davidson' | 'olid';
export type Split = 'train' | 'validation' | 'test';

/** One labelled text; `mask[k]` is 0 where the dataset says nothing about label k. */
export interface LabelledText {
  text: string;
  normalised: string;
  source: Source;
  /** Dataset label as written (`davidson:0`, `olid:OFF/TIN/GRP`). */
  raw: string;
  y: [number, number, number];
  mask: [number, number, number];
  split: Split;
}

export const DAVIDSON_FILE = 'davidson-hate-offensive/labeled_data.csv';
export const OLID_FILE = 'olid/olid-training-v1.0.tsv';

/** Minimal RFC 4180 reader: quoted fields may hold commas, doubled quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Davidson `class`: 0 hate, 1 offensive, 2 neither. Harassment is not annotated there. */
export function davidsonLabels(cls: number): Pick<LabelledText, 'y' | 'mask'> {
  if (cls === 0) return { y: [1, 0, 1], mask: [1, 0, 1] };
  if (cls === 1) return { y: [0, 0, 1], mask: [1, 0, 1] };
  if (cls === 2) return { y: [0, 0, 0], mask: [1, 1, 1] };
  throw new Error(`unknown davidson class: ${cls}`);
}

/**
 * OLID: NOT → nothing; OFF → offensive; OFF/TIN/IND → harassment; OFF/TIN/GRP → hate (the OLID
 * paper's reading of group-targeted offence). OFF rows that are untargeted (UNT) or aimed at an
 * organisation/event (OTH) are negatives for hate and harassment: by OLID's own definitions they
 * target no person and no group.
 */
export function olidLabels(a: string, b: string, c: string): Pick<LabelledText, 'y' | 'mask'> {
  if (a === 'NOT') return { y: [0, 0, 0], mask: [1, 1, 1] };
  if (a !== 'OFF') throw new Error(`unknown olid subtask_a: ${a}`);
  const grp = b === 'TIN' && c === 'GRP' ? 1 : 0;
  const ind = b === 'TIN' && c === 'IND' ? 1 : 0;
  return { y: [grp, ind, 1], mask: [1, 1, 1] };
}

/** Strips the outer quotes OLID puts around some tweets, undoubling the quotes inside. */
function unquoteTsv(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"')
    ? field.slice(1, -1).replace(/""/g, '"')
    : field;
}

/** Which split a normalised text belongs to: 80 / 10 / 10 by FNV-1a of the text. */
export function splitOf(normalised: string): Split {
  const bucket = fnv1a32(`split|${normalised}`) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'validation' : 'test';
}

export interface SourceFile {
  file: string;
  sha256: string;
}

export interface Corpus {
  examples: LabelledText[];
  files: SourceFile[];
  stats: {
    rows: Record<Source, number>;
    duplicatesDropped: number;
    /** Duplicates whose labels disagreed with the first copy kept. */
    conflictingDuplicates: number;
    replacementChars: number;
    perSplit: Record<Split, Record<Source, number>>;
  };
}

type RawRow = Omit<LabelledText, 'normalised' | 'split'>;

function readDavidson(bytes: Buffer): RawRow[] {
  const rows = parseCsv(bytes.toString('utf8'));
  const header = rows[0] ?? [];
  const cls = header.indexOf('class');
  const tweet = header.indexOf('tweet');
  if (cls < 0 || tweet < 0) throw new Error(`unexpected davidson header: ${header.join(',')}`);
  return rows.slice(1).flatMap((r) => {
    if (r.length < header.length) return [];
    const c = Number(r[cls]);
    return [
      { text: r[tweet] ?? '', source: 'davidson' as const, raw: `davidson:${c}`, ...davidsonLabels(c) },
    ];
  });
}

function readOlid(bytes: Buffer): RawRow[] {
  // 24 lines are not valid UTF-8; the decoder substitutes U+FFFD for the bad bytes.
  const lines = new TextDecoder('utf-8', { fatal: false }).decode(bytes).split(/\r?\n/);
  return lines.slice(1).flatMap((line) => {
    const f = line.split('\t');
    if (f.length !== 5) return [];
    const [, tweet = '', a = '', b = '', c = ''] = f;
    return [
      {
        text: unquoteTsv(tweet),
        source: 'olid' as const,
        raw: `olid:${a}/${b}/${c}`,
        ...olidLabels(a, b, c),
      },
    ];
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Loads, labels, de-duplicates (first copy wins; Davidson before OLID) and splits both corpora. */
export function loadCorpus(dataDir: string): Corpus {
  const davidsonBytes = readFileSync(join(dataDir, DAVIDSON_FILE));
  const olidBytes = readFileSync(join(dataDir, OLID_FILE));
  const davidson = readDavidson(davidsonBytes);
  const olid = readOlid(olidBytes);
  const seen = new Map<string, LabelledText>();
  let duplicatesDropped = 0;
  let conflictingDuplicates = 0;
  let replacementChars = 0;
  for (const row of [...davidson, ...olid]) {
    replacementChars += row.text.split('\uFFFD').length - 1;
    const normalised = normaliseText(row.text);
    const first = seen.get(normalised);
    if (first !== undefined) {
      duplicatesDropped++;
      if (first.y.join() !== row.y.join() || first.mask.join() !== row.mask.join()) conflictingDuplicates++;
      continue;
    }
    seen.set(normalised, { ...row, normalised, split: splitOf(normalised) });
  }
  const examples = [...seen.values()];
  const perSplit: Corpus['stats']['perSplit'] = {
    train: { davidson: 0, olid: 0 },
    validation: { davidson: 0, olid: 0 },
    test: { davidson: 0, olid: 0 },
  };
  for (const e of examples) perSplit[e.split][e.source]++;
  return {
    examples,
    files: [
      { file: DAVIDSON_FILE, sha256: sha256(davidsonBytes) },
      { file: OLID_FILE, sha256: sha256(olidBytes) },
    ],
    stats: {
      rows: { davidson: davidson.length, olid: olid.length },
      duplicatesDropped,
      conflictingDuplicates,
      replacementChars,
      perSplit,
    },
  };
}
