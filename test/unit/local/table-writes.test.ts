import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { watchTableWrites, writtenItems } from '#local/table-writes.ts';

describe('writtenItems', () => {
  it('names the items of PutItem, DeleteItem, BatchWriteItem and TransactWriteItems, whole for puts', () => {
    // Arrange
    const put = { TableName: 'v', Item: { pk: { S: 'a' }, decision: { S: 'allow' } } };
    const del = { TableName: 'v', Key: { pk: { S: 'b' } } };
    const batch = {
      RequestItems: {
        v: [{ PutRequest: { Item: { pk: { S: 'c' } } } }, { DeleteRequest: { Key: { pk: { S: 'd' } } } }],
      },
    };
    const transact = {
      TransactItems: [
        { Put: { TableName: 'w', Item: { pk: { S: 'e' } } } },
        { Update: { TableName: 'w', Key: { pk: { S: 'f' } }, UpdateExpression: 'SET n = :n' } },
      ],
    };
    const update = { TableName: 'v', Key: { pk: { S: 'g' } }, UpdateExpression: 'SET n = :n' };

    // Act
    const writes = [put, del, batch, transact, update].flatMap((r) => writtenItems(JSON.stringify(r), 'pk'));

    // Assert
    expect(writes).toEqual([
      { table: 'v', pk: 'a', item: { pk: { S: 'a' }, decision: { S: 'allow' } } },
      { table: 'v', pk: 'b' },
      { table: 'v', pk: 'c', item: { pk: { S: 'c' } } },
      { table: 'v', pk: 'd' },
      { table: 'w', pk: 'e', item: { pk: { S: 'e' } } },
      { table: 'w', pk: 'f' },
      { table: 'v', pk: 'g' },
    ]);
  });

  it('names nothing for a body that is not JSON or has no string key', () => {
    // Act / Assert
    expect(writtenItems('{not json', 'pk')).toEqual([]);
    expect(writtenItems(JSON.stringify({ TableName: 'v', Item: { pk: { N: '1' } } }), 'pk')).toEqual([]);
  });
});

describe('watchTableWrites', () => {
  async function serve(status: number) {
    const server = createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        res.statusCode = status;
        res.end('{}');
      });
    });
    const writes = watchTableWrites(server, 'pk');
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const send = (target: string, body: unknown) =>
      new Promise<void>((resolve, reject) => {
        const req = request({ port, method: 'POST', headers: { 'x-amz-target': target } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    return { server, writes, send };
  }

  it('reports each successful write once, after the response, and nothing for reads', async () => {
    // Arrange
    const { server, writes, send } = await serve(200);
    const seen: string[] = [];
    writes.onWrite(({ table, pk }) => seen.push(`${table}/${pk}`));

    // Act
    await send('DynamoDB_20120810.PutItem', { TableName: 'v', Item: { pk: { S: 'a' } } });
    await send('DynamoDB_20120810.GetItem', { TableName: 'v', Key: { pk: { S: 'b' } } });
    server.close();

    // Assert
    expect(seen).toEqual(['v/a']);
  });

  it('reports no write the table refused (a failed condition answers 400)', async () => {
    // Arrange
    const { server, writes, send } = await serve(400);
    const seen: string[] = [];
    writes.onWrite(({ table, pk }) => seen.push(`${table}/${pk}`));

    // Act
    await send('DynamoDB_20120810.PutItem', { TableName: 'v', Item: { pk: { S: 'a' } } });
    server.close();

    // Assert
    expect(seen).toEqual([]);
  });
});
