/**
 * What the review console (console/, docs/CONSOLE.md) needs from whoever hosts it: the three UI
 * modules its import map names, vendored from node_modules (no CDN), and its Content-Security-Policy.
 * The local server (local/console.ts) and the CDK construct (infra/constructs/review-console.ts)
 * both read them here, so the page gets the same files and the same header on both.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Where the vendored modules sit, relative to the console's root (`/review/`). */
/** Where the console lives: on the CloudFront distribution as on the local API server (`npm run api`). */
export const CONSOLE_PATH = '/review/';

export const CONSOLE_VENDOR_DIR = 'vendor/';

/**
 * The modules index.html's import map names: file name under `vendor/` → its path inside
 * node_modules (the file each package's `import` export resolves to).
 */
export const CONSOLE_VENDORED_MODULES = {
  'preact.mjs': 'preact/dist/preact.mjs',
  'hooks.mjs': 'preact/hooks/dist/hooks.mjs',
  'htm.mjs': 'htm/dist/htm.mjs',
} as const;

export type VendoredModule = keyof typeof CONSOLE_VENDORED_MODULES;

/**
 * The file a vendored module is copied from, looked up in the node_modules folders Node would search
 * from `projectRoot` (the packages' exports do not expose these paths to `require.resolve`).
 */
export function vendoredModuleFile(name: string, projectRoot: string): string {
  const path = (CONSOLE_VENDORED_MODULES as Record<string, string>)[name];
  if (!path)
    throw new Error(
      `unknown vendored console module ${JSON.stringify(name)}; known: ${Object.keys(CONSOLE_VENDORED_MODULES).join(', ')}`,
    );
  const searched = createRequire(join(projectRoot, 'package.json')).resolve.paths(path) ?? [];
  const file = searched.map((dir) => join(dir, path)).find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`vendored console module ${path} not found in ${searched.join(', ')}`);
  return file;
}

/**
 * The page's Content-Security-Policy: its own scripts and styles only, plus the inline import map,
 * allowed by its hash. `connectSrc` adds origins the page may fetch from besides its own.
 */
export function consoleContentSecurityPolicy(indexHtml: string, connectSrc: readonly string[] = []): string {
  const importMaps = [...indexHtml.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '', 'utf8')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src 'self' ${importMaps.join(' ')}`.trim(),
    "style-src 'self'",
    "img-src 'self' blob:",
    "media-src 'self' blob:",
    `connect-src 'self' ${connectSrc.join(' ')}`.trim(),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
