/**
 * The SVG figures of reports/EVALUATION.md (reports/figures/): precision-recall curves per method
 * and per channel, reliability diagrams, and confusion matrices at the balanced preset and at the
 * text model's thresholds on the hand-written set.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelRow } from './channels.ts';
import { categoryIndex, FIG_DIR, TEXT_CATS, type TextCat } from './common.ts';
import type { CalibrationRow, EvalMethod } from './fused.ts';
import type { HandRow } from './handwritten.ts';
import { averagePrecision, column, fmt, type Scorer } from './methods.ts';
import { confusion, confusionGrid, lineChart, prCurve, type Series } from './plot.ts';
import type { FusionExample } from './posts.ts';
import type { PresetEval } from './presets.ts';
import { NEVER } from './thresholds.ts';

/** Short legend names of the per-channel rows in the figures. */
const LEGEND: Record<string, string> = {
  'ocr channel: pictures of test texts (0 where OCR read nothing)': 'OCR of test pictures',
  '  … same texts typed (perfect OCR)': '  same texts typed (perfect OCR)',
  'speech channel: spoken test texts (0 where nothing recognised)': 'transcripts of test clips',
  '  … same texts typed (perfect recognition)': '  same texts typed (perfect ASR)',
  'text channel: typed test texts': 'typed test texts',
};

export interface FigureInput {
  methods: readonly EvalMethod[];
  testPosts: readonly FusionExample[];
  testMix: readonly FusionExample[];
  fused: Scorer;
  channelRows: Record<TextCat, ChannelRow[]>;
  handRows: readonly HandRow[];
  textThresholds: Record<TextCat, number>;
  calibration: readonly CalibrationRow[];
  presets: PresetEval;
}

/** Precision-recall on the test posts, one curve per method ("best single channel" left out). */
function prPostsFigure(l: TextCat, f: FigureInput): string {
  const series: Series[] = f.methods
    .filter((m) => m.key !== 'best')
    .map((m) => {
      const [s, y] = column(f.testPosts, m.scorer(l), categoryIndex(l));
      return {
        name: `${m.title.replace(/\*/g, '')} (AP ${fmt(averagePrecision(s, y))})`,
        points: prCurve(s, y),
        dashed: m.key !== 'fused' && m.key !== 'max',
      };
    });
  return lineChart(series, {
    title: `${l}: test posts, fused vs channels vs rules`,
    xLabel: 'recall',
    yLabel: 'precision',
  });
}

/** Precision-recall of the text model on each channel's data (per-source rows left out). */
function prChannelsFigure(l: TextCat, f: FigureInput): string {
  const rows = f.channelRows[l].filter(
    (r) => !r.name.startsWith('  … davidson') && !r.name.startsWith('  … olid'),
  );
  rows.push({
    name: 'hand-written non-tweets',
    scores: f.handRows.find((h) => h.label === l)?.s ?? [],
    labels: f.handRows.find((h) => h.label === l)?.y ?? [],
  });
  return lineChart(
    rows.map((r) => ({
      name: `${(LEGEND[r.name] ?? r.name).trim()} (AP ${fmt(averagePrecision(r.scores, r.labels))})`,
      points: prCurve(r.scores, r.labels),
      dashed: r.name.startsWith('  '),
    })),
    {
      title: `${l}: the text model on each channel's own data`,
      xLabel: 'recall',
      yLabel: 'precision',
      height: 400,
    },
  );
}

function reliabilityFigure(calibration: readonly CalibrationRow[], which: 'text' | 'fused'): string {
  return lineChart(
    calibration.map((c) => ({
      name: `${c.label} (ECE ${fmt(which === 'text' ? c.textEce : c.fusedEce)})`,
      points: c[which].points,
    })),
    {
      title:
        which === 'text'
          ? 'Text model reliability (test texts)'
          : 'Fused reliability (test uploads and posts)',
      xLabel: 'predicted probability',
      yLabel: 'observed frequency',
      diagonal: true,
      markers: true,
    },
  );
}

/** Confusion at the balanced preset's review (and, where it blocks, block) thresholds. */
function confusionBalancedFigure(f: FigureInput): string {
  return confusionGrid(
    TEXT_CATS.flatMap((l) => {
      const [s, y] = column(f.testMix, f.fused, categoryIndex(l), true);
      const p = f.presets.balanced[l];
      return [
        { title: `${l} ≥ review ${fmt(p.review.threshold, 2)}`, c: confusion(s, y, p.review.threshold) },
        ...(p.block.threshold < NEVER
          ? [{ title: `${l} ≥ block ${fmt(p.block.threshold, 2)}`, c: confusion(s, y, p.block.threshold) }]
          : []),
      ];
    }),
    'Balanced preset on test uploads and posts (fused)',
  );
}

function confusionHandWrittenFigure(f: FigureInput): string {
  return confusionGrid(
    f.handRows.map((h) => ({
      title: `${h.label} ≥ ${fmt(f.textThresholds[h.label], 2)}`,
      c: confusion(h.s, h.y, f.textThresholds[h.label]),
    })),
    'Text model on the hand-written non-tweets',
  );
}

/** Writes every figure under reports/figures/ and returns their file names, in writing order. */
export function writeFigures(f: FigureInput): string[] {
  mkdirSync(FIG_DIR, { recursive: true });
  const figures: string[] = [];
  const writeFig = (name: string, svg: string): void => {
    writeFileSync(join(FIG_DIR, name), `${svg}\n`);
    figures.push(name);
  };
  for (const l of TEXT_CATS) {
    writeFig(`pr-posts-${l}.svg`, prPostsFigure(l, f));
    writeFig(`pr-channels-${l}.svg`, prChannelsFigure(l, f));
  }
  writeFig('reliability-text.svg', reliabilityFigure(f.calibration, 'text'));
  writeFig('reliability-fused.svg', reliabilityFigure(f.calibration, 'fused'));
  writeFig('confusion-balanced.svg', confusionBalancedFigure(f));
  writeFig('confusion-text-hand-written.svg', confusionHandWrittenFigure(f));
  return figures;
}
