/**
 * The one place in the project that creates onnxruntime-node sessions, so execution providers,
 * threading and optimisation settings are decided once (locally: CPU; on SageMaker GPU: CUDA).
 *
 * Environment (read by `readSessionEnv` in shared/contracts/env.ts):
 * - `ORT_EXECUTION_PROVIDERS`   comma list in priority order, default `cpu`. The GPU image sets
 *   `cuda,cpu`: ONNX Runtime places every node the CUDA EP supports on the GPU and the rest on
 *   the CPU (node-level fallback). Names: cpu, cuda, tensorrt, webgpu.
 * - `ORT_CPU_FALLBACK=1`         if a session cannot be created with the listed providers (e.g. the
 *   CUDA libraries are missing), retry with CPU only instead of failing. Off by default: a GPU
 *   endpoint silently serving from the CPU is an outage that looks like a latency problem, and
 *   failing /ping makes SageMaker roll the deployment back instead.
 * - `ORT_CUDA_DEVICE_ID`         default 0.
 * - `ORT_INTRA_OP_NUM_THREADS`   threads inside one operator; default 0 = ONNX Runtime's choice
 *   (one per physical core as it detects them, pinned; on some virtual machines that is one thread:
 *   docs/PERFORMANCE.md, "A burst's batch cycle"). Set it when several models or processes share an
 *   instance, or to use every core of a CPU-only image endpoint.
 * - `ORT_INTER_OP_NUM_THREADS`   default 0 = ONNX Runtime's choice (only used in parallel mode).
 * - `ORT_ALLOW_SPINNING=1`       let idle intra-op threads busy-wait for the next operator (ONNX
 *   Runtime's own default). Off here: between model runs the server parses HTTP, and spinning threads
 *   take the cores it needs. Measured on a shared 2-core machine (BENCHMARKS.md): MobileNetV2 at
 *   batch 1 used 22 ms of CPU per run with spinning and 11.6 ms without, and ran twice as fast.
 */
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';
import type { SessionEnv } from '#shared/contracts/env.ts';

export type { InferenceSession } from 'onnxruntime-node';

/** Execution providers in priority order, CPU fallback, CUDA device, thread counts, spinning. */
export type SessionConfig = SessionEnv;

export const DEFAULT_SESSION_CONFIG: SessionConfig = {
  executionProviders: ['cpu'],
  cpuFallback: false,
  cudaDeviceId: 0,
  intraOpNumThreads: 0,
  interOpNumThreads: 0,
  allowSpinning: false,
};

/** A bad session setting, or a session that cannot be created (bad model, missing provider). */
export class SessionError extends Error {
  override name = 'SessionError';
}

function providerOptions(config: SessionConfig): InferenceSession.ExecutionProviderConfig[] {
  const known = listSupportedBackends().map((b) => b.name);
  return config.executionProviders.map((name) => {
    if (!known.includes(name)) {
      throw new SessionError(
        `unknown execution provider ${JSON.stringify(name)}; onnxruntime-node knows ${known.join(', ')}`,
      );
    }
    return name === 'cuda' ? { name: 'cuda', deviceId: config.cudaDeviceId } : name;
  });
}

function sessionOptions(config: SessionConfig): InferenceSession.SessionOptions {
  return {
    executionProviders: providerOptions(config),
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // 0 leaves ONNX Runtime's default (one thread per physical core).
    ...(config.intraOpNumThreads > 0 ? { intraOpNumThreads: config.intraOpNumThreads } : {}),
    ...(config.interOpNumThreads > 0 ? { interOpNumThreads: config.interOpNumThreads } : {}),
    // Warnings and errors only: ORT's info level logs every node placement.
    logSeverityLevel: 2,
    // Session config entries (onnxruntime_session_options_config_keys.h), flattened by the binding.
    extra: {
      session: {
        intra_op: { allow_spinning: config.allowSpinning ? '1' : '0' },
        inter_op: { allow_spinning: config.allowSpinning ? '1' : '0' },
      },
    },
  };
}

/**
 * Creates an inference session from a model file path or model bytes.
 * Throws with the providers named when they cannot serve the model (see `cpuFallback`).
 */
export async function createSession(
  model: string | Uint8Array,
  config: Partial<SessionConfig> = {},
): Promise<InferenceSession> {
  const full: SessionConfig = { ...DEFAULT_SESSION_CONFIG, ...config };
  const create = (c: SessionConfig) =>
    typeof model === 'string'
      ? InferenceSession.create(model, sessionOptions(c))
      : InferenceSession.create(model, sessionOptions(c));
  try {
    return await create(full);
  } catch (err) {
    const onlyCpu = full.executionProviders.every((p) => p === 'cpu');
    if (full.cpuFallback && !onlyCpu) {
      process.emitWarning(
        `execution providers [${full.executionProviders}] failed (${(err as Error).message}); using cpu`,
        { code: 'ORT_CPU_FALLBACK' },
      );
      return create({ ...full, executionProviders: ['cpu'] });
    }
    throw new SessionError(
      `cannot create an ONNX Runtime session with execution providers [${full.executionProviders}]: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
