/**
 * Which items of which tables the local DynamoDB has just written, learnt from dynalite's own HTTP
 * server: the stack's `waitForVerdicts` reads a key when it is written instead of reading every
 * missing key on a timer. A blind poll of a large upload (10,000 files) read up to 10,000 keys
 * per round, which cost the emulator more than the writes it waited for (docs/PERFORMANCE.md).
 * Local harness only: the pipeline's writes are untouched, this only listens.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The write operations whose items carry their key in the request (UpdateItem/DeleteItem: `Key`). */
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface TableWrites {
  /** Calls `listener(table, pk)` after each successful write of an item (its string partition key). */
  onWrite(listener: (table: string, pk: string) => void): () => void;
}

type AttributeMap = Record<string, { S?: string } | undefined>;
type WriteRequest = {
  TableName?: string;
  Item?: AttributeMap;
  Key?: AttributeMap;
  RequestItems?: Record<
    string,
    { PutRequest?: { Item?: AttributeMap }; DeleteRequest?: { Key?: AttributeMap } }[]
  >;
  TransactItems?: Record<
    string,
    { TableName?: string; Item?: AttributeMap; Key?: AttributeMap } | undefined
  >[];
};

/** The (table, partition key) pairs a write request names; unparseable requests name none. */
export function writtenKeys(body: string, partitionKey: string): [string, string][] {
  let request: WriteRequest;
  try {
    request = JSON.parse(body) as WriteRequest;
  } catch {
    return [];
  }
  const keys: [string, string][] = [];
  const add = (table: string | undefined, item: AttributeMap | undefined) => {
    const pk = item?.[partitionKey]?.S;
    if (table && pk !== undefined) keys.push([table, pk]);
  };
  add(request.TableName, request.Item ?? request.Key);
  for (const [table, requests] of Object.entries(request.RequestItems ?? {})) {
    for (const r of requests) add(table, r.PutRequest?.Item ?? r.DeleteRequest?.Key);
  }
  for (const entry of request.TransactItems ?? []) {
    for (const op of Object.values(entry)) add(op?.TableName, op?.Item ?? op?.Key);
  }
  return keys;
}

/**
 * Listens to dynalite's server for write requests that succeed (status 200). Request bodies are
 * read beside dynalite's own `data` listener (added in the same `request` event, so no chunk is
 * missed); other operations are not buffered.
 */
export function watchTableWrites(server: Server, partitionKey: string): TableWrites {
  const listeners = new Set<(table: string, pk: string) => void>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!listeners.size) return;
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!WRITES.has(target.slice(target.indexOf('.') + 1))) return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('finish', () => {
      if (res.statusCode !== 200) return;
      for (const [table, pk] of writtenKeys(Buffer.concat(chunks).toString('utf8'), partitionKey)) {
        for (const listener of listeners) listener(table, pk);
      }
    });
  });
  return {
    onWrite(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
