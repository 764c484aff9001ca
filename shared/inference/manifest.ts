/**
 * The model manifest (docs/CONTRACTS.md, "Model directory"): what the inference server validates
 * at load time and what the pipeline reads to know a model's labels, shapes and preprocessing.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import {
  DTYPES,
  INVOCATION_CONTENT_TYPES,
  type InvocationContentType,
} from '#shared/contracts/tensor-wire.ts';

/** The symbolic name of the first dimension of every input and output. */
export const BATCH_DIM = 'batch';

const DimSchema = z.union([z.number().int().nonnegative(), z.string().min(1)]);

const ShapeSchema = z
  .array(DimSchema)
  .min(1)
  .refine((shape) => shape[0] === BATCH_DIM, {
    message: `the first dimension must be '${BATCH_DIM}'`,
  })
  .refine((shape) => shape.indexOf(BATCH_DIM, 1) === -1, {
    message: `only the first dimension may be '${BATCH_DIM}'`,
  });

export const InputSpecSchema = z
  .object({
    name: z.string().min(1),
    dtype: z.enum(DTYPES),
    shape: ShapeSchema,
    /** Fills variable (symbolic, non-batch) dimensions when requests are batched together. @default 0 */
    padValue: z.number().optional(),
  })
  .refine((s) => s.padValue === undefined || s.dtype === 'float32' || Number.isInteger(s.padValue), {
    message: 'padValue of an integer input must be an integer',
  });

export const OutputSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.literal('float32'),
  shape: ShapeSchema,
});

const uniqueNames = (specs: { name: string }[]) => new Set(specs.map((s) => s.name)).size === specs.length;

export const ModelManifestSchema = z.object({
  /** Also the endpoint name suffix and the local endpoint name, so it must be URL- and ARN-safe. */
  name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and dashes'),
  version: z.string().min(1),
  modality: z.enum(['text', 'image', 'fusion']),
  file: z
    .string()
    .min(1)
    .refine((f) => !f.startsWith('/') && !f.split(/[\\/]/).includes('..'), {
      message: 'must be a path inside the model directory',
    }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  inputs: z.array(InputSpecSchema).min(1).refine(uniqueNames, { message: 'input names must be unique' }),
  outputs: z.array(OutputSpecSchema).min(1).refine(uniqueNames, { message: 'output names must be unique' }),
  labels: z.array(z.string()),
  preprocess: z.record(z.string(), z.unknown()).optional(),
  /**
   * Request content types the model's server accepts, preferred first; the client sends the first
   * it speaks, the server refuses others with 415. @default INVOCATION_CONTENT_TYPES (binary, then JSON)
   */
  contentTypes: z
    .array(z.enum(INVOCATION_CONTENT_TYPES))
    .min(1)
    .refine((ts) => new Set(ts).size === ts.length, { message: 'content types must be unique' })
    .optional(),
  source: z.string(),
  license: z.string(),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type InputSpec = z.infer<typeof InputSpecSchema>;
export type OutputSpec = z.infer<typeof OutputSpecSchema>;
export type Dim = z.infer<typeof DimSchema>;

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Validates a parsed manifest; `source` (usually the file path) is named in the error. */
export function parseManifest(json: unknown, source: string): ModelManifest {
  const result = ModelManifestSchema.safeParse(json);
  if (!result.success) {
    throw new ManifestError(`invalid model manifest ${source}:\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Reads and validates a `manifest.json`. */
export async function readManifest(path: string): Promise<ModelManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ManifestError(`cannot read model manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseManifest(json, path);
}

/** Whether a dimension is variable per request (symbolic and not the batch). */
export function isVariableDim(dim: Dim, index: number): dim is string {
  return index > 0 && typeof dim === 'string';
}

/** The request content types a model's server accepts, preferred first (the manifest's, or the default). */
export function manifestContentTypes(
  manifest: Pick<ModelManifest, 'contentTypes'>,
): readonly InvocationContentType[] {
  return manifest.contentTypes ?? INVOCATION_CONTENT_TYPES;
}
