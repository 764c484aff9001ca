/**
 * Loads model directories (docs/CONTRACTS.md, "Model directory") into sessions, refusing any model
 * whose bytes or signature differ from its manifest: a wrong model that loads is worse than none.
 */
import { createHash } from 'node:crypto';
import { type Dirent, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  type InputSpec,
  type ModelManifest,
  type OutputSpec,
  readManifest,
} from '#shared/inference/manifest.ts';
import { createSession, type InferenceSession, type SessionConfig } from '#shared/onnx/sessions.ts';
import { ChecksumMismatchError, ModelLoadError } from './errors.ts';

export interface LoadedModel {
  manifest: ModelManifest;
  /** Absolute path of the model directory. */
  dir: string;
  session: InferenceSession;
}

/** Where SageMaker extracts `ModelDataUrl`. */
export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

/** The models root: `MODEL_DIR`, else `SM_MODEL_DIR`, else /opt/ml/model when present, else the repo's. */
export function modelsRootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.MODEL_DIR || env.SM_MODEL_DIR;
  if (dir) return resolve(dir);
  if (existsSync(SAGEMAKER_MODEL_DIR)) return SAGEMAKER_MODEL_DIR;
  return resolve('model-artifacts/models');
}

/** The loaded models by name; unknown names are rejected with the list of known ones. */
export class ModelRegistry {
  readonly #models = new Map<string, LoadedModel>();

  constructor(models: readonly LoadedModel[]) {
    for (const model of models) {
      const { name } = model.manifest;
      const other = this.#models.get(name);
      if (other) throw new ModelLoadError(`model ${name} is defined twice: in ${other.dir} and ${model.dir}`);
      this.#models.set(name, model);
    }
  }

  get size(): number {
    return this.#models.size;
  }

  names(): string[] {
    return [...this.#models.keys()];
  }

  list(): LoadedModel[] {
    return [...this.#models.values()];
  }

  get(name: string): LoadedModel | undefined {
    return this.#models.get(name);
  }

  /** Releases every session; the registry must not be used afterwards. */
  async release(): Promise<void> {
    await Promise.all(this.list().map((m) => m.session.release()));
    this.#models.clear();
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sameNames(expected: readonly string[], actual: readonly string[]): boolean {
  return expected.length === actual.length && expected.every((n) => actual.includes(n));
}

/** Compares one manifest tensor spec with the session's metadata for it. */
function checkSpec(
  model: string,
  kind: 'input' | 'output',
  spec: InputSpec | OutputSpec,
  meta: InferenceSession.ValueMetadata | undefined,
): void {
  const where = `model ${model} ${kind} ${spec.name}`;
  if (!meta?.isTensor) throw new ModelLoadError(`${where}: the ONNX graph's value is not a tensor`);
  if (meta.type !== spec.dtype) {
    throw new ModelLoadError(`${where}: manifest says ${spec.dtype}, the ONNX graph says ${meta.type}`);
  }
  // An empty shape means the graph does not declare one; nothing more to compare.
  if (meta.shape.length === 0) return;
  if (meta.shape.length !== spec.shape.length) {
    throw new ModelLoadError(
      `${where}: manifest shape [${spec.shape}] has rank ${spec.shape.length}, the ONNX graph's [${meta.shape}] has rank ${meta.shape.length}`,
    );
  }
  if (typeof meta.shape[0] === 'number') {
    throw new ModelLoadError(`${where}: the ONNX graph fixes the batch dimension to ${meta.shape[0]}`);
  }
  meta.shape.forEach((dim, i) => {
    const declared = spec.shape[i];
    if (typeof dim === 'number' && typeof declared === 'number' && dim !== declared) {
      throw new ModelLoadError(
        `${where}: dimension ${i} is ${declared} in the manifest and ${dim} in the ONNX graph`,
      );
    }
  });
}

function checkSignature(manifest: ModelManifest, session: InferenceSession): void {
  const { name } = manifest;
  const inputs = manifest.inputs.map((i) => i.name);
  const outputs = manifest.outputs.map((o) => o.name);
  if (!sameNames(inputs, session.inputNames)) {
    throw new ModelLoadError(
      `model ${name}: manifest inputs [${inputs}] differ from the ONNX graph's [${session.inputNames}]`,
    );
  }
  if (!sameNames(outputs, session.outputNames)) {
    throw new ModelLoadError(
      `model ${name}: manifest outputs [${outputs}] differ from the ONNX graph's [${session.outputNames}]`,
    );
  }
  const meta = (list: readonly InferenceSession.ValueMetadata[], n: string) => list.find((m) => m.name === n);
  for (const spec of manifest.inputs) checkSpec(name, 'input', spec, meta(session.inputMetadata, spec.name));
  for (const spec of manifest.outputs)
    checkSpec(name, 'output', spec, meta(session.outputMetadata, spec.name));
}

/** Loads one model directory: manifest, checksum, session, signature. */
export async function loadModel(dir: string, session: Partial<SessionConfig> = {}): Promise<LoadedModel> {
  const absDir = resolve(dir);
  const manifest = await readManifest(join(absDir, 'manifest.json'));
  const file = join(absDir, manifest.file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ModelLoadError(`model ${manifest.name}: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The session is created from the very bytes that were hashed, so nothing can swap the file between.
  const actual = sha256(bytes);
  if (actual !== manifest.sha256) {
    throw new ChecksumMismatchError(
      `model ${manifest.name}: sha256 of ${file} is ${actual} but the manifest says ${manifest.sha256}; refusing to load it`,
    );
  }
  const created = await createSession(bytes, session);
  try {
    checkSignature(manifest, created);
  } catch (err) {
    await created.release();
    throw err;
  }
  return { manifest, dir: absDir, session: created };
}

/**
 * Loads every model under `root`: either `root` itself is a model directory (one model per
 * SageMaker endpoint, extracted to /opt/ml/model) or each subdirectory with a manifest.json is.
 */
export async function loadModels(root: string, session: Partial<SessionConfig> = {}): Promise<ModelRegistry> {
  const absRoot = resolve(root);
  let dirs: string[];
  if (existsSync(join(absRoot, 'manifest.json'))) {
    dirs = [absRoot];
  } else {
    let entries: Dirent[];
    try {
      entries = await readdir(absRoot, { withFileTypes: true });
    } catch (err) {
      throw new ModelLoadError(`cannot read models directory ${absRoot}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    dirs = entries
      .filter((e) => e.isDirectory() && existsSync(join(absRoot, e.name, 'manifest.json')))
      .map((e) => join(absRoot, e.name))
      .sort();
  }
  if (dirs.length === 0) throw new ModelLoadError(`no model directories (with manifest.json) in ${absRoot}`);
  const loaded: LoadedModel[] = [];
  try {
    for (const dir of dirs) {
      const model = await loadModel(dir, session);
      loaded.push(model);
      // The directory name is the endpoint name (CONTRACTS.md); a mismatch would route to the wrong model.
      if (dir !== absRoot && basename(dir) !== model.manifest.name) {
        throw new ModelLoadError(`model directory ${dir} holds a manifest named ${model.manifest.name}`);
      }
    }
    return new ModelRegistry(loaded);
  } catch (err) {
    await Promise.all(loaded.map((m) => m.session.release()));
    throw err;
  }
}
