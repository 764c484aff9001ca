/**
 * Loads the thirteen labelled text sources of `../shared/data` (README there), maps each source's
 * labels onto the text model's five outputs with a per-example mask for what a source does not
 * annotate, removes duplicates across sources and splits every source into train / validation /
 * test by a hash of its text (or of the group a text belongs to, where rows of one group would
 * leak: a Fox News thread, a Stormfront post, a ConvAbuse conversation).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fnv1a32, normaliseText } from '#shared/text/featurize.ts';
import { generatedRows } from './generated.ts';

/**
 * Output columns of the text model, in order. The first three keep the order of text-toxicity 1.x
 * so `y[2]` is still `offensive` for every consumer; `violence` (threats, calls for violence) and
 * `sexual` (sexual harassment in text) are new in 2.0.
 */
export const TEXT_LABELS = ['hate', 'harassment', 'offensive', 'violence', 'sexual'] as const;
export type TextLabel = (typeof TEXT_LABELS)[number];
export const NUM_TEXT_LABELS = TEXT_LABELS.length;

/** The sources, in the order duplicates are resolved (the first copy of a text wins). */
export const SOURCES = [
  'davidson',
  'olid',
  'civil-comments',
  'gab',
  'edos',
  'stormfront',
  'toxigen',
  'convabuse',
  'fox-news',
  'wikipedia-identity',
  'goemotions',
  'clinc150',
  'banking77',
  'generated',
] as const;
export type Source = (typeof SOURCES)[number];

/** Sources of everyday text that were not annotated for harm: negatives for the base rate. */
export const BENIGN_SOURCES: readonly Source[] = ['goemotions', 'clinc150', 'banking77'];

export type Split = 'train' | 'validation' | 'test';

export type { Labels5 } from './generated.ts';

import type { Labels5 } from './generated.ts';

/** One labelled text; `mask[k]` is 0 where the source says nothing about label k. */
export interface LabelledText {
  text: string;
  normalised: string;
  source: Source;
  /** Source label as written (`davidson:0`, `olid:OFF/TIN/GRP`, `gab:hd,cv`, …). */
  raw: string;
  y: Labels5;
  mask: Labels5;
  /**
   * 1 when the source says the text is harmful in some way it does not type (a toxic Wikipedia
   * comment, any Civil Comments comment), 0 when it says the text is harmless, undefined otherwise.
   * Used for "any category" figures, never for training.
   */
  anyHarm?: 0 | 1;
  /**
   * The source's own hate label where training masks it: EDOS "not sexist" (which may still be
   * racist or abusive, so it teaches nothing) is 0 here, so EDOS reports sexist vs not sexist.
   */
  evalHate?: 0 | 1;
  /** Civil Comments' threat negatives, masked in training (civilLabels) but kept to report violence there. */
  evalViolence?: 0 | 1;
  /** Loss weight of this row on top of its source's (generated violent idioms). @default 1 */
  weight?: number;
  /** Identity group a text is about (ToxiGen), for the identity-mention report. */
  group?: string;
  split: Split;
}

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

const row = (y: number[], mask: number[]): Pick<LabelledText, 'y' | 'mask'> => ({
  y: y as Labels5,
  mask: mask as Labels5,
});
/** Every label known to be absent: a text its source calls harmless in every sense. */
const BENIGN = row([0, 0, 0, 0, 0], [1, 1, 1, 1, 1]);

/** Davidson `class`: 0 hate, 1 offensive, 2 neither. Harassment, threats and sexual harassment are not annotated. */
export function davidsonLabels(cls: number): Pick<LabelledText, 'y' | 'mask'> {
  if (cls === 0) return row([1, 0, 1, 0, 0], [1, 0, 1, 0, 0]);
  if (cls === 1) return row([0, 0, 1, 0, 0], [1, 0, 1, 0, 0]);
  if (cls === 2) return BENIGN;
  throw new Error(`unknown davidson class: ${cls}`);
}

/**
 * OLID: NOT → nothing; OFF → offensive; OFF/TIN/IND → harassment; OFF/TIN/GRP → hate (the OLID
 * paper's reading of group-targeted offence). OFF rows that are untargeted (UNT) or aimed at an
 * organisation/event (OTH) are negatives for hate and harassment: by OLID's own definitions they
 * target no person and no group. OLID does not separate threats or sexual harassment from other
 * offence, so those are masked on OFF rows.
 */
export function olidLabels(a: string, b: string, c: string): Pick<LabelledText, 'y' | 'mask'> {
  if (a === 'NOT') return BENIGN;
  if (a !== 'OFF') throw new Error(`unknown olid subtask_a: ${a}`);
  const grp = b === 'TIN' && c === 'GRP' ? 1 : 0;
  const ind = b === 'TIN' && c === 'IND' ? 1 : 0;
  return row([grp, ind, 1, 0, 0], [1, 1, 1, 0, 0]);
}

/** Strips the outer quotes OLID puts around some tweets, undoubling the quotes inside. */
function unquoteTsv(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"')
    ? field.slice(1, -1).replace(/""/g, '"')
    : field;
}

/** Which split a key belongs to: 80 / 10 / 10 by FNV-1a of the key. */
export function splitOf(key: string): Split {
  const bucket = fnv1a32(`split|${key}`) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'validation' : 'test';
}

/** The key duplicates are found by: normalised text with punctuation and spacing dropped. */
export function dedupeKey(text: string): string {
  return normaliseText(text)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export interface SourceFile {
  file: string;
  sha256: string;
}

export interface Corpus {
  examples: LabelledText[];
  files: SourceFile[];
  stats: {
    /** Rows read per source, before duplicates were dropped. */
    rows: Record<Source, number>;
    /** Rows a source's own labels left without any usable label (ambiguous, context-only), not kept. */
    unlabelled: Record<Source, number>;
    /** Rows of benign sources dropped because they hold profanity or anger/disgust (not verified benign). */
    benignFiltered: Record<Source, number>;
    duplicatesDropped: number;
    /** Duplicates whose labels disagreed with the first copy kept. */
    conflictingDuplicates: number;
    replacementChars: number;
    perSplit: Record<Split, Record<Source, number>>;
  };
}

/** A row as read, before its split and normalised form are known. */
interface RawRow extends Omit<LabelledText, 'normalised' | 'split'> {
  /** What the split is drawn from when rows of one group must stay together; the text otherwise. */
  groupKey?: string;
}

interface Read {
  rows: RawRow[];
  read: number;
  unlabelled: number;
  filtered: number;
  files: SourceFile[];
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function readFile(dataDir: string, file: string, files: SourceFile[]): Buffer {
  const bytes = readFileSync(join(dataDir, file));
  files.push({ file, sha256: sha256(bytes) });
  return bytes;
}

/** Reads a CSV with a header into records keyed by column name. */
function csvRecords(bytes: Buffer): Record<string, string>[] {
  const rows = parseCsv(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
  const header = rows[0] ?? [];
  return rows.slice(1).flatMap((r) => {
    if (r.length < header.length) return [];
    return [Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']))];
  });
}

function jsonLines(bytes: Buffer): Record<string, unknown>[] {
  return bytes
    .toString('utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function need(record: Record<string, string>, ...columns: string[]): void {
  for (const c of columns)
    if (!(c in record)) throw new Error(`missing column ${c}: ${Object.keys(record).join(',')}`);
}

/**
 * Profanity, slurs and insults a benign source may still hold (README: ~4% of GoEmotions, a few
 * CLINC150 and Banking77 rows). Such rows are dropped from the benign sources rather than taught as
 * harmless: those sources were never annotated for harm.
 */
export const UNVERIFIED_BENIGN =
  /\b(?:f+u+c*k|fck|shit|bitch|cunt|dick|cock|puss(?:y|ies)|ass(?:hole)?s?|bastard|damn|crap|piss|whore|slut|fag|nigg|retard|wank|twat|bollock|motherf|idiot|stupid|moron|dumb|kill|die\b|rape|hate)/i;

function readDavidson(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, DAVIDSON_FILE, files));
  const rows = records.map((r) => {
    need(r, 'class', 'tweet');
    const c = Number(r.class);
    return { text: r.tweet ?? '', source: 'davidson' as const, raw: `davidson:${c}`, ...davidsonLabels(c) };
  });
  return { rows, read: records.length, unlabelled: 0, filtered: 0, files };
}

function readOlid(dataDir: string): Read {
  const files: SourceFile[] = [];
  // 24 lines are not valid UTF-8; the decoder substitutes U+FFFD for the bad bytes.
  const lines = new TextDecoder('utf-8', { fatal: false })
    .decode(readFile(dataDir, OLID_FILE, files))
    .split(/\r?\n/);
  const rows = lines.slice(1).flatMap((line) => {
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
  return { rows, read: rows.length, unlabelled: 0, filtered: 0, files };
}

/**
 * Civil Comments toxic spans: every comment was pre-selected as toxic. A span type chosen by a
 * majority of raters is a positive (insult → harassment, threat → violence, identity attack → hate,
 * profane/obscene → offensive). A type no rater chose is a negative only when a majority did mark
 * spans (they typed the toxicity and chose other types); otherwise it is masked. Sexual is masked.
 * Threat negatives are masked too: nearly all of them are insults, and as negatives they taught the
 * model that an insult next to a threat ("I will kill you, you idiot") makes it no threat.
 */
export function civilLabels(r: Record<string, number>): Pick<LabelledText, 'y' | 'mask'> {
  const n = r.n_raters ?? 0;
  const majority = (k: string): boolean => 2 * (r[k] ?? 0) > n;
  const typed = majority('raters_any_span');
  const cell = (k: string): [number, number] =>
    majority(k) ? [1, 1] : typed && (r[k] ?? 0) === 0 ? [0, 1] : [0, 0];
  const hate = cell('raters_identity_attack');
  const har = cell('raters_insult');
  const off = cell('raters_profane_obscene');
  const vio = majority('raters_threat') ? 1 : 0;
  return row([hate[0], har[0], off[0], vio, 0], [hate[1], har[1], off[1], vio, 0]);
}

function readCivil(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, CIVIL_FILE, files));
  let unlabelled = 0;
  const rows = records.flatMap((r) => {
    need(r, 'n_raters', 'text', 'raters_threat');
    const counts = Object.fromEntries(
      Object.entries(r)
        .filter(([k]) => k === 'n_raters' || k.startsWith('raters_'))
        .map(([k, v]) => [k, Number(v)]),
    );
    const labels = civilLabels(counts);
    if (labels.mask.every((m) => m === 0)) unlabelled++;
    const types = ['insult', 'threat', 'identity_attack', 'profane_obscene']
      .filter((t) => 2 * (counts[`raters_${t}`] ?? 0) > (counts.n_raters ?? 0))
      .join(',');
    const typedNoThreat =
      2 * (counts.raters_any_span ?? 0) > (counts.n_raters ?? 0) && (counts.raters_threat ?? 0) === 0;
    return [
      {
        text: r.text ?? '',
        source: 'civil-comments' as const,
        raw: `civil:${types || '-'}`,
        anyHarm: 1 as const,
        ...(typedNoThreat ? { evalViolence: 0 as const } : {}),
        ...labels,
      },
    ];
  });
  return { rows, read: records.length, unlabelled, filtered: 0, files };
}

/**
 * Gab Hate Corpus: hate = hd (assault on human dignity) or cv (call for violence); violence = cv;
 * offensive = vo (vulgar/offensive). Each is annotated on every post, so 0 is a negative.
 * Harassment of a person and sexual harassment are not annotated.
 */
export function gabLabels(r: { hd: number; cv: number; vo: number }): Pick<LabelledText, 'y' | 'mask'> {
  const hate = r.hd === 1 || r.cv === 1 ? 1 : 0;
  return row([hate, 0, r.vo === 1 ? 1 : 0, r.cv === 1 ? 1 : 0, 0], [1, 0, 1, 1, 0]);
}

function readGab(dataDir: string): Read {
  const files: SourceFile[] = [];
  const rows: RawRow[] = [];
  let read = 0;
  for (const file of [GAB_FILES.dev, GAB_FILES.test]) {
    for (const r of jsonLines(readFile(dataDir, file, files))) {
      read++;
      const flags = { hd: Number(r.hd), cv: Number(r.cv), vo: Number(r.vo) };
      const set = Object.entries(flags)
        .filter(([, v]) => v === 1)
        .map(([k]) => k);
      rows.push({
        text: String(r.Text ?? ''),
        source: 'gab',
        raw: `gab:${set.join(',') || '-'}`,
        ...gabLabels(flags),
      });
    }
  }
  return { rows, read, unlabelled: 0, filtered: 0, files };
}

/**
 * EDOS: sexist → hate (sexism is an attack on an identity group); category 1 (threats, plans to harm
 * and incitement) → violence, and a sexist post of another category is a violence negative.
 * "not sexist" says nothing about other hate, threats or abuse (README), so it masks everything.
 */
export function edosLabels(sexist: string, category: string): Pick<LabelledText, 'y' | 'mask'> | undefined {
  if (sexist !== 'sexist') return undefined;
  const threat = category.startsWith('1.') ? 1 : 0;
  return row([1, 0, 0, threat, 0], [1, 0, 0, 1, 0]);
}

function readEdos(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, EDOS_FILE, files));
  let unlabelled = 0;
  const rows = records.flatMap((r) => {
    need(r, 'text', 'label_sexist', 'label_category');
    const labels = edosLabels(r.label_sexist ?? '', r.label_category ?? '');
    const base = { text: r.text ?? '', source: 'edos' as const, raw: `edos:${r.label_category}` };
    if (labels === undefined) {
      unlabelled++;
      return [{ ...base, evalHate: 0 as const, ...row([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]) }];
    }
    return [{ ...base, ...labels }];
  });
  return { rows, read: records.length, unlabelled, filtered: 0, files };
}

/**
 * Stormfront: hate → hate; noHate → a hate negative (on-topic forum talk, so nothing else is known);
 * `relation` (hateful only with its neighbours) and idk/skip carry no label of their own and are
 * dropped. Sentences of one post share a split (file_id = postID_sentenceNo).
 */
function readStormfront(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, STORMFRONT_FILE, files));
  let unlabelled = 0;
  const rows = records.flatMap((r) => {
    need(r, 'file_id', 'label', 'text');
    if (r.label !== 'hate' && r.label !== 'noHate') {
      unlabelled++;
      return [];
    }
    const post = (r.file_id ?? '').split('_')[0] ?? '';
    return [
      {
        text: r.text ?? '',
        source: 'stormfront' as const,
        raw: `stormfront:${r.label}`,
        groupKey: `stormfront|${post}`,
        ...row([r.label === 'hate' ? 1 : 0, 0, 0, 0, 0], [1, 0, 0, 0, 0]),
      },
    ];
  });
  return { rows, read: records.length, unlabelled, filtered: 0, files };
}

/**
 * ToxiGen seed statements: hate → hate (implicit: stereotypes, rarely slurs), nothing else known;
 * neutral → harmless in every sense (benign statements about the same groups: the counterweight that
 * teaches "identity mention ≠ hate").
 */
function readToxigen(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, TOXIGEN_FILE, files));
  const rows = records.map((r) => {
    need(r, 'group', 'label', 'text');
    const hate = r.label === 'hate';
    return {
      text: r.text ?? '',
      source: 'toxigen' as const,
      raw: `toxigen:${r.label}`,
      group: r.group ?? '',
      ...(hate ? row([1, 0, 0, 0, 0], [1, 0, 0, 0, 0]) : BENIGN),
    };
  });
  return { rows, read: records.length, unlabelled: 0, filtered: 0, files };
}

/** A ConvAbuse cell: empty (annotator did not see the item) or one or more numbers such as `1, 1`. */
export function convCell(cell: string | undefined): number | undefined {
  const values = (cell ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isFinite(n));
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

const CONV_HATE_TYPES = ['ableist', 'homophobic', 'racist', 'sexist', 'transphobic'];

/**
 * ConvAbuse (user turns to a chatbot): abusive when most annotators who saw the turn rated it
 * abusive (is_abuse -1/-2/-3), harmless when most rated it not abusive (1); ambiguous turns are
 * dropped. For abusive turns, a type chosen by at least half of the annotators who called it
 * abusive is a positive and else a negative: sex_harassment → sexual, an identity type → hate,
 * an individual or system target (a person, or the bot addressed as one) → harassment. Profanity and threats are not typed.
 */
export function convabuseLabels(r: Record<string, string>): Pick<LabelledText, 'y' | 'mask'> | undefined {
  let seen = 0;
  let abusive = 0;
  let harmless = 0;
  const typeVotes: Record<string, number> = {};
  for (let a = 1; a <= 8; a++) {
    const p = `Annotator${a}_`;
    const v = (k: string) => convCell(r[`${p}${k}`]);
    const scores = ['is_abuse.1', 'is_abuse.0', 'is_abuse.-1', 'is_abuse.-2', 'is_abuse.-3'].map(v);
    if (scores.every((s) => s === undefined)) continue;
    seen++;
    const isAbusive = [scores[2], scores[3], scores[4]].some((s) => (s ?? 0) >= 0.5);
    if (isAbusive) {
      abusive++;
      for (const t of [...CONV_HATE_TYPES, 'sex_harassment', 'target.individual', 'target.system']) {
        if ((v(t) ?? 0) >= 0.5) typeVotes[t] = (typeVotes[t] ?? 0) + 1;
      }
    } else if ((scores[0] ?? 0) >= 0.5) harmless++;
  }
  if (seen === 0) return undefined;
  if (2 * harmless > seen) return BENIGN;
  if (2 * abusive <= seen) return undefined;
  const typed = (t: string) => (2 * (typeVotes[t] ?? 0) >= abusive ? 1 : 0);
  const hate = CONV_HATE_TYPES.some((t) => typed(t) === 1) ? 1 : 0;
  const person = Math.max(typed('target.individual'), typed('target.system'));
  return row([hate, person, 0, 0, typed('sex_harassment')], [1, 1, 0, 0, 1]);
}

function readConvabuse(dataDir: string): Read {
  const files: SourceFile[] = [];
  let read = 0;
  let unlabelled = 0;
  const rows: RawRow[] = [];
  for (const file of CONVABUSE_FILES) {
    for (const r of csvRecords(readFile(dataDir, file, files))) {
      need(r, 'user', 'conv_id');
      read++;
      const labels = convabuseLabels(r);
      if (labels === undefined) {
        unlabelled++;
        continue;
      }
      rows.push({
        text: r.user ?? '',
        source: 'convabuse',
        raw: `convabuse:${labels.y.join('')}`,
        groupKey: `convabuse|${r.conv_id}`,
        ...labels,
      });
    }
  }
  return { rows, read, unlabelled, filtered: 0, files };
}

/** Fox News comments: 1 hateful → hate, 0 → a hate negative. Split by thread (10 articles: topic leakage otherwise). */
function readFox(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = jsonLines(readFile(dataDir, FOX_FILE, files));
  // `user` (commenter names) is never read.
  const rows = records.map((r) => ({
    text: String(r.text ?? ''),
    source: 'fox-news' as const,
    raw: `fox:${r.label}`,
    groupKey: `fox|${String(r.title ?? '')}`,
    ...row([Number(r.label) === 1 ? 1 : 0, 0, 0, 0, 0], [1, 0, 0, 0, 0]),
  }));
  return { rows, read: records.length, unlabelled: 0, filtered: 0, files };
}

/**
 * Wikipedia comments that mention identities: a non-toxic comment is harmless in every sense; a
 * toxic one is harmful in an untyped way, so it trains nothing and counts only for "any category"
 * figures (anyHarm = 1).
 */
function readWikipedia(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, WIKIPEDIA_FILE, files));
  const rows = records.map((r) => {
    need(r, 'comment', 'toxic');
    const toxic = r.toxic === 'True';
    return {
      text: (r.comment ?? '').trim(),
      source: 'wikipedia-identity' as const,
      raw: `wikipedia:${toxic ? 'toxic' : 'not toxic'}`,
      anyHarm: toxic ? (1 as const) : (0 as const),
      ...(toxic ? row([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]) : BENIGN),
    };
  });
  return { rows, read: records.length, unlabelled: 0, filtered: 0, files };
}

function benignRows(
  source: Source,
  texts: { text: string; raw: string; skip?: boolean }[],
): {
  rows: RawRow[];
  filtered: number;
} {
  let filtered = 0;
  const rows: RawRow[] = [];
  for (const t of texts) {
    if (t.skip === true || UNVERIFIED_BENIGN.test(t.text)) {
      filtered++;
      continue;
    }
    rows.push({ text: t.text, source, raw: t.raw, anyHarm: 0, ...BENIGN });
  }
  return { rows, filtered };
}

/** GoEmotions: Reddit comments, not annotated for harm; anger and disgust rows (often insults) are dropped. */
function readGoemotions(dataDir: string): Read {
  const files: SourceFile[] = [];
  const labelNames = readFile(dataDir, GOEMOTIONS_FILES.labels, files).toString('utf8').split(/\r?\n/);
  const dropped = new Set(['anger', 'disgust'].map((l) => String(labelNames.indexOf(l))));
  const texts: { text: string; raw: string; skip: boolean }[] = [];
  for (const file of GOEMOTIONS_FILES.data) {
    for (const line of readFile(dataDir, file, files).toString('utf8').split(/\r?\n/)) {
      const [text = '', ids = ''] = line.split('\t');
      if (text === '') continue;
      const labels = ids.split(',');
      texts.push({ text, raw: `goemotions:${ids}`, skip: labels.some((l) => dropped.has(l)) });
    }
  }
  const { rows, filtered } = benignRows('goemotions', texts);
  return { rows, read: texts.length, unlabelled: 0, filtered, files };
}

function readClinc(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = csvRecords(readFile(dataDir, CLINC_FILE, files));
  const { rows, filtered } = benignRows(
    'clinc150',
    records.map((r) => ({ text: r.text ?? '', raw: `clinc150:${r.intent}` })),
  );
  return { rows, read: records.length, unlabelled: 0, filtered, files };
}

function readBanking(dataDir: string): Read {
  const files: SourceFile[] = [];
  const records = BANKING_FILES.flatMap((f) => csvRecords(readFile(dataDir, f, files)));
  const { rows, filtered } = benignRows(
    'banking77',
    records.map((r) => ({ text: r.text ?? '', raw: `banking77:${r.category}` })),
  );
  return { rows, read: records.length, unlabelled: 0, filtered, files };
}

/** The project's own generated text (generated.ts): threats, violent idioms, identity statements. */
function readGenerated(): Read {
  const rows = generatedRows().map((r) => ({
    text: r.text,
    source: 'generated' as const,
    raw: `generated:${r.template}`,
    groupKey: `generated|${r.template}`,
    y: r.y,
    mask: r.mask,
    ...(r.weight !== undefined ? { weight: r.weight } : {}),
  }));
  return { rows, read: rows.length, unlabelled: 0, filtered: 0, files: [] };
}

export const DAVIDSON_FILE = 'davidson-hate-offensive/labeled_data.csv';
export const OLID_FILE = 'olid/olid-training-v1.0.tsv';
const CIVIL_FILE = 'civil-comments-toxic-spans/civil_comments_toxic_spans_by_comment.csv';
const GAB_FILES = { dev: 'gab-hate-corpus/dev.jsonl', test: 'gab-hate-corpus/test.jsonl' };
const EDOS_FILE = 'edos-sexism/edos_labelled_aggregated.csv';
const STORMFRONT_FILE = 'stormfront-hate-speech/stormfront_sentences.csv';
const TOXIGEN_FILE = 'toxigen-prompts/toxigen_prompts.csv';
const CONVABUSE_FILES = ['train', 'valid', 'test'].map((s) => `convabuse/ConvAbuseEMNLP${s}.csv`);
const FOX_FILE = 'fox-news-comments/fox-news-comments.json';
const WIKIPEDIA_FILE = 'wikipedia-toxicity-identity/toxicity_nonfuzzed_testset.csv';
const GOEMOTIONS_FILES = {
  labels: 'goemotions/labels.txt',
  data: ['train', 'dev', 'test'].map((s) => `goemotions/${s}.tsv`),
};
const CLINC_FILE = 'clinc150/clinc150_data_full.csv';
const BANKING_FILES = ['banking77/train.csv', 'banking77/test.csv'];

const READERS: Record<Source, (dataDir: string) => Read> = {
  davidson: readDavidson,
  olid: readOlid,
  'civil-comments': readCivil,
  gab: readGab,
  edos: readEdos,
  stormfront: readStormfront,
  toxigen: readToxigen,
  convabuse: readConvabuse,
  'fox-news': readFox,
  'wikipedia-identity': readWikipedia,
  goemotions: readGoemotions,
  clinc150: readClinc,
  banking77: readBanking,
  generated: readGenerated,
};

/** The folder of `../shared/data` each source lives in. */
export const SOURCE_DIRS: Record<Source, string> = {
  davidson: 'davidson-hate-offensive',
  olid: 'olid',
  'civil-comments': 'civil-comments-toxic-spans',
  gab: 'gab-hate-corpus',
  edos: 'edos-sexism',
  stormfront: 'stormfront-hate-speech',
  toxigen: 'toxigen-prompts',
  convabuse: 'convabuse',
  'fox-news': 'fox-news-comments',
  'wikipedia-identity': 'wikipedia-toxicity-identity',
  goemotions: 'goemotions',
  clinc150: 'clinc150',
  banking77: 'banking77',
  generated: '',
};

const perSource = (): Record<Source, number> =>
  Object.fromEntries(SOURCES.map((s) => [s, 0])) as Record<Source, number>;

/**
 * Loads, labels, de-duplicates (first copy wins, in SOURCES order; a text's split is that of its
 * group when it has one) and splits the sources. `sources` limits which are read (all by default).
 */
export function loadCorpus(dataDir: string, sources: readonly Source[] = SOURCES): Corpus {
  const present = new Set(readdirSync(dataDir));
  const seen = new Map<string, LabelledText>();
  const files: SourceFile[] = [];
  const rows = perSource();
  const unlabelled = perSource();
  const benignFiltered = perSource();
  let duplicatesDropped = 0;
  let conflictingDuplicates = 0;
  let replacementChars = 0;
  for (const source of SOURCES) {
    if (!sources.includes(source)) continue;
    // A data folder without some sources (a test fixture) loads the ones it has.
    if (source !== 'generated' && !present.has(SOURCE_DIRS[source])) continue;
    const read = READERS[source](dataDir);
    files.push(...read.files);
    rows[source] = read.read;
    unlabelled[source] = read.unlabelled;
    benignFiltered[source] = read.filtered;
    for (const { groupKey, ...r } of read.rows) {
      if (r.text.trim() === '') continue;
      replacementChars += r.text.split('\uFFFD').length - 1;
      const key = dedupeKey(r.text);
      const first = seen.get(key);
      if (first !== undefined) {
        duplicatesDropped++;
        if (first.y.join() !== r.y.join() || first.mask.join() !== r.mask.join()) conflictingDuplicates++;
        continue;
      }
      seen.set(key, { ...r, normalised: normaliseText(r.text), split: splitOf(groupKey ?? key) });
    }
  }
  const examples = [...seen.values()];
  const perSplit = { train: perSource(), validation: perSource(), test: perSource() };
  for (const e of examples) perSplit[e.split][e.source]++;
  return {
    examples,
    files,
    stats: {
      rows,
      unlabelled,
      benignFiltered,
      duplicatesDropped,
      conflictingDuplicates,
      replacementChars,
      perSplit,
    },
  };
}
