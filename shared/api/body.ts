/** Request bodies: strict JSON (a duplicate key is refused, as in post manifests) checked by a schema. */
import JSON5 from 'json5';
import type { z } from 'zod';
import { JsonReadError, parseStrictJson } from '#shared/ingest/strict-json.ts';
import { ApiError } from './errors.ts';

const MAX_DEPTH = 16;

/** `media.0.data` → `media[0].data`: the field as a client would write it. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)),
    '',
  );
}

export interface BodyOptions {
  /**
   * Also take the relaxed syntax Google's API frontends accept (unquoted keys, single quotes), in
   * which Perspective's own documentation writes its curl example; duplicate keys are then not
   * caught (the last one counts). @default false
   */
  relaxed?: boolean;
}

const invalid = (why: string) => new ApiError(400, 'INVALID_REQUEST', `the request body ${why}`);

function readJson(text: string, options: BodyOptions): unknown {
  try {
    return parseStrictJson(text, { maxDepth: MAX_DEPTH });
  } catch (err) {
    if (!(err instanceof JsonReadError)) throw err;
    if (err.kind === 'duplicate-key') throw invalid(`has the key ${JSON.stringify(err.key)} more than once`);
    if (err.kind === 'depth') throw invalid(`nests deeper than ${MAX_DEPTH} levels`);
    if (!options.relaxed) throw invalid(`is not valid JSON: ${err.message}`);
    try {
      return JSON5.parse(text);
    } catch {
      throw invalid(`is not valid JSON: ${err.message}`);
    }
  }
}

export function parseJsonBody<S extends z.ZodType>(
  text: string,
  schema: S,
  options: BodyOptions = {},
): z.output<S> {
  const parsed = schema.safeParse(readJson(text, options));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = fieldPath(issue?.path ?? []);
  throw new ApiError(
    400,
    'INVALID_REQUEST',
    `${field || 'the request body'}: ${issue?.message ?? 'invalid'}`,
    field || undefined,
  );
}
