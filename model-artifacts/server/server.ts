/**
 * The inference server: SageMaker's container contract (`GET /ping`, `POST /invocations`) and the
 * SageMaker Runtime path (`POST /endpoints/{name}/invocations`), so the real
 * `@aws-sdk/client-sagemaker-runtime` client talks to it locally with only an endpoint override.
 * Errors use the Runtime's REST-JSON error shape (`x-amzn-errortype` + `{"message"}`), which the
 * SDK turns into `ValidationError`, `ModelError` and `ServiceUnavailable` exceptions.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { z } from 'zod';
import {
  type InvocationContentType,
  InvocationRequestSchema,
  JSON_CONTENT_TYPE,
  TENSOR_CONTENT_TYPE,
} from '#shared/contracts/tensor-wire.ts';
import { keepIdleConnections } from '#shared/http/idle-connections.ts';
import { type ModelManifest, manifestContentTypes } from '#shared/inference/manifest.ts';
import {
  decodeTensor,
  decodeTensorMessage,
  encodeTensorMessage,
  type InvocationResponse,
  stringifyTensors,
  type Tensor,
  TensorFormatError,
  type TypedData,
} from '#shared/inference/tensor-codec.ts';
import type { InferenceSession, SessionConfig } from '#shared/onnx/sessions.ts';
import { type BatcherStats, type BatchingOptions, DynamicBatcher, type RunBatch } from './batcher.ts';
import { InferenceServerError, ModelExecutionError, RequestValidationError } from './errors.ts';
import { type LoadedModel, loadModels, type ModelRegistry } from './registry.ts';

/** 20 MiB: a batch of 32 224×224×3 uint8 images is 6.4 MB as base64. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

export type ServerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * The embedded default (local mode) logs warnings and errors to stderr only: the CLI's stdout
 * carries nothing but verdicts. main.ts passes a Powertools Logger (stdout → CloudWatch).
 */
const stderrLogger: ServerLogger = {
  debug() {},
  info() {},
  warn(message: string, ...extra: unknown[]) {
    process.stderr.write(`inference-server WARN ${message} ${extra.map(describe).join(' ')}\n`);
  },
  error(message: string, ...extra: unknown[]) {
    process.stderr.write(`inference-server ERROR ${message} ${extra.map(describe).join(' ')}\n`);
  },
};

function describe(value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? (v.stack ?? v.message) : v));
  } catch {
    return String(value);
  }
}

export interface InferenceServerOptions {
  /** Root of the model directories (see `loadModels`). Required unless `registry` is given. */
  modelsDir?: string;
  /** Already loaded models; the server releases them on close. */
  registry?: ModelRegistry;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  /** SageMaker needs 0.0.0.0; local mode and tests keep to loopback. @default '127.0.0.1' */
  host?: string;
  /** Batching for every model, with per-model overrides. @default DEFAULT_BATCHING */
  batching?: Partial<BatchingOptions> & { perModel?: Record<string, Partial<BatchingOptions>> };
  /** The model `POST /invocations` serves without a target-model header (env MODEL_NAME). */
  defaultModel?: string;
  /** Larger request bodies are refused with 413. @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
  /** Session settings when the server loads `modelsDir` itself. @default from the environment */
  session?: Partial<SessionConfig>;
  /** @default warnings and errors to stderr (stdout stays clean for the CLI) */
  logger?: ServerLogger;
}

export interface InferenceServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  registry: ModelRegistry;
  /** Batching counters per model. */
  stats(): Record<string, BatcherStats>;
  /** Stops accepting connections, finishes queued and in-flight requests, releases the sessions. */
  close(): Promise<void>;
}

interface Served {
  model: LoadedModel;
  batcher: DynamicBatcher;
}

const INVOKE_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

/** Checks decoded inputs against the manifest: names, dtypes, ranks, fixed and shared dims. */
export function validateInputs(manifest: ModelManifest, inputs: Record<string, Tensor>): void {
  const expected = manifest.inputs.map((i) => i.name);
  const unexpected = Object.keys(inputs).filter((n) => !expected.includes(n));
  const missing = expected.filter((n) => !Object.hasOwn(inputs, n));
  if (unexpected.length > 0 || missing.length > 0) {
    throw new RequestValidationError(
      `model ${manifest.name} takes inputs [${expected}]` +
        (missing.length > 0 ? `; missing [${missing}]` : '') +
        (unexpected.length > 0 ? `; unexpected [${unexpected}]` : ''),
    );
  }
  // A symbolic dimension ('batch', 'tokens') must have one size across all inputs of a request.
  const symbols = new Map<string, { size: number; input: string }>();
  for (const spec of manifest.inputs) {
    const t = inputs[spec.name] as Tensor;
    const where = `input ${spec.name} of model ${manifest.name}`;
    if (t.dtype !== spec.dtype)
      throw new RequestValidationError(`${where} must be ${spec.dtype}, got ${t.dtype}`);
    if (t.dims.length !== spec.shape.length) {
      throw new RequestValidationError(`${where} must have shape [${spec.shape}], got dims [${t.dims}]`);
    }
    spec.shape.forEach((dim, i) => {
      const size = t.dims[i] as number;
      if (typeof dim === 'number') {
        if (size !== dim) {
          throw new RequestValidationError(
            `${where} must have shape [${spec.shape}], got dims [${t.dims}] (dimension ${i} must be ${dim})`,
          );
        }
        return;
      }
      if (i === 0 && size < 1) throw new RequestValidationError(`${where} has an empty batch`);
      const seen = symbols.get(dim);
      if (seen && seen.size !== size) {
        throw new RequestValidationError(
          `dimension '${dim}' is ${seen.size} in input ${seen.input} but ${size} in input ${spec.name} of model ${manifest.name}`,
        );
      }
      if (!seen) symbols.set(dim, { size, input: spec.name });
    });
  }
}

const ORT_TO_DTYPE: Partial<Record<string, Tensor['dtype']>> = {
  float32: 'float32',
  int64: 'int64',
  int32: 'int32',
  uint8: 'uint8',
};

/** A batcher's run function over an ONNX Runtime session. */
function sessionRunner(session: InferenceSession, name: string): RunBatch {
  return async (inputs) => {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, t]) => [k, new OrtTensor(t.dtype, t.data, t.dims)]),
    );
    const results = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(results).map(([k, v]) => {
        const dtype = ORT_TO_DTYPE[v.type];
        if (!dtype) throw new ModelExecutionError(`model ${name} output ${k} has unsupported type ${v.type}`);
        return [k, { dtype, dims: [...v.dims], data: v.data as TypedData } satisfies Tensor];
      }),
    );
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendText(res, status, JSON.stringify(body), headers);
}

/** Sends text that is already JSON. */
function sendText(
  res: ServerResponse,
  status: number,
  payload: string,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * Reads the body up to `limit` bytes; beyond it, discards the rest and throws 413. Listeners rather
 * than an async iterator, and a one-chunk body returned as it is: both showed in the per-request
 * profile (docs/PERFORMANCE.md, "Binary tensor wire").
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let size = 0;
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    // Reading to the end (rather than closing the socket) lets the client see the 413 response.
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooLarge) {
        reject(
          new RequestValidationError(
            `request body of ${Math.max(size, declared || 0)} bytes exceeds ${limit} bytes`,
            { status: 413 },
          ),
        );
      } else if (chunks.length === 1) resolve(chunks[0] as Buffer);
      else resolve(Buffer.concat(chunks, size));
    });
  });
}

const mimeOf = (contentType: string | undefined) => contentType?.split(';')[0]?.trim().toLowerCase();

/** The request's wire: its Content-Type (JSON when absent), which the model's manifest must list. */
export function requestContentType(
  manifest: ModelManifest,
  contentType: string | undefined,
): InvocationContentType {
  const accepted = manifestContentTypes(manifest);
  const mime = mimeOf(contentType) || JSON_CONTENT_TYPE;
  const known = accepted.find((t) => t === mime);
  if (!known) {
    throw new RequestValidationError(
      `model ${manifest.name} takes content types ${accepted.join(', ')}; got ${contentType}`,
      { status: 415 },
    );
  }
  return known;
}

/**
 * The response's wire from the request's Accept header: the supported type with the highest q
 * (the any-type and `application/` wildcards match both), ties and a missing header going to the
 * request's own type. An Accept that admits neither gets JSON, as before the binary wire existed.
 */
export function responseContentType(
  accept: string | undefined,
  requestType: InvocationContentType,
): InvocationContentType {
  if (!accept?.trim()) return requestType;
  // Per type, the q of the most specific range that matches it (RFC 9110: exact, then type/*, then */*).
  const quality = new Map<InvocationContentType, { specificity: number; q: number }>();
  for (const entry of accept.split(',')) {
    const [range = '', ...params] = entry.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    for (const type of [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE] as const) {
      const specificity = range === type ? 3 : range === 'application/*' ? 2 : range === '*/*' ? 1 : 0;
      const seen = quality.get(type);
      if (specificity > 0 && (!seen || specificity > seen.specificity)) quality.set(type, { specificity, q });
    }
  }
  const other = requestType === JSON_CONTENT_TYPE ? TENSOR_CONTENT_TYPE : JSON_CONTENT_TYPE;
  const mine = quality.get(requestType)?.q ?? 0;
  const theirs = quality.get(other)?.q ?? 0;
  if (mine <= 0 && theirs <= 0) return JSON_CONTENT_TYPE;
  return theirs > mine ? other : requestType;
}

function parseBinaryRequest(body: Buffer): Record<string, Tensor> {
  try {
    const message = decodeTensorMessage(body);
    if (message.model)
      throw new RequestValidationError('a request must not name a model in its tensor header');
    return message.tensors;
  } catch (err) {
    if (err instanceof TensorFormatError) {
      throw new RequestValidationError(`request body (${TENSOR_CONTENT_TYPE}): ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function parseRequest(body: Buffer, wire: InvocationContentType): Record<string, Tensor> {
  if (wire === TENSOR_CONTENT_TYPE) return parseBinaryRequest(body);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new RequestValidationError(`request body is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = InvocationRequestSchema.safeParse(json);
  if (!parsed.success) {
    throw new RequestValidationError(
      `request body must be {"inputs": {"<name>": {"dtype", "dims", "data"}}}: ${z.prettifyError(parsed.error)}`,
    );
  }
  // fromEntries defines own properties, so an input named "__proto__" is just an unknown input.
  return Object.fromEntries(
    Object.entries(parsed.data.inputs).map(([name, wire]) => {
      try {
        return [name, decodeTensor(wire)];
      } catch (err) {
        if (err instanceof TensorFormatError) {
          throw new RequestValidationError(`input ${name}: ${err.message}`, { cause: err });
        }
        throw err;
      }
    }),
  );
}

/** Starts the server once every model has loaded; rejects if any model cannot be served. */
export async function startInferenceServer(options: InferenceServerOptions): Promise<InferenceServer> {
  const logger = options.logger ?? stderrLogger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let registry = options.registry;
  if (!registry) {
    if (!options.modelsDir)
      throw new InferenceServerError('startInferenceServer needs modelsDir or registry');
    registry = await loadModels(options.modelsDir, options.session);
  }
  const models = registry;
  const known = () => models.names().join(', ');
  if (options.defaultModel !== undefined && !models.get(options.defaultModel)) {
    await models.release();
    throw new InferenceServerError(`default model ${options.defaultModel} is not loaded; loaded: ${known()}`);
  }

  const { perModel = {}, ...batching } = options.batching ?? {};
  const served = new Map<string, Served>();
  for (const model of models.list()) {
    const { name } = model.manifest;
    const batcher = new DynamicBatcher(model.manifest, sessionRunner(model.session, name), {
      ...batching,
      ...perModel[name],
    });
    served.set(name, { model, batcher });
    logger.info('model loaded', {
      model: name,
      version: model.manifest.version,
      dir: model.dir,
      batching: batcher.options,
    });
  }

  let closing = false;

  const resolveTarget = (req: IncomingMessage, path: string): Served => {
    const endpoint = INVOKE_PATH.exec(path)?.[1];
    if (endpoint !== undefined) {
      const name = decodeURIComponent(endpoint);
      const target = served.get(name);
      // What SageMaker answers for an endpoint that does not exist: a ValidationError.
      if (!target)
        throw new RequestValidationError(`endpoint ${name} not found; this server serves: ${known()}`);
      return target;
    }
    const header = req.headers['x-amzn-sagemaker-target-model'];
    // Multi-model endpoints name a model artifact (`text-toxicity.tar.gz`); accept that form too.
    const name =
      (Array.isArray(header) ? header[0] : header)?.replace(/\.tar\.gz$/, '') ?? options.defaultModel;
    if (name === undefined) {
      const only = served.size === 1 ? [...served.values()][0] : undefined;
      if (only) return only;
      throw new RequestValidationError(
        `several models are loaded (${known()}): set MODEL_NAME or the X-Amzn-SageMaker-Target-Model header`,
      );
    }
    const target = served.get(name);
    if (!target) throw new RequestValidationError(`unknown model ${name}; known models: ${known()}`);
    return target;
  };

  const invoke = async (req: IncomingMessage, res: ServerResponse, path: string, requestId: string) => {
    const { model, batcher } = resolveTarget(req, path);
    const wire = requestContentType(model.manifest, req.headers['content-type']);
    const body = await readBody(req, maxBodyBytes);
    const inputs = parseRequest(body, wire);
    validateInputs(model.manifest, inputs);
    const outputs = await batcher.submit(inputs);
    const served: InvocationResponse['model'] = {
      name: model.manifest.name,
      version: model.manifest.version,
    };
    if (responseContentType(req.headers.accept, wire) === TENSOR_CONTENT_TYPE) {
      const payload = encodeTensorMessage(outputs, served);
      res.writeHead(200, {
        'content-type': TENSOR_CONTENT_TYPE,
        'content-length': payload.byteLength,
        'x-amzn-requestid': requestId,
      });
      res.end(payload);
      return;
    }
    // An InvocationResponse, with the tensors' base64 spliced in rather than re-scanned (stringifyTensors).
    const payload = `{"model":${JSON.stringify(served)},"outputs":${stringifyTensors(outputs)}}`;
    sendText(res, 200, payload, { 'x-amzn-requestid': requestId });
  };

  const sendError = (res: ServerResponse, err: unknown, requestId: string) => {
    const headers = { 'x-amzn-requestid': requestId };
    if (err instanceof RequestValidationError) {
      sendJson(
        res,
        err.status,
        { message: err.message },
        { ...headers, 'x-amzn-errortype': 'ValidationError' },
      );
    } else if (err instanceof ModelExecutionError) {
      logger.error('model failed', { requestId, error: err });
      // The fields SageMaker puts on a ModelError when a container answers 5xx.
      sendJson(
        res,
        500,
        { message: err.message, OriginalStatusCode: 500, OriginalMessage: err.message },
        { ...headers, 'x-amzn-errortype': 'ModelError' },
      );
    } else {
      logger.error('request failed', { requestId, error: err as Error });
      sendJson(
        res,
        500,
        { message: 'internal error' },
        { ...headers, 'x-amzn-errortype': 'InternalFailure' },
      );
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      if (req.method === 'GET' && path === '/ping') {
        // 503 while shutting down, so the load balancer stops routing here first.
        if (closing || served.size === 0) sendJson(res, 503, { status: 'unavailable' });
        else sendJson(res, 200, { status: 'healthy' });
      } else if (req.method === 'GET' && path === '/models') {
        sendJson(res, 200, {
          models: [...served.values()].map(({ model: { manifest } }) => ({
            name: manifest.name,
            version: manifest.version,
            modality: manifest.modality,
            contentTypes: manifestContentTypes(manifest),
          })),
        });
      } else if (req.method === 'GET' && path === '/stats') {
        sendJson(res, 200, { models: stats() });
      } else if (path === '/invocations' || INVOKE_PATH.test(path)) {
        if (req.method !== 'POST') {
          throw new RequestValidationError(`${path} takes POST, got ${req.method}`, { status: 405 });
        }
        if (closing) {
          req.resume();
          sendJson(
            res,
            503,
            { message: 'server is shutting down' },
            { 'x-amzn-errortype': 'ServiceUnavailable' },
          );
          return;
        }
        await invoke(req, res, path, requestId);
      } else {
        req.resume();
        sendJson(res, 404, { message: `no route for ${req.method} ${path}` });
      }
    } catch (err) {
      // A request refused before its body was read still has that body on the socket.
      if (!req.readableEnded) req.resume();
      if (res.headersSent) res.destroy(err as Error);
      else sendError(res, err, requestId);
    }
  };

  const stats = () => Object.fromEntries([...served].map(([name, s]) => [name, s.batcher.stats()]));

  const server = createServer((req, res) => {
    // While draining, every answer ends its connection, so close() does not wait on idle keep-alives.
    if (closing) res.setHeader('connection', 'close');
    void handle(req, res);
  });
  // SageMaker waits at most 60 s for an invocation; keep idle connections longer than clients do.
  server.requestTimeout = 65_000;
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info('inference server listening', { address: address.address, port: address.port });

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([...served.values()].map((s) => s.batcher.drain()));
      // Keep-alive connections that answered while draining are idle now (their responses said close).
      server.closeIdleConnections();
      await stopped;
      await models.release();
    })();
    return closed;
  };

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    registry: models,
    stats,
    close,
  };
}
