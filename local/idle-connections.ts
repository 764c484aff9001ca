import type { Server } from 'node:http';

/** How long an emulator keeps an idle keep-alive connection: the inference server's 65 s. */
const IDLE_CONNECTION_MS = 65_000;

/**
 * Keeps an emulator's idle keep-alive connections open for longer than its clients leave them idle,
 * as AWS's endpoints do. With Node's default (5 s, and a second of grace) the server closes a pooled
 * socket about 6 s after its last response, and a client that reuses it just then gets ECONNRESET
 * ("socket hang up"): a burst after such a pause saw hundreds of uploads fail, none of them retried
 * by the SDK (docs/PERFORMANCE.md, "Idle connections"). `headersTimeout` stays above it, as in the
 * inference server.
 */
export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.headersTimeout = IDLE_CONNECTION_MS + 1_000;
}
