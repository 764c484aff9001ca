/**
 * Held-out sources of ../shared/data that play "the platform" in the learning simulation: content
 * the text model never trained on, with both classes labelled. A registry: an unknown name is
 * rejected with the list of known ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseText } from '#shared/text/featurize.ts';

/** Per category: 1 / 0; a category the source does not annotate is absent (unknown). */
export type PlatformLabels = Partial<Record<'hate' | 'harassment' | 'offensive', 0 | 1>>;

export interface PlatformItem {
  text: string;
  /** Dedup and split key (the text model's normalisation). */
  key: string;
  labels: PlatformLabels;
}

export interface PlatformSource {
  /** The folder under the data dir; the text model must not have trained on it. */
  folder: string;
  /** The categories the source has labels for. */
  categories: readonly ('hate' | 'harassment' | 'offensive')[];
  /** How the source's labels were mapped (for the report). */
  mapping: string;
  load(dataDir: string): PlatformItem[];
}

const bit = (v: unknown): 0 | 1 => (v === 1 || v === '1' ? 1 : 0);

/** Exact duplicates (after normalisation) are dropped, first copy kept, so no text is on both sides of a split. */
function dedupe(items: PlatformItem[]): PlatformItem[] {
  const seen = new Set<string>();
  return items.filter((i) => i.key !== '' && !seen.has(i.key) && Boolean(seen.add(i.key)));
}

/** Gab Hate Corpus (Kennedy et al.): majority-vote hd, cv, vo. */
const gab: PlatformSource = {
  folder: 'gab-hate-corpus',
  categories: ['hate', 'offensive'],
  mapping:
    'hate = hd (assault on human dignity) or cv (call for violence); offensive = vo (vulgar/offensive) or hate, as in the training data where hate implies offensive; harassment not annotated (masked)',
  load(dataDir) {
    const rows = ['dev.jsonl', 'test.jsonl'].flatMap((f) =>
      readFileSync(join(dataDir, 'gab-hate-corpus', f), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    return dedupe(
      rows.map((r) => {
        const text = String(r.Text ?? '');
        const hate = bit(r.hd) || bit(r.cv) ? 1 : 0;
        return { text, key: normaliseText(text), labels: { hate, offensive: hate || bit(r.vo) ? 1 : 0 } };
      }),
    );
  },
};

export const PLATFORM_SOURCES: Readonly<Record<string, PlatformSource>> = { gab };

export class UnknownPlatformError extends Error {
  override name = 'UnknownPlatformError';
}

export function platformSource(name: string): PlatformSource {
  const s = PLATFORM_SOURCES[name];
  if (!s)
    throw new UnknownPlatformError(
      `unknown platform source ${JSON.stringify(name)}; known: ${Object.keys(PLATFORM_SOURCES).join(', ')}`,
    );
  return s;
}
