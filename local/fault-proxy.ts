/**
 * A tiny HTTP proxy for fault injection in the local stack: it sits between the pipeline's SDK
 * clients and an emulator (DynamoDB, the inference server) and, when told to, delays requests,
 * answers them itself (e.g. DynamoDB's ProvisionedThroughputExceededException) or drops the
 * connection. Loopback only; nothing of it runs on AWS.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'none' }
  /** Forward after this many milliseconds (a slow dependency). */
  | { kind: 'delay'; ms: number }
  /** Answer without forwarding. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body: string }
  /** Drop the connection without an answer (a crash mid-request). */
  | { kind: 'reset' };

export interface FaultProxy {
  url: string;
  /** Applies `fault` to every request from now on; with `forMs`, only for that long. */
  set(fault: Fault, options?: { forMs?: number }): void;
  /** Requests seen, how many got a fault, and how many found the dependency down. */
  stats(): { requests: number; faulted: number; upstreamErrors: number };
  close(): Promise<void>;
}

/** DynamoDB's throttling answer, as the JSON 1.0 protocol sends it (the SDK retries it, then fails). */
export const DYNAMODB_THROTTLED: Fault = {
  kind: 'respond',
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (fault injection)',
  }),
};

/** Starts a proxy on 127.0.0.1 (ephemeral port) in front of `target` (e.g. http://127.0.0.1:8000). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let fault: Fault = { kind: 'none' };
  let revert: NodeJS.Timeout | undefined;
  let requests = 0;
  let faulted = 0;
  let upstreamErrors = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const out = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    // The dependency is down: the client sees a dropped connection, as it would without the proxy.
    out.on('error', () => {
      upstreamErrors++;
      res.socket?.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  };

  const server = createServer((req, res) => {
    requests++;
    const now = fault;
    if (now.kind === 'none') return forward(req, res);
    faulted++;
    if (now.kind === 'delay') {
      const timer = setTimeout(() => forward(req, res), now.ms);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (now.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(now.status, { 'x-amzn-requestid': crypto.randomUUID(), ...now.headers });
      res.end(now.body);
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  return {
    url: `http://127.0.0.1:${port}`,
    set(next, options = {}) {
      clearTimeout(revert);
      fault = next;
      if (options.forMs !== undefined) {
        revert = setTimeout(() => {
          fault = { kind: 'none' };
        }, options.forMs);
      }
    },
    stats: () => ({ requests, faulted, upstreamErrors }),
    async close() {
      clearTimeout(revert);
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
