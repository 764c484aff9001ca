/**
 * Smoke test of a running inference server: `/ping`, then one invocation of each model through the
 * real SageMaker Runtime client, with inputs of the shape and dtype its manifest declares, checking
 * the outputs the manifest promises (shape, finite values, probabilities in [0, 1]).
 *
 * The same code runs in `npm test` against the server on CPU over the real model directories
 * (test/unit/model-artifacts/server/server.test.ts) and, through scripts/smoke-inference-image.sh,
 * against the GPU image in Docker, one container per model as SageMaker runs it:
 *
 *   npx tsx scripts/smoke-inference.ts --url http://127.0.0.1:8080 --manifest model-artifacts/models/fusion/manifest.json
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createInferenceClient, type InferenceClient } from '#shared/inference/client.ts';
import { type ModelManifest, parseManifest } from '#shared/inference/manifest.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';

/** Rows per smoke request: more than one, so batching is exercised too. */
export const SMOKE_BATCH = 2;
/** Size given to a symbolic dimension other than the batch (e.g. `tokens`). */
const SYMBOLIC_SIZE = 8;

/** Deterministic inputs of the manifest's names, dtypes and shapes. */
export function smokeInputs(manifest: ModelManifest): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  for (const spec of manifest.inputs) {
    const dims = spec.shape.map((d, i) =>
      i === 0 ? SMOKE_BATCH : typeof d === 'number' ? d : SYMBOLIC_SIZE,
    );
    const size = dims.reduce((a, b) => a * b, 1);
    const at = (i: number) => (i * 7919) % 251;
    const data =
      spec.dtype === 'int64'
        ? BigInt64Array.from({ length: size }, (_, i) => BigInt(1 + (at(i) % 100)))
        : spec.dtype === 'int32'
          ? Int32Array.from({ length: size }, (_, i) => 1 + (at(i) % 100))
          : spec.dtype === 'uint8'
            ? Uint8Array.from({ length: size }, (_, i) => at(i))
            : Float32Array.from({ length: size }, (_, i) => at(i) / 251);
    inputs[spec.name] = { dtype: spec.dtype, dims, data };
  }
  return inputs;
}

export interface SmokeResult {
  model: string;
  version: string;
  /** Output name → dims. */
  outputs: Record<string, number[]>;
}

/** One invocation of `manifest`'s model; throws naming what is wrong with the answer. */
export async function smokeModel(client: InferenceClient, manifest: ModelManifest): Promise<SmokeResult> {
  const result = await client.invoke(manifest.name, smokeInputs(manifest));
  const problems: string[] = [];
  if (result.model.version !== manifest.version)
    problems.push(`served version ${result.model.version}, manifest says ${manifest.version}`);
  for (const spec of manifest.outputs) {
    const tensor = result.outputs[spec.name];
    if (!tensor) {
      problems.push(`output ${spec.name} missing`);
      continue;
    }
    const expected = spec.shape.map((d, i) => (i === 0 ? SMOKE_BATCH : d));
    const shapeOk =
      tensor.dims.length === expected.length &&
      expected.every((d, i) => typeof d !== 'number' || tensor.dims[i] === d);
    if (!shapeOk) problems.push(`output ${spec.name} has dims [${tensor.dims}], expected [${expected}]`);
    const values = Array.from(tensor.data as Float32Array);
    if (!values.every(Number.isFinite)) problems.push(`output ${spec.name} has non-finite values`);
    if (spec.name === 'probs' && !values.every((v) => v >= 0 && v <= 1))
      problems.push(`output probs has values outside [0, 1]`);
  }
  if (problems.length > 0) throw new Error(`${manifest.name}: ${problems.join('; ')}`);
  return {
    model: result.model.name,
    version: result.model.version,
    outputs: Object.fromEntries(Object.entries(result.outputs).map(([name, t]) => [name, t.dims])),
  };
}

/** `GET /ping` answers 200. */
export async function smokePing(url: string): Promise<void> {
  const res = await fetch(`${url}/ping`);
  if (res.status !== 200) throw new Error(`GET ${url}/ping answered ${res.status}`);
}

/** A client for a local server (or container): endpoint name = model name, no credentials needed. */
export function localInferenceClient(url: string): InferenceClient {
  const sagemaker = new SageMakerRuntimeClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'smoke', secretAccessKey: 'smoke' },
    maxAttempts: 1,
  });
  return createInferenceClient({ sagemaker, endpointName: (model) => model });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, manifest: { type: 'string', multiple: true } },
  });
  if (!values.url || !values.manifest?.length)
    throw new Error('usage: smoke-inference.ts --url <server url> --manifest <manifest.json> [--manifest …]');
  await smokePing(values.url);
  const client = localInferenceClient(values.url);
  for (const path of values.manifest) {
    const result = await smokeModel(client, parseManifest(JSON.parse(readFileSync(path, 'utf8')), path));
    console.log(`ok ${result.model}@${result.version} ${JSON.stringify(result.outputs)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(`smoke test failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
