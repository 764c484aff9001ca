import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { watchTableWrites, writtenKeys } from '#local/table-writes.ts';

describe('writtenKeys', () => {
  it('names the items of PutItem, DeleteItem, BatchWriteItem and TransactWriteItems', () => {
    // Arrange
    const put = { TableName: 'v', Item: { pk: { S: 'a' }, decision: { S: 'allow' } } };
    const del = { TableName: 'v', Key: { pk: { S: 'b' } } };
    const batch = {
      RequestItems: {
        v: [{ PutRequest: { Item: { pk: { S: 'c' } } } }, { DeleteRequest: { Key: { pk: { S: 'd' } } } }],
      },
    };
    const transact = { TransactItems: [{ Put: { TableName: 'w', Item: { pk: { S: 'e' } } } }] };

    // Act
    const keys = [put, del, batch, transact].flatMap((r) => writtenKeys(JSON.stringify(r), 'pk'));

    // Assert
    expect(keys).toEqual([
      ['v', 'a'],
      ['v', 'b'],
      ['v', 'c'],
      ['v', 'd'],
      ['w', 'e'],
    ]);
  });

  it('names nothing for a body that is not JSON or has no string key', () => {
    // Act / Assert
    expect(writtenKeys('{not json', 'pk')).toEqual([]);
    expect(writtenKeys(JSON.stringify({ TableName: 'v', Item: { pk: { N: '1' } } }), 'pk')).toEqual([]);
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
    writes.onWrite((table, pk) => seen.push(`${table}/${pk}`));

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
    writes.onWrite((table, pk) => seen.push(`${table}/${pk}`));

    // Act
    await send('DynamoDB_20120810.PutItem', { TableName: 'v', Item: { pk: { S: 'a' } } });
    server.close();

    // Assert
    expect(seen).toEqual([]);
  });
});
