import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import { afterEach, describe, expect, it } from 'vitest';

/** The rules `npm run check:imports` applies (.dependency-cruiser.cjs), run over small made-up trees. */
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: IForbiddenRuleType[];
};

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function violationsOf(files: Record<string, string>): Promise<IViolation[]> {
  root = await mkdtemp(join(tmpdir(), 'import-rules-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, dirname(path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const result = await cruise(
    Object.keys(files).map((f) => f.split('/')[0] as string),
    {
      baseDir: root,
      ruleSet: { forbidden: config.forbidden },
      validate: true,
    },
  );
  if (typeof result.output === 'string') throw new Error('expected a JSON result');
  return result.output.summary.violations;
}

describe('import rules', () => {
  it('pass a runtime that imports only downward', async () => {
    const violations = await violationsOf({
      'shared/contracts/env.ts': 'export const ENV = {};\n',
      'shared/moderation/score.ts': "import { ENV } from '../contracts/env.ts';\nexport const x = ENV;\n",
      'functions/moderate/handler.ts':
        "import { x } from '../../shared/moderation/score.ts';\nexport const h = x;\n",
      'infra/stack.ts': "import { ENV } from '../shared/contracts/env.ts';\nexport const s = ENV;\n",
    });
    expect(violations).toEqual([]);
  });

  it('fail when shared/ imports a higher floor', async () => {
    const violations = await violationsOf({
      'shared/moderation/score.ts': "import { h } from '../../local/stack.ts';\nexport const x = h;\n",
      'local/stack.ts': 'export const h = 1;\n',
    });
    expect(violations.map((v) => [v.rule.name, v.from, v.to])).toEqual([
      ['shared-is-the-runtime', 'shared/moderation/score.ts', 'local/stack.ts'],
    ]);
  });

  it('fail on an import loop, naming its files', async () => {
    const violations = await violationsOf({
      'shared/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'shared/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    expect(violations.map((v) => v.rule.name)).toEqual(['no-circular']);
    expect([violations[0]?.from, ...(violations[0]?.cycle ?? []).map((c) => c.name)].sort()).toEqual([
      'shared/a.ts',
      'shared/a.ts',
      'shared/b.ts',
    ]);
  });

  it('fail when infra imports the runtime beyond its contracts', async () => {
    const violations = await violationsOf({
      'infra/stack.ts': "import { score } from '../shared/moderation/score.ts';\nexport const s = score;\n",
      'shared/moderation/score.ts': 'export const score = 1;\n',
    });
    expect(violations.map((v) => v.rule.name)).toEqual(['infra-builds-not-runs']);
  });
});
