import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { S3rverEvent } from '#local/s3-thread.ts';
import { forwardUploadEvents } from '#local/stack.ts';

const created = (key: string, eventName = 'ObjectCreated:Put'): S3rverEvent => ({
  Records: [{ eventName, s3: { object: { key } } }],
});

type Notification = { Records: { s3: { object: { key: string; sequencer: string } } }[] };
const keyOf = (body: string) => (JSON.parse(body) as Notification).Records[0]?.s3.object.key;

describe('forwardUploadEvents (S3 notifications into the ingest queue)', () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let sqs: SQSClient;

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    sqs = new SQSClient({
      endpoint: fauxqs.address,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
  });
  afterAll(async () => {
    sqs.destroy();
    await fauxqs.stop();
  });

  it('delivers the uploads of one turn after it, in order, with growing sequencers and S3-encoded keys', async () => {
    // Arrange
    const delivered: string[] = [];
    const pending = new Set<Promise<unknown>>();
    const forward = forwardUploadEvents((body) => delivered.push(body), pending, undefined);

    // Act
    forward(created('uploads/a b.txt'));
    forward(created('uploads/a b.txt', 'ObjectRemoved:Delete'));
    forward(created('inputs/kept.json'));
    forward(created('uploads/c.txt'));
    const beforeTheTurnEnds = delivered.length;
    await Promise.all(pending);

    // Assert
    expect(beforeTheTurnEnds).toBe(0);
    expect(delivered.map(keyOf)).toEqual(['uploads/a+b.txt', 'uploads/c.txt']);
    const sequencers = delivered.map((b) => (JSON.parse(b) as Notification).Records[0]?.s3.object.sequencer);
    expect(sequencers).toHaveLength(2);
    expect(String(sequencers[0]) < String(sequencers[1])).toBe(true);
    expect(pending.size).toBe(0);
  });

  it('wakes a waiting receive with the whole turn as one batch, and reports a refused message without losing the rest', async () => {
    // Arrange: a queue that refuses bodies over 1 KiB, and a long poll already waiting on it.
    const { queueUrl, queueName } = fauxqs.createQueue('ingest-test', {
      attributes: { MaximumMessageSize: '1024' },
    });
    const onError = vi.fn();
    const pending = new Set<Promise<unknown>>();
    const forward = forwardUploadEvents((body) => fauxqs.sendMessage(queueName, body), pending, onError);
    const received = sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
    );
    await new Promise((r) => setTimeout(r, 100));

    // Act
    for (let i = 0; i < 9; i++) forward(created(`uploads/${i}.txt`));
    forward(created(`uploads/${'x'.repeat(2000)}.txt`));
    await Promise.all(pending);
    const { Messages = [] } = await received;

    // Assert
    expect(Messages.map((m) => keyOf(m.Body ?? ''))).toEqual(
      Array.from({ length: 9 }, (_, i) => `uploads/${i}.txt`),
    );
    expect(onError).toHaveBeenCalledTimes(1);
    expect(String(onError.mock.calls[0]?.[0])).toMatch(/shorter than 1024 bytes/);
  });
});
