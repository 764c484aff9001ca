import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';

/** One request over `agent`; resolves to whether it went over a socket the agent already had. */
function reusedSocket(agent: Agent, url: URL, method: 'GET' | 'POST'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.reusedSocket));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

// Node's servers close an idle keep-alive connection about 6 s after its last response (5 s
// `keepAliveTimeout` and a second of grace); a burst that reuses one just then fails with ECONNRESET.
// The emulators keep them as AWS does (shared/http/idle-connections.ts).
describe('the local emulators keep idle keep-alive connections open past Node’s 5 s default', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reuses the same S3 and DynamoDB connections after 6.5 s of idle', async () => {
    // Arrange: the emulators as the stack names them to its clients.
    const s3 = new URL(process.env.AWS_ENDPOINT_URL_S3 ?? '');
    const dynamodb = new URL(process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await reusedSocket(agent, s3, 'GET');
    const dynamoAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    await reusedSocket(dynamoAgent, dynamodb, 'POST');

    // Act
    await new Promise((r) => setTimeout(r, 6_500));
    const [s3Reused, dynamoReused] = await Promise.all([
      reusedSocket(agent, s3, 'GET'),
      reusedSocket(dynamoAgent, dynamodb, 'POST'),
    ]);

    // Assert
    expect(s3Reused).toBe(true);
    expect(dynamoReused).toBe(true);
    agent.destroy();
    dynamoAgent.destroy();
  }, 20_000);
});
