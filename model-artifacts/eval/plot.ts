/**
 * A small SVG plotting helper for the evaluation report: precision–recall curves, reliability
 * diagrams and confusion matrices as self-contained SVG strings (no fonts to embed, no dependencies).
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Dashed, for reference lines and baselines. */
  dashed?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

const esc = (s: string): string =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

const num = (x: number): string => (Math.round(x * 10) / 10).toString();

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Draws the y = x diagonal (reliability diagrams). */
  diagonal?: boolean;
  /** Draw points as markers rather than a line. */
  markers?: boolean;
}

/** A line chart over [0, 1] × [0, 1] with a legend. */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const width = o.width ?? 440;
  const height = o.height ?? 340;
  const m = { left: 52, right: 16, top: 30, bottom: 44 };
  const legendH = 16 * series.length;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom - legendH;
  const x = (v: number): number => m.left + Math.max(0, Math.min(1, v)) * plotW;
  const y = (v: number): number => m.top + (1 - Math.max(0, Math.min(1, v))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    parts.push(
      `<line x1="${num(x(v))}" y1="${num(y(0))}" x2="${num(x(v))}" y2="${num(y(1))}" stroke="#eeeeee"/>`,
      `<line x1="${num(x(0))}" y1="${num(y(v))}" x2="${num(x(1))}" y2="${num(y(v))}" stroke="#eeeeee"/>`,
      `<text x="${num(x(v))}" y="${num(y(0) + 14)}" text-anchor="middle">${v.toFixed(1)}</text>`,
      `<text x="${num(x(0) - 6)}" y="${num(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
    `<text x="${m.left + plotW / 2}" y="${num(y(0) + 32)}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  if (o.diagonal) {
    parts.push(
      `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999999" stroke-dasharray="4 3"/>`,
    );
  }
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] ?? '#000000';
    if (o.markers) {
      for (const [px, py] of s.points) {
        parts.push(`<circle cx="${num(x(px))}" cy="${num(y(py))}" r="3" fill="${colour}"/>`);
      }
      if (s.points.length > 1) {
        const d = s.points.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${num(x(px))} ${num(y(py))}`).join('');
        parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1" opacity="0.6"/>`);
      }
    } else if (s.points.length > 0) {
      const d = s.points.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${num(x(px))} ${num(y(py))}`).join('');
      parts.push(
        `<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
    }
    const ly = height - legendH - 4 + i * 16;
    parts.push(
      `<line x1="${m.left}" y1="${ly}" x2="${m.left + 22}" y2="${ly}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${m.left + 28}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Precision–recall points of scores against binary labels, from the highest threshold down. */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): [number, number][] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] ?? 0) - (scores[a] ?? 0),
  );
  let total = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] ?? 0) > 0.5) total++;
  if (total === 0) return [];
  const points: [number, number][] = [];
  let tp = 0;
  for (let i = 0; i < idx.length; i++) {
    if ((labels[idx[i] ?? 0] ?? 0) > 0.5) tp++;
    const s = scores[idx[i] ?? 0] ?? 0;
    if (i + 1 < idx.length && scores[idx[i + 1] ?? 0] === s) continue;
    points.push([tp / total, tp / (i + 1)]);
  }
  // Thin long curves: keep a point per 0.5% of recall or 2% of precision, plus the ends.
  const thin: [number, number][] = [];
  let last: [number, number] = [-1, -1];
  for (const [k, p] of points.entries()) {
    if (k === 0 || k === points.length - 1 || p[0] - last[0] >= 0.005 || Math.abs(p[1] - last[1]) >= 0.02) {
      thin.push(p);
      last = p;
    }
  }
  return thin;
}

/** Reliability diagram points: (mean predicted, observed frequency) of non-empty equal-width bins. */
export function reliability(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { points: [number, number][]; counts: number[] } {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const pos = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] ?? 0;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    count[b] = (count[b] ?? 0) + 1;
    conf[b] = (conf[b] ?? 0) + s;
    pos[b] = (pos[b] ?? 0) + ((labels[i] ?? 0) > 0.5 ? 1 : 0);
  }
  const points: [number, number][] = [];
  const counts: number[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b] ?? 0;
    if (c === 0) continue;
    points.push([(conf[b] ?? 0) / c, (pos[b] ?? 0) / c]);
    counts.push(c);
  }
  return { points, counts };
}

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function confusion(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): Confusion {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const y = (labels[i] ?? 0) > 0.5;
    const p = (scores[i] ?? 0) >= threshold;
    if (p && y) c.tp++;
    else if (p) c.fp++;
    else if (y) c.fn++;
    else c.tn++;
  }
  return c;
}

/** A grid of 2 × 2 confusion matrices (one per panel), shaded by the share of each true row. */
export function confusionGrid(panels: readonly { title: string; c: Confusion }[], title: string): string {
  const cell = 64;
  const panelW = cell * 2 + 90;
  const panelH = cell * 2 + 60;
  const cols = Math.min(4, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const width = panelW * cols + 20;
  const height = panelH * rows + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const ox = 10 + (i % cols) * panelW + 70;
    const oy = 40 + Math.floor(i / cols) * panelH + 22;
    const { tp, fp, fn, tn } = p.c;
    const cells = [
      [tn, tn + fp, 0, 0],
      [fp, tn + fp, 1, 0],
      [fn, fn + tp, 0, 1],
      [tp, fn + tp, 1, 1],
    ] as const;
    parts.push(
      `<text x="${ox + cell}" y="${oy - 8}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
    );
    for (const [v, rowTotal, cx, cy] of cells) {
      const share = rowTotal === 0 ? 0 : v / rowTotal;
      const shade = Math.round(255 - share * 180);
      parts.push(
        `<rect x="${ox + cx * cell}" y="${oy + cy * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#333333"/>`,
        `<text x="${ox + cx * cell + cell / 2}" y="${oy + cy * cell + cell / 2 + 4}" text-anchor="middle" font-size="13">${v}</text>`,
      );
    }
    parts.push(
      `<text x="${ox + cell / 2}" y="${oy + 2 * cell + 14}" text-anchor="middle">pred 0</text>`,
      `<text x="${ox + cell * 1.5}" y="${oy + 2 * cell + 14}" text-anchor="middle">pred 1</text>`,
      `<text x="${ox - 6}" y="${oy + cell / 2 + 4}" text-anchor="end">true 0</text>`,
      `<text x="${ox - 6}" y="${oy + cell * 1.5 + 4}" text-anchor="end">true 1</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
