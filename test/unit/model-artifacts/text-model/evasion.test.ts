import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EvasionFigure, evasionFigures } from '#model-artifacts/text-model/evasion.ts';
import { runTextModel } from '#model-artifacts/text-model/onnx.ts';
import { PERTURBATIONS } from '#model-artifacts/text-model/perturb.ts';
import { createSession } from '#shared/onnx/sessions.ts';
import { featurize, parseFeaturizerConfig } from '#shared/text/featurize.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const MODEL_DIR = join(REPO_ROOT, 'model-artifacts/models/text-toxicity');
const HELD_OUT = join(REPO_ROOT, 'test/fixtures/text/held-out-abusive.json');

describe('evasion property: perturbed abusive text scores like the clean text', () => {
  let figures: EvasionFigure[];

  beforeAll(async () => {
    const manifest = JSON.parse(readFileSync(join(MODEL_DIR, 'manifest.json'), 'utf8')) as {
      preprocess: unknown;
    };
    const featurizer = parseFeaturizerConfig(manifest.preprocess);
    const session = await createSession(readFileSync(join(MODEL_DIR, 'model.onnx')));
    const texts = (JSON.parse(readFileSync(HELD_OUT, 'utf8')) as { items: { text: string }[] }).items.map(
      (i) => i.text,
    );
    const score = async (batch: readonly string[]) => {
      const out = await runTextModel(
        session,
        batch.map((t) => featurize(t, featurizer)),
      );
      return out.probs.map((p) => Math.max(...p));
    };
    ({ figures } = await evasionFigures(texts, score));
  }, 60_000);

  it.each(
    Object.keys(PERTURBATIONS),
  )('%s keeps the score within 0.1 for at least 90% of held-out abusive texts', (name) => {
    const f = figures.find((x) => x.perturbation === name);
    expect(f?.n).toBeGreaterThanOrEqual(20);
    expect(f?.withinTolerance).toBeGreaterThanOrEqual(0.9);
  });
});

describe('perturbations', () => {
  const rnd = () => 0.1;

  it('change the text they are applied to', () => {
    const text = 'you are a stupid fucking idiot';
    for (const [name, f] of Object.entries(PERTURBATIONS)) expect(f(text, rnd), name).not.toBe(text);
  });

  it('swap letters for look-alikes from other scripts', () => {
    expect(PERTURBATIONS.confusables('cope', rnd)).toMatch(/[^\x00-\x7f]/);
  });

  it('hide bidi isolates and overrides inside words', () => {
    expect(PERTURBATIONS.invisible('idiot', rnd)).toMatch(
      /[\u200b-\u200d\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]/,
    );
  });
});
