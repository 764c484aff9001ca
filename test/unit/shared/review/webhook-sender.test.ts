/**
 * The queue-backed webhook sender (shared/review/webhook-sender.ts, functions/webhook-sender): one
 * signed attempt per receive against a local receiver; a failure sets the message's visibility to
 * the doubling backoff (SQS mocked with aws-sdk-client-mock) and is reported as a batch item
 * failure; a record from the DLQ becomes the `webhook-failed` audit record.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VERDICT_EVENT } from '#shared/actions/verdict-actions.ts';
import { createKeyring } from '#shared/api/keys.ts';
import { DECISION_EVENT, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '#shared/review/events.ts';
import type { AuditRecord } from '#shared/review/store.ts';
import {
  createWebhookRecordHandler,
  parseDecisionMessage,
  retryDelaySeconds,
  WEBHOOK_SENDER_ACTOR,
  WebhookMessageError,
} from '#shared/review/webhook-sender.ts';

const SECRET = 'tenant-secret-0123456789';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/webhooks';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:webhooks';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:webhooks-dlq';

const sqsMock = mockClient(SQSClient);
let server: Server;
let url: string;
/** What the receiver answers, and what it got (signature checked as a platform would). */
const receiver = { status: 204, got: [] as { verified: boolean; body: string }[] };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const timestamp = String(req.headers[TIMESTAMP_HEADER]);
      const verified = req.headers[SIGNATURE_HEADER] === signWebhook(SECRET, timestamp, body);
      receiver.got.push({ verified, body });
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(() => new Promise((r) => server.close(r)));

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  receiver.status = 204;
  receiver.got = [];
});

const detail = { verdictId: 'dmVyZGljdA', tenant: 'acme', decision: 'review', finalDecision: 'block' };
const eventBody = (d: Record<string, unknown> = detail) =>
  JSON.stringify({
    version: '0',
    id: 'evt-1',
    source: DECISION_EVENT.source,
    'detail-type': DECISION_EVENT.detailType,
    detail: d,
  });

function record(body: string, options: { receiveCount?: number; arn?: string } = {}): SQSRecord {
  return {
    messageId: 'm-1',
    receiptHandle: 'rh-1',
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '0',
      SenderId: 'events',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.arn ?? QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

function sender(webhook: boolean = true) {
  const audits: Omit<AuditRecord, 'at'>[] = [];
  const handle = createWebhookRecordHandler({
    tenant: (name) => (name === 'acme' && webhook ? { webhook: { url, secret: SECRET } } : {}),
    audit: async (r) => {
      audits.push(r);
    },
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: QUEUE_URL,
    deadLetterQueueArn: DLQ_ARN,
    retry: { baseSeconds: 30, maxSeconds: 900 },
    timeoutMs: 2000,
  });
  return { handle, audits };
}

describe('the decision event', () => {
  it('comes from the same source as the verdict events (the contract names it once for infra)', () => {
    expect(DECISION_EVENT).toEqual({ source: VERDICT_EVENT.source, detailType: 'Moderation Decision' });
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from the base per receive, up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelaySeconds(n))).toEqual([30, 60, 120, 240, 480, 900, 900]);
    expect(retryDelaySeconds(3, { baseSeconds: 0, maxSeconds: 0 })).toBe(0);
  });
});

describe('parseDecisionMessage', () => {
  it('reads the decision from the event a rule delivers, and refuses anything else by name', () => {
    expect(parseDecisionMessage(eventBody())).toMatchObject({ verdictId: detail.verdictId, tenant: 'acme' });
    expect(() => parseDecisionMessage('not json')).toThrow(WebhookMessageError);
    expect(() =>
      parseDecisionMessage(JSON.stringify({ source: 'other', 'detail-type': 'x', detail: {} })),
    ).toThrow(/not a Moderation Decision event/);
    expect(() => parseDecisionMessage(eventBody({ verdictId: 'x' }))).toThrow(WebhookMessageError);
  });
});

describe('createWebhookRecordHandler', () => {
  it('delivers the event signed, in one attempt, and leaves the message alone', async () => {
    const { handle, audits } = sender();
    expect(await handle(record(eventBody()))).toBe('delivered');
    expect(receiver.got).toHaveLength(1);
    expect(receiver.got[0]?.verified).toBe(true);
    expect(JSON.parse(receiver.got[0]?.body ?? '{}')).toEqual({ type: 'Moderation Decision', detail });
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    expect(audits).toEqual([]);
  });

  it('on a refusal, waits the backoff for this receive (visibility) and throws, so SQS redelivers', async () => {
    receiver.status = 500;
    const { handle, audits } = sender();
    await expect(handle(record(eventBody(), { receiveCount: 3 }))).rejects.toThrow(/answered 500/);
    expect(receiver.got).toHaveLength(1);
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-1', VisibilityTimeout: 120 },
    ]);
    expect(audits).toEqual([]);
  });

  it('still reports the failure when the backoff cannot be set (the queue’s own timeout applies)', async () => {
    receiver.status = 503;
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('throttled'));
    await expect(sender().handle(record(eventBody()))).rejects.toThrow(/not delivered/);
  });

  it('sends nothing for a tenant without a webhook', async () => {
    expect(await sender(false).handle(record(eventBody()))).toBe('no-webhook');
    expect(receiver.got).toHaveLength(0);
  });

  it('records a DLQ message as the webhook-failed dead letter, without sending it again', async () => {
    const { handle, audits } = sender();
    expect(await handle(record(eventBody(), { arn: DLQ_ARN, receiveCount: 5 }))).toBe('dead-letter-recorded');
    expect(receiver.got).toHaveLength(0);
    expect(audits).toEqual([
      {
        verdictId: detail.verdictId,
        actor: WEBHOOK_SENDER_ACTOR,
        action: 'webhook-failed',
        after: { target: url, attempts: 5, detail },
      },
    ]);
  });

  it('keeps an unreadable DLQ message in the DLQ (it throws) rather than dropping it', async () => {
    await expect(sender().handle(record('{}', { arn: DLQ_ARN }))).rejects.toThrow(WebhookMessageError);
  });
});

describe('functions/webhook-sender/handler.ts', () => {
  const ddbMock = mockClient(DynamoDBDocumentClient);
  let createHandler: typeof import('#functions/webhook-sender/handler.ts').createHandler;

  beforeAll(async () => {
    process.env.API_KEYS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api-keys';
    process.env.AUDIT_TABLE_NAME = 'audit';
    process.env.WEBHOOK_QUEUE_URL = QUEUE_URL;
    process.env.WEBHOOK_DEAD_LETTER_QUEUE_ARN = DLQ_ARN;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.AWS_REGION = 'us-east-1';
    ({ createHandler } = await import('#functions/webhook-sender/handler.ts'));
  });

  it('reports only the undelivered record as a batch item failure, and appends dead letters to the audit table', async () => {
    ddbMock.reset();
    ddbMock.on(PutCommand).resolves({});
    const { readWebhookSenderEnv } = await import('#shared/contracts/env.ts');
    const handler = createHandler(readWebhookSenderEnv(), {
      doc: DynamoDBDocumentClient.from(new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({})),
      sqs: new SQSClient({ region: 'us-east-1' }),
      keyring: createKeyring({
        keys: [],
        tenants: {
          acme: { webhook: { url, secret: SECRET } },
          globex: { webhook: { url: `${url}?refuse`, secret: SECRET } },
        },
      }),
    });
    // The receiver refuses globex's deliveries only (the last test: the listener is replaced).
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(req.url?.includes('refuse') ? 500 : 204).end());
    });
    const event: SQSEvent = {
      Records: [
        { ...record(eventBody()), messageId: 'ok' },
        { ...record(eventBody({ ...detail, tenant: 'globex' })), messageId: 'refused' },
        { ...record(eventBody(), { arn: DLQ_ARN }), messageId: 'dead' },
      ],
    };
    const res = await handler(event, { getRemainingTimeInMillis: () => 30_000 } as Context);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'refused' }] });
    const puts = ddbMock.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      TableName: 'audit',
      Item: { verdictId: detail.verdictId, action: 'webhook-failed', actor: WEBHOOK_SENDER_ACTOR },
      ConditionExpression: 'attribute_not_exists(#at)',
    });
  });
});
