/**
 * `npm run synth:counts [-- -c env=prod]`: synthesizes the app (unless `--no-synth`) and prints how
 * many resources of each type every stack template in cdk.out holds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const outdir = 'cdk.out';

if (!args.includes('--no-synth')) {
  const synth = spawnSync('npx', ['cdk', 'synth', '--quiet', ...args], { stdio: 'inherit' });
  if (synth.status !== 0) process.exit(synth.status ?? 1);
}

const manifestPath = join(outdir, 'manifest.json');
if (!existsSync(manifestPath)) {
  console.error(`no ${manifestPath}: run \`npm run synth\` first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
};
for (const [name, artifact] of Object.entries(manifest.artifacts)) {
  if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
  const template = JSON.parse(readFileSync(join(outdir, artifact.properties.templateFile), 'utf8')) as {
    Resources?: Record<string, { Type: string }>;
  };
  const counts = new Map<string, number>();
  for (const { Type } of Object.values(template.Resources ?? {}))
    counts.set(Type, (counts.get(Type) ?? 0) + 1);
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([type]) => type.length), 'Resource type'.length);
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  console.log(`\n${name}\n`);
  console.log(`| ${'Resource type'.padEnd(width)} | Count |`);
  console.log(`| ${'-'.repeat(width)} | ----: |`);
  for (const [type, n] of rows) console.log(`| ${type.padEnd(width)} | ${String(n).padStart(5)} |`);
  console.log(`| ${'Total'.padEnd(width)} | ${String(total).padStart(5)} |`);
}
