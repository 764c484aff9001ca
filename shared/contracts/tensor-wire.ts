/**
 * The invocation wire format between the pipeline and the inference server (locally and on
 * SageMaker), written once: the client validates responses and the server validates requests with
 * these schemas, and the codec (shared/inference/tensor-codec.ts) encodes to these types. Tensors
 * travel as base64 of their little-endian bytes: a 224×224×3 uint8 image is 150 KB of bytes (200 KB
 * encoded) instead of ~1 MB of JSON numbers, and decoding is a copy, not a parse.
 */
import { z } from 'zod';

export const DTYPES = ['float32', 'int64', 'int32', 'uint8'] as const;
export type DType = (typeof DTYPES)[number];

export const WireTensorSchema = z.object({
  dtype: z.enum(DTYPES),
  dims: z.array(z.number().int().nonnegative()),
  data: z.string(),
});
/** A tensor on the wire. */
export type WireTensor = z.infer<typeof WireTensorSchema>;

/** `POST /invocations` and `POST /endpoints/{name}/invocations` request body. */
export const InvocationRequestSchema = z.object({ inputs: z.record(z.string(), WireTensorSchema) });
export type InvocationRequest = z.infer<typeof InvocationRequestSchema>;

/** Their response body. */
export const InvocationResponseSchema = z.object({
  model: z.object({ name: z.string(), version: z.string() }),
  outputs: z.record(z.string(), WireTensorSchema),
});
export type InvocationResponse = z.infer<typeof InvocationResponseSchema>;

/** The JSON wire's content type (for people, curl and old clients). */
export const JSON_CONTENT_TYPE = 'application/json';

/**
 * The binary tensor wire (docs/CONTRACTS.md, "Binary tensor wire"): one body that holds a small
 * JSON header and the raw little-endian tensor bytes, each tensor starting on a
 * `TENSOR_WIRE.alignment` boundary so the reader makes typed-array views on the body instead of
 * copying it. Like Triton's and KServe's binary tensor extension the header is JSON and the data
 * follows it, but the header's length travels in the body (SageMaker's InvokeEndpoint forwards no
 * custom HTTP headers) and the bytes are aligned (as in safetensors) rather than packed.
 *
 * Layout, all integers little-endian:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `MTNS` (0x4d 0x54 0x4e 0x53) |
 * | 4 | 1 | version (1) |
 * | 5 | 3 | reserved, zero |
 * | 8 | 4 | header length H (uint32), at most `maxHeaderBytes` |
 * | 12 | 4 | reserved, zero |
 * | 16 | H | header: UTF-8 JSON, `TensorMessageHeader` |
 * | 16 + H | | zero padding up to the next multiple of `alignment`: the data start D |
 * | D + o_i | b_i | tensor i's bytes, in header order: o_0 = 0, o_i = align(o_{i-1} + b_{i-1}), zero padding between |
 *
 * `b_i` is the product of the tensor's dims times its dtype's size; the body ends exactly after the
 * last tensor's bytes (no trailing padding). Offsets follow from the order, so a header cannot
 * describe overlapping or out-of-order tensors.
 */
export const TENSOR_CONTENT_TYPE = 'application/vnd.moderation.tensors';

export const TENSOR_WIRE = {
  magic: 'MTNS',
  version: 1,
  /** Bytes before the header. */
  prefixBytes: 16,
  /** Every tensor's bytes start at a multiple of this from the body's start (a cache line). */
  alignment: 64,
  /** Larger headers are refused before they are parsed. */
  maxHeaderBytes: 64 * 1024,
  /** Most tensors in one message. */
  maxTensors: 64,
  /** Most dimensions of one tensor. */
  maxRank: 8,
} as const;

/** The content types an invocation may use, preferred first. */
export const INVOCATION_CONTENT_TYPES = [TENSOR_CONTENT_TYPE, JSON_CONTENT_TYPE] as const;
export type InvocationContentType = (typeof INVOCATION_CONTENT_TYPES)[number];

export const DTYPE_BYTES: Readonly<Record<DType, number>> = { float32: 4, int64: 8, int32: 4, uint8: 1 };

/**
 * The binary message's JSON header: the tensors in body order (unique non-empty names, a dtype of
 * `DTYPES`, at most `maxRank` non-negative integer dims), and in a response the model that served
 * it. No other keys. The codec checks it by hand: a schema library on every request and response
 * costs more than the rest of the decode (docs/PERFORMANCE.md, "Binary tensor wire").
 */
export interface TensorMessageHeader {
  model?: { name: string; version: string };
  tensors: { name: string; dtype: DType; dims: number[] }[];
}

/**
 * Largest InvokeEndpoint request body per SageMaker hosting mode (the Runtime's documented payload
 * limits: 6 MB real-time, 4 MB serverless), in decimal megabytes so a MiB reading of "MB" is never
 * exceeded. Asynchronous inference reads its input from S3 (up to 1 GB) and is not sent through
 * InvokeEndpoint. The client splits requests so none exceeds its endpoint's limit.
 */
export const ENDPOINT_PAYLOAD_LIMITS = {
  instance: 6_000_000,
  'inference-component': 6_000_000,
  serverless: 4_000_000,
} as const;
export type EndpointHostingMode = keyof typeof ENDPOINT_PAYLOAD_LIMITS;
