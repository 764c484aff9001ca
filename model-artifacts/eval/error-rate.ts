/**
 * Word and character error rates (edit distance over reference length), used to measure speech-to-
 * text and OCR against known texts. Both sides are normalised the same way first: lower case,
 * punctuation dropped, whitespace collapsed — what the text model sees matters, not the casing.
 */
export function normalizeForScoring(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’']/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Levenshtein distance between two sequences (substitutions, insertions, deletions cost 1). */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

export interface ErrorCount {
  errors: number;
  /** Reference length (words or characters). */
  total: number;
}

export function wordErrors(reference: string, hypothesis: string): ErrorCount {
  const ref = normalizeForScoring(reference).split(' ').filter(Boolean);
  const hyp = normalizeForScoring(hypothesis).split(' ').filter(Boolean);
  return { errors: editDistance(ref, hyp), total: ref.length };
}

export function charErrors(reference: string, hypothesis: string): ErrorCount {
  const ref = [...normalizeForScoring(reference)];
  const hyp = [...normalizeForScoring(hypothesis)];
  return { errors: editDistance(ref, hyp), total: ref.length };
}

/** Corpus-level rate: total errors over total reference length (not a mean of per-item rates). */
export function errorRate(counts: readonly ErrorCount[]): number {
  const total = counts.reduce((s, c) => s + c.total, 0);
  return total === 0 ? 0 : counts.reduce((s, c) => s + c.errors, 0) / total;
}
