/**
 * What the console shows of a verdict, worked out from its contract (docs/CONTRACTS.md,
 * shared/domain/verdict.ts) without touching the page: flagged spans within text excerpts, which
 * media to blur, media grouped by source with their frames, times and scores.
 */

/** At or above this sexual or violence score an image is blurred until the reviewer asks to see it. */
export const BLUR_AT = 0.5;
/** The categories whose images are blurred (reviewer wellbeing). */
export const SENSITIVE = ['sexual', 'violence'];
/** Channels in the order the item view shows them; others follow in the verdict's order. */
export const CHANNEL_ORDER = ['text', 'ocr', 'speech', 'image'];
export const CATEGORIES = ['sexual', 'hate', 'harassment', 'violence', 'offensive'];

const TEXT_CHANNELS = new Set(['text', 'ocr', 'speech']);

/** @param {number | undefined} x */
export const score = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');

/** Media time as m:ss.s. @param {number} ms */
export function time(ms) {
  const s = ms / 1000;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}

/** @param {[number, number] | undefined} r */
export const timeRange = (r) => (r ? `${time(r[0])}–${time(r[1])}` : '');

/** A score's band, for colour: high (≥ 0.5), mid (≥ 0.2) or low. @param {number} x */
export const band = (x) => (x >= BLUR_AT ? 'high' : x >= 0.2 ? 'mid' : 'low');

/** Scores highest first. @param {Record<string, number>} scores */
export const ranked = (scores) =>
  Object.entries(scores ?? {})
    .filter(([, v]) => typeof v === 'number')
    .sort((a, b) => b[1] - a[1]);

/** The highest of some scores. @param {Record<string, number>} scores @param {string[]} [keys] */
export const highest = (scores, keys) =>
  Math.max(0, ...ranked(scores).flatMap(([k, v]) => (!keys || keys.includes(k) ? [v] : [])));

/** Whether the medium is kept where the console can read it (an S3 upload, not an API request). */
export const isKept = (/** @type {string} */ source) => source.startsWith('s3://');

/** The channels a verdict has, in display order. @param {any} verdict */
export function channels(verdict) {
  const present = Object.keys(verdict.modalities ?? {});
  return [
    ...CHANNEL_ORDER.filter((c) => present.includes(c)),
    ...present.filter((c) => !CHANNEL_ORDER.includes(c)),
  ];
}

export const isTextChannel = (/** @type {string} */ c) => TEXT_CHANNELS.has(c);

/** Categories the policy flagged (its reasons start with one). @param {any} verdict */
export const flaggedCategories = (verdict) =>
  CATEGORIES.filter((c) => (verdict.reasons ?? []).some((r) => r.startsWith(`${c} `)));

/**
 * Whether a medium is blurred: the verdict's (or this evidence's) sexual or violence score at or
 * over BLUR_AT, a deny match (known abuse, a blocklist term), or no sexual score at all for an image
 * (the models did not run on it, so nothing says it is safe).
 * @param {any} verdict @param {Record<string, number>} [scores]
 */
export function needsBlur(verdict, scores = {}) {
  if ((verdict.matches ?? []).some((m) => m.kind === 'deny')) return true;
  if (highest(verdict.categories ?? {}, SENSITIVE) >= BLUR_AT) return true;
  if (highest(scores, SENSITIVE) >= BLUR_AT) return true;
  return !('sexual' in (verdict.categories ?? {})) && !('sexual' in scores);
}

/**
 * The term matches that fall inside one text evidence item: same channel and source, and (typed
 * text) inside its character range, or (OCR, speech) at its time.
 * @param {any} verdict @param {string} channel @param {any} evidence
 */
export function matchesIn(verdict, channel, evidence) {
  const siblings = (verdict.modalities?.[channel]?.evidence ?? []).filter(
    (/** @type {any} */ e) => e.source === evidence.source,
  );
  return (verdict.matches ?? []).filter((/** @type {any} */ m) => {
    if (m.signalType !== 'term' || !m.range || m.channel !== channel || m.source !== evidence.source)
      return false;
    if (evidence.range) return m.range[0] >= evidence.range[0] && m.range[1] <= evidence.range[1];
    const at = m.timeRangeMs?.[0] ?? m.frameMs;
    const from = evidence.timeRangeMs?.[0] ?? evidence.timestampMs;
    return at === undefined || from === undefined ? siblings.length === 1 : at === from;
  });
}

/**
 * An excerpt cut into plain and matched segments. A match's range is in its text's characters;
 * the excerpt starts at its evidence's range (or at 0). Where cleaning shifted the characters, the
 * matched text is looked for instead; a match outside the excerpt (cut at its end) is left out.
 * @param {string} excerpt @param {[number, number] | undefined} range @param {any[]} matches
 * @returns {{ text: string, match?: any }[]}
 */
export function segments(excerpt, range, matches) {
  const base = range?.[0] ?? 0;
  /** @type {{ from: number, to: number, match: any }[]} */
  const spans = [];
  for (const m of matches) {
    let from = m.range[0] - base;
    let to = m.range[1] - base;
    const found = excerpt.slice(from, to);
    if (from < 0 || to > excerpt.length || found.toLowerCase() !== String(m.signal).toLowerCase()) {
      const at = excerpt.toLowerCase().indexOf(String(m.signal).toLowerCase());
      if (at >= 0) [from, to] = [at, at + String(m.signal).length];
      else if (from < 0 || to > excerpt.length) continue;
    }
    if (spans.some((s) => from < s.to && to > s.from)) continue;
    spans.push({ from, to, match: m });
  }
  spans.sort((a, b) => a.from - b.from);
  /** @type {{ text: string, match?: any }[]} */
  const out = [];
  let at = 0;
  for (const s of spans) {
    if (s.from > at) out.push({ text: excerpt.slice(at, s.from) });
    out.push({ text: excerpt.slice(s.from, s.to), match: s.match });
    at = s.to;
  }
  if (at < excerpt.length) out.push({ text: excerpt.slice(at) });
  return out;
}

/**
 * The image channel's evidence grouped by medium: a still (one item, no time) or the frames of a
 * video or animation (times and scores), in time order.
 * @param {any} verdict
 * @returns {{ source: string, scores: Record<string, number>, frames: any[] }[]}
 */
export function mediaOf(verdict) {
  /** @type {Map<string, any[]>} */
  const bySource = new Map();
  for (const e of verdict.modalities?.image?.evidence ?? []) {
    const list = bySource.get(e.source) ?? [];
    list.push(e);
    bySource.set(e.source, list);
  }
  return [...bySource].map(([source, items]) => {
    const frames = items
      .filter((e) => e.timestampMs !== undefined)
      .sort((a, b) => a.timestampMs - b.timestampMs);
    /** @type {Record<string, number>} */
    const scores = {};
    for (const e of items)
      for (const [k, v] of Object.entries(e.scores ?? {})) scores[k] = Math.max(scores[k] ?? 0, v);
    return { source, scores, frames };
  });
}

/** A short label of a source: its file name, or an API request's part. @param {string} source */
export function sourceLabel(source) {
  const part = source.split('#')[1];
  const path = source.split('#')[0] ?? source;
  const name = path.startsWith('api://') ? 'request' : path.slice(path.lastIndexOf('/') + 1);
  return part ? `${name} · ${part}` : name;
}

/** What kind of content an item is, in a word. @param {any} verdict */
export function kindOf(verdict) {
  const type = verdict.contentType ?? '';
  if (type.includes('post')) return 'post';
  return type.split('/')[0] || channels(verdict)[0] || 'item';
}
