/**
 * Writes test/fixtures/text/held-out-abusive.json: abusive texts of the text model's **test** split
 * (any of its five labels positive; generated text excluded), at most 30 per source, drawn with a
 * fixed seed. The evasion property test perturbs them; the file holds only text, source and labels,
 * so the test scores them with whatever model is committed.
 *
 *   npx tsx model-artifacts/text-model/evasion-fixture.ts [--data-dir DIR]
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCorpus, SOURCES, TEXT_LABELS } from './data.ts';
import { mulberry32 } from './model.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PER_SOURCE = 30;
const SEED = 20_261_201;

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string', default: resolve(REPO, '../shared/data') } },
});
const corpus = loadCorpus(values['data-dir']);
const rnd = mulberry32(SEED);
const items = SOURCES.filter((s) => s !== 'generated').flatMap((source) => {
  const pool = corpus.examples.filter(
    (e) =>
      e.source === source &&
      e.split === 'test' &&
      e.text.length >= 20 &&
      e.text.length <= 200 &&
      e.y.some((y, k) => y === 1 && e.mask[k] === 1),
  );
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as (typeof pool)[number], pool[i] as (typeof pool)[number]];
  }
  return pool.slice(0, PER_SOURCE).map((e) => ({
    source: e.source,
    text: e.text,
    labels: TEXT_LABELS.filter((_, k) => e.y[k] === 1 && e.mask[k] === 1),
  }));
});
const out = join(REPO, 'test/fixtures/text/held-out-abusive.json');
writeFileSync(
  out,
  `${JSON.stringify({ about: 'Abusive texts of the text model test split (model-artifacts/text-model/evasion-fixture.ts). Contains slurs and threats by design.', seed: SEED, items }, null, 1)}\n`,
);
process.stderr.write(`wrote ${items.length} texts to ${out}\n`);
