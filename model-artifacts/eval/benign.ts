/**
 * What each policy preset does to text that should pass: every held-out (test split) text of the
 * benign base-rate sources, neutral statements about identity groups (ToxiGen) and non-toxic
 * Wikipedia comments that mention identities, uploaded alone (text channel only) and decided by the
 * committed fusion model and each preset as written. Also the evasion property figures and issue
 * 12's example sentences, so the report shows them beside the presets they are judged by.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUSION_LABELS } from '#model-artifacts/fusion/model.ts';
import { type LabelledText, TEXT_LABELS } from '#model-artifacts/text-model/data.ts';
import { type EvasionFigure, evasionFigures } from '#model-artifacts/text-model/evasion.ts';
import { CATEGORIES } from '#shared/domain/taxonomy.ts';
import type { InferenceSession } from '#shared/onnx/sessions.ts';
import { applyPolicy, type Policy, parsePolicy } from '#shared/policy/policy.ts';
import { pct } from './common.ts';
import { REPO } from './dataset.ts';
import { fusedByOnnx } from './fused.ts';
import { type Models, postExample, scoreTexts, textLabels } from './posts.ts';
import { PRESET_TARGETS, type PresetName } from './presets.ts';

/** Issue 12's examples: what a new user tried. */
export const ISSUE_EXAMPLES = [
  'can you send me the slides from the meeting?',
  'Fits true to size. The colour is a bit darker than in the photos.',
  'Mexicans are lazy and I refuse to have one of them repair my roof.',
  'Jews control the banks and the media, wake up people.',
  'the deadline is killing me',
  'I will kill you, you are a worthless idiot',
  'the comedian killed it',
];

interface Group {
  name: string;
  texts: string[];
}

export interface PresetRates {
  group: string;
  n: number;
  /** Per preset: share reviewed or blocked, share blocked. */
  rates: Record<PresetName, { flagged: number; blocked: number }>;
}

export interface ExampleVerdict {
  text: string;
  categories: Record<string, number>;
  decisions: Record<PresetName, string>;
}

export interface BenignEval {
  rates: PresetRates[];
  examples: ExampleVerdict[];
  evasion: EvasionFigure[];
}

const PRESETS = Object.keys(PRESET_TARGETS) as PresetName[];

function readPreset(name: PresetName): Policy {
  return parsePolicy(JSON.parse(readFileSync(join(REPO, `shared/policy/presets/${name}.json`), 'utf8')));
}

/** Fused probabilities of texts uploaded alone, by category name. */
async function fusedTexts(models: Models, fusion: InferenceSession, texts: readonly string[]) {
  const scored = await scoreTexts(models.text, models.featurizer, texts);
  const zero = [0, 0, 0, 0, 0] as LabelledText['y'];
  const examples = scored.flatMap(
    (s, i) =>
      postExample({
        scenario: 'neither',
        caption: { text: texts[i] ?? '', scored: s, ...textLabels(zero, zero) },
      }) ?? [],
  );
  const fused = await fusedByOnnx(fusion, examples);
  return examples.map((ex) => {
    const p = fused(ex);
    return Object.fromEntries(
      FUSION_LABELS.map((l, c) => [l, p[c] ?? 0]).filter(([l]) => CATEGORIES.includes(l as never)),
    );
  });
}

export async function evaluateBenign(
  corpus: readonly LabelledText[],
  models: Models,
  fusion: InferenceSession,
): Promise<BenignEval> {
  const test = corpus.filter((e) => e.split === 'test');
  const groups: Group[] = [
    ...(['goemotions', 'clinc150', 'banking77'] as const).map((s) => ({
      name: s,
      texts: test.filter((e) => e.source === s).map((e) => e.text),
    })),
    {
      name: 'toxigen neutral (identity mentions)',
      texts: test.filter((e) => e.raw === 'toxigen:neutral').map((e) => e.text),
    },
    {
      name: 'wikipedia identity comments, not toxic',
      texts: test.filter((e) => e.source === 'wikipedia-identity' && e.anyHarm === 0).map((e) => e.text),
    },
  ];
  const policies = Object.fromEntries(PRESETS.map((p) => [p, readPreset(p)])) as Record<PresetName, Policy>;
  const rates: PresetRates[] = [];
  for (const g of groups) {
    const cats = await fusedTexts(models, fusion, g.texts);
    const entry = Object.fromEntries(
      PRESETS.map((p) => {
        const d = cats.map((c) => applyPolicy(policies[p], c).decision);
        const n = Math.max(1, d.length);
        return [
          p,
          {
            flagged: d.filter((x) => x !== 'allow').length / n,
            blocked: d.filter((x) => x === 'block').length / n,
          },
        ];
      }),
    ) as PresetRates['rates'];
    rates.push({ group: g.name, n: g.texts.length, rates: entry });
  }
  const exampleCats = await fusedTexts(models, fusion, ISSUE_EXAMPLES);
  const examples = ISSUE_EXAMPLES.map((text, i) => {
    const categories = exampleCats[i] ?? {};
    return {
      text,
      categories,
      decisions: Object.fromEntries(
        PRESETS.map((p) => [p, applyPolicy(policies[p], categories).decision]),
      ) as Record<PresetName, string>,
    };
  });
  const heldOut = JSON.parse(
    readFileSync(join(REPO, 'test/fixtures/text/held-out-abusive.json'), 'utf8'),
  ) as {
    items: { text: string }[];
  };
  const score = async (texts: readonly string[]) =>
    (await scoreTexts(models.text, models.featurizer, texts)).map((s) =>
      Math.max(...TEXT_LABELS.map((l) => s.probs[FUSION_LABELS.indexOf(l)] ?? 0)),
    );
  const { figures } = await evasionFigures(
    heldOut.items.map((i) => i.text),
    score,
  );
  return { rates, examples, evasion: figures };
}

/** The report's sections for these figures. */
export function renderBenign(b: BenignEval, referencePrevalence: number): string {
  const rateRows = b.rates.map(
    (r) =>
      `| ${r.group} | ${r.n} | ${PRESETS.map((p) => `${pct(r.rates[p].flagged)} / ${pct(r.rates[p].blocked)}`).join(' | ')} |`,
  );
  const exampleRows = b.examples.map(
    (e) =>
      `| ${e.text} | ${
        Object.entries(e.categories)
          .filter(([, v]) => v >= 0.05)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ') || '–'
      } | ${PRESETS.map((p) => e.decisions[p]).join(' | ')} |`,
  );
  const evasionRows = b.evasion.map(
    (f) =>
      `| ${f.perturbation} | ${f.n} | ${pct(f.withinTolerance)} | ${f.meanDrop.toFixed(3)} | ${f.maxAbs.toFixed(3)} |`,
  );
  return `
## Benign text under each preset

Held-out (test split) texts uploaded alone, scored by the text model and the committed fusion model
and decided by each preset as written in shared/policy/presets (thresholds chosen for precision targets
at ${pct(referencePrevalence)} prevalence). Cells: reviewed or blocked / blocked — the false-positive rate of
text that should pass.

| texts | n | ${PRESETS.map((p) => `${p} flagged / blocked`).join(' | ')} |
|---|---:|${PRESETS.map(() => '---').join('|')}|
${rateRows.join('\n')}

## Issue 12's examples

Typed text uploaded alone (fused categories at 0.05 or more).

| text | fused categories | ${PRESETS.join(' | ')} |
|---|---|${PRESETS.map(() => '---').join('|')}|
${exampleRows.join('\n')}

## Evasion

The project's held-out abusive texts (test/fixtures/text/held-out-abusive.json: test-split abuse of every
labelled source), each perturbed once per perturbation (model-artifacts/text-model/perturb.ts, seeded by
fast-check); the share whose text-model score (highest output) stays within 0.1 of the clean text's. The
property test (test/unit/model-artifacts/text-model/evasion.test.ts) requires at least 90%.

| perturbation | texts | within 0.1 | mean drop | max |Δ| |
|---|---:|---:|---:|---:|
${evasionRows.join('\n')}
`;
}
