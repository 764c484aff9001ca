/**
 * The moderate Lambda as CDK will ship it: its esbuild bundle, built with the options of
 * `infra/constructs/pipeline-function.ts` (ESM, node22, minify, source map, AWS SDK bundled,
 * onnxruntime-node never bundled, sharp and tesseract.js installed beside the bundle), its zipped
 * size, and its cold initialisation: importing the bundled handler in fresh Node processes with the
 * function's environment, as Lambda's Init phase does.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { REPO_ROOT } from '#bench/lib/child.ts';
import { emit, progress, suiteArgs } from '#bench/lib/line.ts';
import { median, quantile, round } from '#bench/lib/measure.ts';
import { zip } from '#bench/lib/zip.ts';

const { quick } = suiteArgs();
const COLD_STARTS = quick ? 2 : 7;
const ZIP_TARGET_BYTES = 5 * 1000 * 1000;
const INIT_TARGET_MS = 500;
/** Beside node_modules, so the bundle resolves its external sharp the way it will on Lambda; one per run. */
const OUT_DIR = join(REPO_ROOT, `node_modules/.cache/moderation-bench/lambda-${process.pid}`);
const ENTRY = join(REPO_ROOT, 'functions/moderate/handler.ts');
/**
 * Mirrors of infra/constructs/pipeline-function.ts (ESM_REQUIRE_BANNER, NEVER_BUNDLED) and of the
 * `nodeModules` that infra/stacks/moderation-pipeline-stack.ts passes for the moderate function:
 * keep them in step (they are not exported there).
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __pipelineCreateRequire } from 'node:module'; globalThis.require ??= __pipelineCreateRequire(import.meta.url);";
const NEVER_BUNDLED = ['onnxruntime-node'];
const NODE_MODULES = ['sharp', 'tesseract.js', '@tesseract.js-data/eng'];
const EXTERNALS = [...NEVER_BUNDLED, ...NODE_MODULES];

/** `names` and every package they depend on that is installed here (what `npm ci` puts beside the bundle). */
async function installedClosure(names: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (seen.has(name)) continue;
    const manifest = await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8').catch(
      () => undefined,
    );
    if (!manifest) continue; // an optional dependency for another platform
    seen.add(name);
    const pkg = JSON.parse(manifest) as Record<string, Record<string, string> | undefined>;
    queue.push(...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }));
  }
  return [...seen].sort();
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function main(): Promise<void> {
  progress('lambda: bundling functions/moderate/handler.ts with esbuild');
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, 'index.mjs');
  const started = performance.now();
  const result = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: EXTERNALS,
    metafile: true,
    logLevel: 'error',
  });
  const buildMs = performance.now() - started;
  const code = await readFile(outfile);
  const map = await readFile(`${outfile}.map`);
  const zipped = zip([
    { name: 'index.mjs', data: code },
    { name: 'index.mjs.map', data: map },
  ]).byteLength;
  const zippedCode = zip([{ name: 'index.mjs', data: code }]).byteLength;

  // Where the bytes come from: output bytes by package.
  const byPackage = new Map<string, number>();
  for (const [input, info] of Object.entries(
    result.metafile.outputs[relative(process.cwd(), outfile)]?.inputs ?? {},
  )) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m?.[1] ?? (input.split('/')[0] as string);
    byPackage.set(key, (byPackage.get(key) ?? 0) + info.bytesInOutput);
  }
  const top = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([name, bytes]) => `${name} ${round(bytes / 1024, 3)} KiB`);
  emit({
    name: 'lambda/moderate/bundle-zipped',
    itemsPerSec: null,
    value: zipped,
    unit: 'bytes',
    zippedCodeOnlyBytes: zippedCode,
    bundleBytes: code.byteLength,
    sourceMapBytes: map.byteLength,
    buildMs: round(buildMs),
    largestInputs: top,
    target: `<= ${ZIP_TARGET_BYTES / 1e6} MB zipped, installed native/data modules apart`,
    met: zipped <= ZIP_TARGET_BYTES,
  });

  progress(`lambda: zipping the modules installed beside the bundle (${NODE_MODULES.join(', ')})`);
  const packages = await installedClosure(NODE_MODULES);
  const nativeFiles = (
    await Promise.all(packages.map((p) => filesUnder(join(REPO_ROOT, 'node_modules', p))))
  ).flat();
  const nativeEntries = await Promise.all(
    nativeFiles.map(async (f) => ({ name: relative(REPO_ROOT, f), data: await readFile(f) })),
  );
  emit({
    name: 'lambda/moderate/installed-modules-zipped',
    itemsPerSec: null,
    value: zip(nativeEntries, 6).byteLength,
    unit: 'bytes',
    unzippedBytes: nativeEntries.reduce((n, e) => n + e.data.byteLength, 0),
    packages,
    files: nativeEntries.length,
    platform: `${process.platform}-${process.arch} (Lambda gets linux-arm64's build of the same packages)`,
  });

  progress(`lambda: ${COLD_STARTS} cold initialisations in fresh Node processes`);
  const script = [
    "const { pathToFileURL } = await import('node:url');",
    'const t = performance.now();',
    `await import(pathToFileURL(${JSON.stringify(outfile)}).href);`,
    'process.stdout.write(JSON.stringify({ importMs: performance.now() - t, sinceStartMs: performance.now() }));',
  ].join('\n');
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'moderate-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    TABLE_NAME: 'moderation-verdicts',
    ENDPOINT_PREFIX: 'moderation-',
    POLICY_NAME: 'balanced',
    POWERTOOLS_SERVICE_NAME: 'moderate',
    POWERTOOLS_TRACE_ENABLED: 'false',
    // As PipelineFunction sets it.
    NODE_OPTIONS: '--enable-source-maps',
  };
  const run = promisify(execFile);
  const imports: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env,
      cwd: OUT_DIR,
    });
    const r = JSON.parse(stdout) as { importMs: number; sinceStartMs: number };
    imports.push(r.importMs);
    totals.push(r.sinceStartMs);
  }
  const importMs = median(imports);
  emit({
    name: 'lambda/moderate/cold-init',
    itemsPerSec: null,
    value: round(importMs),
    unit: 'ms',
    p50Ms: round(importMs),
    p99Ms: round(quantile(imports, 0.99)),
    processStartToReadyMs: round(median(totals)),
    samples: imports.length,
    target: `<= ${INIT_TARGET_MS} ms to import the bundled handler`,
    met: importMs <= INIT_TARGET_MS,
  });
  await rm(OUT_DIR, { recursive: true, force: true });
}

await main();
