/**
 * The review console (console/, docs/CONSOLE.md) on the local API server, under /review/: its static
 * files, the three UI modules it imports (preact, preact/hooks, htm) vendored from node_modules at
 * serve time (no CDN: the page works offline; the list and the CSP are #shared/contracts/console.ts), a config.json that points it at this server, and
 * /review/media, which hands a reviewer the bytes of an upload they hold a claim on. On AWS the same
 * files are static objects behind CloudFront and the media come from a presigned-URL route.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { fileTypeFromBuffer } from 'file-type';
import { Hono } from 'hono';
import { type Caller, ownedBy, presentedKey } from '#shared/api/keys.ts';
import {
  CONSOLE_PATH,
  CONSOLE_VENDOR_DIR,
  CONSOLE_VENDORED_MODULES,
  consoleContentSecurityPolicy,
  vendoredModuleFile,
} from '#shared/contracts/console.ts';
import { parseS3Uri } from '#shared/contracts/s3-uri.ts';
import { VERDICT_TABLE, verdictPkOf } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { LIMITS } from '#shared/ingest/limits.ts';

/** The console's own route for media bytes (config.json's `mediaUrl` locally). */
export const CONSOLE_MEDIA_PATH = `${CONSOLE_PATH}media`;

/** console/ sits at the repository root, next to local/. */
const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

/** The repository root, where node_modules (and the vendored modules in it) is looked up from. */
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Media the console shows (thumbnails, video frames); anything else is not served. */
const SHOWN_MEDIA = /^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|quicktime|x-matroska))$/;

export interface ConsoleFile {
  body: Uint8Array;
  contentType: string;
}

/**
 * Every file of the console as a static deployment uploads it (path relative to the console's root
 * → bytes): console/'s own files plus the vendored modules under vendor/. config.json is the
 * deployment's own (docs/CONSOLE.md) and is not among them.
 */
export async function consoleFiles(): Promise<Map<string, ConsoleFile>> {
  const files = new Map<string, ConsoleFile>();
  for (const name of (await readdir(CONSOLE_DIR)).sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType) files.set(name, { body: await readFile(join(CONSOLE_DIR, name)), contentType });
  }
  for (const name of Object.keys(CONSOLE_VENDORED_MODULES)) {
    const body = await readFile(vendoredModuleFile(name, PROJECT_ROOT));
    files.set(`${CONSOLE_VENDOR_DIR}${name}`, { body, contentType: CONTENT_TYPES['.mjs'] as string });
  }
  if (!files.has('index.html')) throw new Error(`console: no index.html in ${CONSOLE_DIR}`);
  return files;
}

/**
 * Reviewers sign in with a Cognito user pool's hosted UI (config.json's `auth: "cognito"`,
 * docs/CONSOLE.md, "Sign-in") instead of the reviewer-key form.
 */
export interface ConsoleCognitoSignIn {
  /** The hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`): /oauth2/*, /logout. */
  signInUrl: string;
  /** The console's app client. */
  userPoolClientId: string;
  /** @default openid, email, profile (the console's own default) */
  scopes?: string[];
}

export interface ConsoleDeps {
  /** Who a presented bearer (a key, or a sign-in token when the API accepts them) belongs to. */
  authenticate(presented: string | undefined): Caller | undefined | Promise<Caller | undefined>;
  doc: DynamoDBDocumentClient;
  tableName: string;
  s3: S3Client;
  /** The uploads bucket: the only one whose objects are served. */
  bucket: string;
  /** @default the reviewer-key form */
  cognito?: ConsoleCognitoSignIn;
  now?: () => Date;
}

class MediaRefused extends Error {
  override name = 'MediaRefused';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Every medium a verdict names: the object itself, and the sources of its evidence, matches and hashes. */
function sourcesOf(verdict: Verdict): Set<string> {
  const sources = new Set([verdict.object]);
  for (const channel of Object.values(verdict.modalities ?? {}))
    for (const e of channel.evidence) sources.add(e.source);
  for (const m of verdict.matches ?? []) sources.add(m.source);
  for (const s of verdict.signals ?? []) sources.add(s.source);
  return sources;
}

/** The console's routes, relative to CONSOLE_PATH. */
export async function createConsoleApp(deps: ConsoleDeps): Promise<Hono> {
  const files = await consoleFiles();
  const now = deps.now ?? (() => new Date());
  const { cognito } = deps;
  // The page trades the sign-in code for tokens at the hosted UI's /oauth2/token: its origin.
  const csp = consoleContentSecurityPolicy(
    new TextDecoder().decode(files.get('index.html')?.body),
    cognito ? [new URL(cognito.signInUrl).origin] : [],
  );
  // Locally the console talks to the server that serves it; the media route is its own.
  const config = (consoleUrl: string) =>
    JSON.stringify({
      apiBaseUrl: '',
      mediaUrl: CONSOLE_MEDIA_PATH,
      auth: cognito ? 'cognito' : 'key',
      ...(cognito && {
        // The hosted UI sends the tab back to the console it was loaded from (the page's own
        // origin asked for this file), if the app client lists that URL as a callback.
        cognito: { ...cognito, redirectUrl: consoleUrl },
      }),
    });
  const app = new Hono();

  app.get('/review', (c) => c.redirect(CONSOLE_PATH, 301));

  /** The bytes of one medium of a verdict waiting for a person, for the reviewer who claimed it. */
  async function media(authorization: string | undefined, id: string, source: string) {
    const caller = await deps.authenticate(presentedKey(authorization, undefined));
    if (!caller)
      throw new MediaRefused(
        401,
        'a reviewer key or sign-in token is required: Authorization: Bearer <key or ID token>',
      );
    if (!caller.role) throw new MediaRefused(403, 'media are for reviewer keys');
    const pk = verdictPkOf(id);
    const { Item } = pk
      ? await deps.doc.send(
          new GetCommand({ TableName: deps.tableName, Key: { [VERDICT_TABLE.partitionKey]: pk } }),
        )
      : { Item: undefined };
    const verdict = Item as Verdict | undefined;
    // What the queue would not show this caller does not exist for them.
    if (!verdict?.object || !ownedBy(caller, verdict.object) || !verdict.queue)
      throw new MediaRefused(404, `no item ${id} waiting for a person`);
    // A reviewer sees the content of the item they are deciding: claim it first (the console does on open).
    if (verdict.lease?.reviewer !== caller.name || verdict.lease.until <= now().toISOString())
      throw new MediaRefused(403, `claim item ${id} before reading its media`);
    const location = parseS3Uri(source);
    if (!sourcesOf(verdict).has(source) || location?.bucket !== deps.bucket)
      throw new MediaRefused(404, `item ${id} has no kept medium ${source}`);
    const object = await deps.s3
      .send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }))
      .catch((err: unknown) => {
        if ((err as Error).name === 'NoSuchKey') throw new MediaRefused(404, `${source} is gone`);
        throw err;
      });
    if ((object.ContentLength ?? 0) > LIMITS.maxObjectBytes)
      throw new MediaRefused(413, `${source} is over the object size limit`);
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw new MediaRefused(404, `${source} is empty`);
    // The bytes judged, not a later overwrite: the verdict kept their SHA-256.
    const kept = verdict.signals?.find((s) => s.source === source && s.signalType === 'sha256');
    if (kept && createHash('sha256').update(bytes).digest('hex') !== kept.signal)
      throw new MediaRefused(409, `${source} changed since it was moderated`);
    const type = (await fileTypeFromBuffer(bytes))?.mime;
    if (!type || !SHOWN_MEDIA.test(type)) throw new MediaRefused(415, `${source} is not an image or video`);
    return { bytes, type };
  }

  app.get('/review/media', async (c) => {
    try {
      const { bytes, type } = await media(
        c.req.header('authorization'),
        c.req.query('id') ?? '',
        c.req.query('source') ?? '',
      );
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'content-type': type,
        'cache-control': 'no-store, private',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
      });
    } catch (err) {
      if (!(err instanceof MediaRefused)) throw err;
      return c.json({ error: { code: 'MEDIA_REFUSED', message: err.message } }, err.status);
    }
  });

  app.get('/review/config.json', (c) =>
    c.body(config(new URL(CONSOLE_PATH, c.req.url).href), 200, {
      'content-type': CONTENT_TYPES['.json'] as string,
      'cache-control': 'no-store',
    }),
  );

  app.get('/review/*', (c) => {
    const path = c.req.path.slice(CONSOLE_PATH.length) || 'index.html';
    const file = files.get(path);
    if (!file) return c.json({ error: { code: 'NOT_FOUND', message: `no console file ${path}` } }, 404);
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': file.contentType,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...(file.contentType.startsWith('text/html') && {
        'content-security-policy': csp,
        'x-frame-options': 'DENY',
      }),
    });
  });

  return app;
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/** The API's fetch with the console in front of it: /review and below go to the console. */
export function withConsole<F extends Fetch>(apiFetch: F, consoleApp: Hono): F {
  return ((request: Request, ...rest: never[]) => {
    const { pathname } = new URL(request.url);
    return pathname === '/review' || pathname.startsWith(CONSOLE_PATH)
      ? consoleApp.fetch(request)
      : apiFetch(request, ...rest);
  }) as F;
}
