import type { Server } from 'node:http';

/** How long a server keeps an idle keep-alive connection: past SageMaker's 60 s invocation limit. */
const IDLE_CONNECTION_MS = 65_000;

/**
 * Keeps a server's idle keep-alive connections open for longer than its clients leave them idle, as
 * AWS's endpoints do: the inference server (SageMaker's runtime and the functions' SDK clients hold
 * its connections) and the local emulators. With Node's default (5 s, and a second of grace) a
 * server closes a pooled socket about 6 s after its last response, and a client that reuses it just
 * then gets ECONNRESET ("socket hang up"): against the emulators, a burst after such a pause saw
 * hundreds of uploads fail, none of them retried by the SDK (docs/PERFORMANCE.md, "Idle
 * connections"). `headersTimeout` stays above it.
 */
export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.headersTimeout = IDLE_CONNECTION_MS + 1_000;
}
