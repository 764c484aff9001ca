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
