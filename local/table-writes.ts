/**
 * Which items of which tables the local DynamoDB has just written, learnt from dynalite's own HTTP
 * server: the stack's `waitForVerdicts` takes a verdict from the write that stored it, or reads a
 * key when it is written, instead of reading every missing key on a timer. A blind poll of a large
 * upload (10,000 files) read up to 10,000 keys per round, which cost the emulator more than the
 * writes it waited for (docs/PERFORMANCE.md). Local harness only: the pipeline's writes are
 * untouched, this only listens.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** The write operations whose items carry their key in the request (UpdateItem/DeleteItem: `Key`). */
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** One item a successful write request named. */
export interface TableWrite {
  table: string;
  /** The item's string partition key. */
  pk: string;
  /**
   * The whole item as stored, for a put (PutItem, a BatchWriteItem or TransactWriteItems put): a put
   * replaces the item, so this is what a read would return now. Absent for updates and deletes.
   */
  item?: Record<string, AttributeValue>;
}

export interface TableWrites {
  /** Calls `listener` after each successful write, once for every item the request named. */
  onWrite(listener: (write: TableWrite) => void): () => void;
}

type AttributeMap = Record<string, AttributeValue | undefined>;
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

/** The items a write request names (with the whole item for puts); unparseable requests name none. */
export function writtenItems(body: string, partitionKey: string): TableWrite[] {
  let request: WriteRequest;
  try {
    request = JSON.parse(body) as WriteRequest;
  } catch {
    return [];
  }
  const writes: TableWrite[] = [];
  const add = (table: string | undefined, item: AttributeMap | undefined, key: AttributeMap | undefined) => {
    const pk = (item ?? key)?.[partitionKey]?.S;
    if (!table || pk === undefined) return;
    writes.push(item ? { table, pk, item: item as Record<string, AttributeValue> } : { table, pk });
  };
  add(request.TableName, request.Item, request.Key);
  for (const [table, requests] of Object.entries(request.RequestItems ?? {})) {
    for (const r of requests) add(table, r.PutRequest?.Item, r.DeleteRequest?.Key);
  }
  for (const entry of request.TransactItems ?? []) {
    // Put carries Item; Update, Delete and ConditionCheck carry Key (a check writes nothing, but
    // naming it costs a reader one needless read at most).
    for (const op of Object.values(entry)) add(op?.TableName, op?.Item, op?.Key);
  }
  return writes;
}

/**
 * Listens to dynalite's server for write requests that succeed (status 200). Request bodies are
 * read beside dynalite's own `data` listener (added in the same `request` event, so no chunk is
 * missed); other operations are not buffered.
 */
export function watchTableWrites(server: Server, partitionKey: string): TableWrites {
  const listeners = new Set<(write: TableWrite) => void>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!listeners.size) return;
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!WRITES.has(target.slice(target.indexOf('.') + 1))) return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('finish', () => {
      if (res.statusCode !== 200) return;
      for (const write of writtenItems(Buffer.concat(chunks).toString('utf8'), partitionKey)) {
        for (const listener of listeners) listener(write);
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
