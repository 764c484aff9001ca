/**
 * Text-model variants tried against the committed recipe, judged on **validation** data only (the
 * test split and the hand-written set stay untouched for reporting): in-domain validation AUROC, and
 * cross-source validation AUROC (trained on one corpus, validated on the other's validation split) as
 * the proxy for text unlike the training tweets. Writes model-artifacts/text-model/experiments.json.
 *
 *   npx tsx model-artifacts/text-model/experiments.ts
 *
 * The harassment-among-offensive AUROC measures the card's "untargeted profanity scores high on
 * harassment" weakness on validation rows.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featurize } from '#shared/text/featurize.ts';
import { type LabelledText, loadCorpus, type Source, TEXT_LABELS } from './data.ts';
import { auroc } from './metrics.ts';
import { forward } from './model.ts';
import { FEATURIZER, HYPERPARAMETERS, SEED } from './train.ts';
import { type TrainExample, type TrainOptions, trainTextModel } from './trainer.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');

type Row = TrainExample & { e: LabelledText };

export const VARIANTS: { name: string; overrides: Partial<TrainOptions>; untargetedWeight?: number }[] = [
  { name: 'committed recipe (no feature dropout)', overrides: {} },
  { name: 'feature dropout 0.2', overrides: { featureDropout: 0.2 } },
  { name: 'feature dropout 0.4', overrides: { featureDropout: 0.4 } },
  { name: 'feature dropout 0.2, 6 epochs', overrides: { featureDropout: 0.2, epochs: 6 } },
  // Offensive-but-not-aimed-at-a-person rows (OLID OFF/UNT, OFF/TIN/OTH, OFF/TIN/GRP) weigh more in
  // the harassment loss, so profanity alone counts for less than a person being targeted.
  { name: 'untargeted offence ×3 in the harassment loss', overrides: {}, untargetedWeight: 3 },
  { name: 'untargeted offence ×6 in the harassment loss', overrides: {}, untargetedWeight: 6 },
];

/** OLID offensive rows that target no individual: negatives for harassment that contain offence. */
const untargeted = (e: LabelledText): boolean => e.source === 'olid' && e.y[2] === 1 && e.y[1] === 0;

function aurocs(
  params: ReturnType<typeof trainTextModel>['params'],
  rows: readonly Row[],
): Record<string, number> {
  const probs = rows.map((r) => forward(params, r.f).probs);
  return Object.fromEntries(
    TEXT_LABELS.map((label, k) => {
      const s: number[] = [];
      const y: number[] = [];
      rows.forEach((r, i) => {
        if ((r.mask[k] ?? 0) === 0) return;
        s.push(probs[i]?.[k] ?? 0);
        y.push(r.y[k] ?? 0);
      });
      return [label, auroc(s, y)];
    }),
  );
}

function main(): void {
  const corpus = loadCorpus(resolve(REPO, '../shared/data'));
  const base: Row[] = corpus.examples.map((e) => ({
    e,
    f: featurize(e.text, FEATURIZER),
    y: e.y,
    mask: e.mask,
  }));
  const results = [];
  for (const v of VARIANTS) {
    // The weight applies to training rows only; validation keeps the dataset's masks.
    const rows: Row[] = base.map((r) =>
      v.untargetedWeight !== undefined && r.e.split === 'train' && untargeted(r.e)
        ? { ...r, mask: [r.mask[0] ?? 0, v.untargetedWeight, r.mask[2] ?? 0] }
        : r,
    );
    const pick = (split: LabelledText['split'], sources?: Source[]) =>
      rows.filter((r) => r.e.split === split && (sources === undefined || sources.includes(r.e.source)));
    const t0 = performance.now();
    const trainOn = (train: Row[], validation: Row[]) =>
      trainTextModel(train, {
        buckets: FEATURIZER.buckets,
        ...HYPERPARAMETERS,
        seed: SEED,
        validation,
        ...v.overrides,
      });
    const all = trainOn(pick('train'), pick('validation'));
    const fromDavidson = trainOn(pick('train', ['davidson']), pick('validation', ['davidson']));
    const fromOlid = trainOn(pick('train', ['olid']), pick('validation', ['olid']));
    const result = {
      name: v.name,
      validation: aurocs(all.params, pick('validation')),
      davidsonToOlidValidation: aurocs(fromDavidson.params, pick('validation', ['olid'])),
      olidToDavidsonValidation: aurocs(fromOlid.params, pick('validation', ['davidson'])),
      // Among OLID's offensive validation rows: is a person targeted (IND) or not (UNT/OTH/GRP)?
      harassmentAmongOffensive: aurocs(
        all.params,
        pick('validation', ['olid']).filter((r) => r.e.y[2] === 1),
      ).harassment,
      seconds: (performance.now() - t0) / 1000,
    };
    process.stderr.write(`[experiments] ${JSON.stringify(result)}\n`);
    results.push(result);
  }
  writeFileSync(join(HERE, 'experiments.json'), `${JSON.stringify(results, null, 2)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
