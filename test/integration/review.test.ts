/**
 * People in the loop, end to end on the local API: automatic `review` verdicts wait in the queue,
 * reviewers claim and decide them (never two at once), a decision banks the item so a re-upload
 * is blocked before any model, the platform hears of it (event log, signed webhook), the tenant
 * appeals and another reviewer decides the appeal; every action is in the audit trail.
 *
 * The review verdicts come from a blocklist term (balanced: a blocklist hit sends the upload to
 * review), so the test does not depend on where a model's scores fall.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api.ts';
import { readEventLog } from '#local/event-log.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { hashKey } from '#shared/api/keys.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '#shared/review/events.ts';

const TERM = 'zorblax';
const SECRET = 'webhook-secret-0123456789';
let stack: LocalStack;
let api: LocalApi;
let hooks: Server;
const received: { body: string; timestamp: string; signature: string }[] = [];
/** Verdicts whose webhook the receiver refuses (500), to drive the retries into the DLQ. */
const refusing = new Set<string>();
const B = { name: 'reviewer-b', key: 'reviewer-b-key' };
const WAIT = { timeout: 30_000, interval: 100 };
const LEAD = { name: 'lead-c', key: 'lead-c-key' };

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({
        body,
        timestamp: String(req.headers[TIMESTAMP_HEADER]),
        signature: String(req.headers[SIGNATURE_HEADER]),
      });
      const verdictId = (JSON.parse(body) as { detail: { verdictId: string } }).detail.verdictId;
      res.writeHead(refusing.has(verdictId) ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  stack = await startLocalStack({ matchLists: { blocklist: parseTermList(`${TERM}\n`, 'blocklist') } });
  api = await startLocalApi(stack, {
    key: 'api-key',
    reviewerKey: 'reviewer-a-key',
    webhook: { url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/moderation`, secret: SECRET },
    extraKeys: [
      { sha256: hashKey(B.key), tenant: 'local', policy: 'balanced', role: 'reviewer', name: B.name },
      { sha256: hashKey(LEAD.key), tenant: 'local', policy: 'balanced', role: 'lead', name: LEAD.name },
    ],
    reviewLeaseMs: 1500,
    // Retried at once, three receives, then the DLQ: the dead letter within seconds.
    webhookRetry: { baseSeconds: 0, maxSeconds: 0, maxReceiveCount: 3 },
  });
}, 180_000);

afterAll(async () => {
  await api?.close();
  await stack?.stop();
  await new Promise((r) => hooks?.close(r));
});

const call = (key: string, method: string, path: string, body?: unknown) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
const A = () => api.reviewerKey;

async function moderate(text: string): Promise<Verdict> {
  const res = await call(api.key, 'POST', '/v1/moderate', { text });
  expect(res.status).toBe(200);
  return (await res.json()) as Verdict;
}

const auditOf = async (verdictId: string | undefined) =>
  ((await stack.doc.send(new ScanCommand({ TableName: 'moderation-audit' }))).Items ?? [])
    .filter((i) => i.verdictId === verdictId)
    .sort((a, b) => (a.at < b.at ? -1 : 1));

const queue = async (key: string, query = '') =>
  ((await (await call(key, 'GET', `/v1/review/queue${query}`)).json()) as { items: Verdict[] }).items;

describe('the review loop', () => {
  const items: Verdict[] = [];

  beforeAll(async () => {
    for (const n of [1, 2, 3, 4, 5])
      items.push(await moderate(`We met the ${TERM} people on day ${n}, lovely folks.`));
  });

  it('queues every automatic review, oldest first, for reviewer keys only', async () => {
    expect(items.map((v) => v.decision)).toEqual(['review', 'review', 'review', 'review', 'review']);
    const ids = (await queue(A())).map((v) => v.id);
    expect(ids).toEqual(items.map((v) => v.id));
    expect((await call(api.key, 'GET', '/v1/review/queue')).status).toBe(403);
    expect((await call(A(), 'POST', '/v1/moderate', { text: 'hi' })).status).toBe(403);
    expect((await call(A(), 'GET', '/v1/review/queue?limit=0')).status).toBe(400);
  });

  it('a claim keeps the item from other reviewers until it expires', async () => {
    const [first] = items;
    const claim = await call(A(), 'POST', `/v1/review/items/${first?.id}/claim`);
    expect(claim.status).toBe(200);
    expect(((await claim.json()) as { reviewer: string }).reviewer).toBe('local-reviewer');
    expect((await queue(B.key)).map((v) => v.id)).not.toContain(first?.id);
    const taken = await call(B.key, 'POST', `/v1/review/items/${first?.id}/claim`);
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { error: { message: string } }).error.message).toMatch(
      /claimed by local-reviewer/,
    );
    const decidedByOther = await call(B.key, 'POST', `/v1/review/items/${first?.id}/decision`, {
      decision: 'allow',
      reason: 'looks fine',
    });
    expect(decidedByOther.status).toBe(409);
    await new Promise((r) => setTimeout(r, 1700));
    // Expired: back in the queue, and B may take it.
    expect((await queue(B.key)).map((v) => v.id)).toContain(first?.id);
    expect((await call(B.key, 'POST', `/v1/review/items/${first?.id}/claim`)).status).toBe(200);
    // A lead may take over an unexpired claim.
    expect((await call(LEAD.key, 'POST', `/v1/review/items/${first?.id}/claim`)).status).toBe(200);
  });

  it('the holder or a lead releases a claim, and the item is back in the queue at once; anyone else gets 409', async () => {
    const fourth = items[3] as Verdict;
    const release = (key: string) => call(key, 'POST', `/v1/review/items/${fourth.id}/release`);
    const unclaimed = await release(A());
    expect(unclaimed.status).toBe(409);
    expect(((await unclaimed.json()) as { error: { message: string } }).error.message).toMatch(/not claimed/);
    expect((await call(A(), 'POST', `/v1/review/items/${fourth.id}/claim`)).status).toBe(200);
    expect((await queue(B.key)).map((v) => v.id)).not.toContain(fourth.id);
    const notHers = await release(B.key);
    expect(notHers.status).toBe(409);
    expect(((await notHers.json()) as { error: { message: string } }).error.message).toMatch(
      /claimed by local-reviewer/,
    );
    const released = await release(A());
    expect(released.status).toBe(200);
    expect(await released.json()).toEqual({ id: fourth.id, released: true });
    expect((await queue(B.key)).map((v) => v.id)).toContain(fourth.id);
    // A lead may release another reviewer's claim.
    expect((await call(B.key, 'POST', `/v1/review/items/${fourth.id}/claim`)).status).toBe(200);
    expect((await release(LEAD.key)).status).toBe(200);
    expect((await call(api.key, 'POST', `/v1/review/items/${fourth.id}/release`)).status).toBe(403);
    expect((await call(A(), 'POST', '/v1/review/items/bm9wZQ/release')).status).toBe(404);
    expect((await auditOf(fourth.id)).map((i) => [i.action, i.actor])).toEqual([
      ['claim', 'local-reviewer'],
      ['release', 'local-reviewer'],
      ['claim', B.name],
      ['release', LEAD.name],
    ]);
  });

  it('of two reviewers deciding at once, exactly one wins and the other gets 409', async () => {
    const second = items[1];
    const [a, b] = await Promise.all([
      call(A(), 'POST', `/v1/review/items/${second?.id}/decision`, { decision: 'allow', reason: 'a' }),
      call(B.key, 'POST', `/v1/review/items/${second?.id}/decision`, { decision: 'block', reason: 'b' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = (await (a.status === 200 ? a : b).json()) as Verdict;
    const stored = (await (await call(api.key, 'GET', `/v1/verdicts/${second?.id}`)).json()) as Verdict;
    expect(stored.finalDecision).toBe(winner.finalDecision);
    expect(stored.reviews).toHaveLength(1);
  });

  it('a decision keeps the automatic one, records the person’s, leaves the queue, banks, and tells the platform', async () => {
    const third = items[2] as Verdict;
    const res = await call(A(), 'POST', `/v1/review/items/${third.id}/decision`, {
      decision: 'block',
      reason: 'coded slur',
      labels: { hate: true },
      bank: 'reviewed-abuse',
    });
    expect(res.status).toBe(200);
    const decided = (await res.json()) as Verdict;
    expect(decided.decision).toBe('review');
    expect(decided.finalDecision).toBe('block');
    expect(decided.review).toMatchObject({
      decision: 'block',
      reviewer: 'local-reviewer',
      reason: 'coded slur',
      labels: { hate: true },
      kind: 'review',
      bank: 'reviewed-abuse',
    });
    expect(decided.queue).toBeUndefined();
    expect((await queue(A())).map((v) => v.id)).not.toContain(third.id);
    expect(
      (await call(B.key, 'POST', `/v1/review/items/${third.id}/decision`, { decision: 'allow', reason: 'x' }))
        .status,
    ).toBe(409);

    // The event log and the signed webhook.
    const events = await readEventLog(stack.dataDir);
    const event = events.find((e) => e.detail.verdictId === third.id);
    expect(event?.['detail-type']).toBe('Moderation Decision');
    expect(event?.detail.finalDecision).toBe('block');
    // The webhook comes from the queue's sender, after the decision answered.
    await expect.poll(() => received.some((r) => r.body.includes(String(third.id))), WAIT).toBe(true);
    const hook = received.find((r) => r.body.includes(String(third.id)));
    expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({
      type: 'Moderation Decision',
      detail: { verdictId: third.id, tenant: 'local', finalDecision: 'block' },
    });
    expect(hook?.signature).toBe(signWebhook(SECRET, hook?.timestamp ?? '', hook?.body ?? ''));
    expect(hook?.signature).toBe(
      `sha256=${createHmac('sha256', SECRET).update(`${hook?.timestamp}.${hook?.body}`).digest('hex')}`,
    );
  });

  it('a re-upload of banked content is blocked before any model runs', async () => {
    const third = items[2] as Verdict;
    // The same bytes as an S3 upload: a new object, matched by its SHA-256 against the bank.
    const ref = await stack.upload(
      'again/copy.txt',
      Buffer.from(`We met the ${TERM} people on day 3, lovely folks.`),
    );
    const verdict = (await stack.waitForVerdicts([ref], { timeoutMs: 60_000 })).get(ref);
    expect(verdict?.decision).toBe('block');
    expect(verdict?.matches?.some((m) => m.bank === 'reviewed-abuse')).toBe(true);
    expect(third.signals?.length).toBeGreaterThan(0);
  }, 90_000);

  it('the tenant appeals; the appeal goes to another reviewer, whose decision stands beside the first', async () => {
    const third = items[2] as Verdict;
    expect((await call(A(), 'POST', '/v1/appeals', { verdictId: third.id, reason: 'x' })).status).toBe(403);
    const appealed = await call(api.key, 'POST', '/v1/appeals', {
      verdictId: third.id,
      reason: 'it is the name of a band',
    });
    expect(appealed.status).toBe(202);
    expect(((await appealed.json()) as Verdict).queue).toBe('appeal');
    expect(
      (await call(api.key, 'POST', '/v1/appeals', { verdictId: third.id, reason: 'again' })).status,
    ).toBe(409);
    const appeals = await queue(B.key, '?kind=appeal');
    expect(appeals.map((v) => v.id)).toEqual([third.id]);
    expect(appeals[0]?.appeal?.reason).toBe('it is the name of a band');
    // The reviewer who decided it may not decide its appeal.
    expect(
      (
        await call(A(), 'POST', `/v1/review/items/${third.id}/decision`, {
          decision: 'allow',
          reason: 'fine',
        })
      ).status,
    ).toBe(409);
    const res = await call(B.key, 'POST', `/v1/review/items/${third.id}/decision`, {
      decision: 'allow',
      reason: 'band name, not a slur',
    });
    expect(res.status).toBe(200);
    const final = (await (await call(api.key, 'GET', `/v1/verdicts/${third.id}`)).json()) as Verdict;
    expect(final.decision).toBe('review');
    expect(final.finalDecision).toBe('allow');
    expect(final.reviews?.map((r) => [r.reviewer, r.kind, r.decision])).toEqual([
      ['local-reviewer', 'review', 'block'],
      [B.name, 'appeal', 'allow'],
    ]);
  });

  it('keeps an append-only audit record of every action', async () => {
    const third = items[2] as Verdict;
    const mine = await auditOf(third.id);
    expect(mine.map((i) => [i.action, i.actor])).toEqual([
      ['decision', 'local-reviewer'],
      ['bank', 'local-reviewer'],
      ['appeal', expect.stringMatching(/^[0-9a-f]{12}$/)],
      ['decision', B.name],
    ]);
    expect(mine[0]?.after?.finalDecision).toBe('block');
    expect(mine[3]?.before?.finalDecision).toBe('block');
  });

  it('a webhook the receiver keeps refusing is retried, then recorded as a dead letter in the audit trail', async () => {
    const fifth = items[4] as Verdict;
    refusing.add(String(fifth.id));
    const res = await call(A(), 'POST', `/v1/review/items/${fifth.id}/decision`, {
      decision: 'allow',
      reason: 'fine',
    });
    // The decision does not wait for the webhook: it stands.
    expect(res.status).toBe(200);
    await expect
      .poll(async () => (await auditOf(fifth.id)).some((i) => i.action === 'webhook-failed'), WAIT)
      .toBe(true);
    const attempts = received.filter((r) => r.body.includes(String(fifth.id)));
    expect(attempts).toHaveLength(3);
    for (const a of attempts) expect(a.signature).toBe(signWebhook(SECRET, a.timestamp, a.body));
    const deadLetter = (await auditOf(fifth.id)).find((i) => i.action === 'webhook-failed');
    expect(deadLetter?.actor).toBe('webhook-sender');
    expect(deadLetter?.after?.target).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/moderation$/);
    expect(deadLetter?.after?.detail).toMatchObject({ verdictId: fifth.id, finalDecision: 'allow' });
    const final = (await (await call(api.key, 'GET', `/v1/verdicts/${fifth.id}`)).json()) as Verdict;
    expect(final.finalDecision).toBe('allow');
  });

  it('answers bad decisions with the field named, unknown ids with 404', async () => {
    const fourth = items[3] as Verdict;
    const bad = await call(A(), 'POST', `/v1/review/items/${fourth.id}/decision`, {
      decision: 'maybe',
      reason: 'x',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('decision');
    const noReason = await call(A(), 'POST', `/v1/review/items/${fourth.id}/decision`, {
      decision: 'allow',
      reason: ' ',
    });
    expect(((await noReason.json()) as { error: { param: string } }).error.param).toBe('reason');
    expect((await call(A(), 'POST', '/v1/review/items/bm9wZQ/claim')).status).toBe(404);
    expect(
      (await call(A(), 'POST', '/v1/review/items/%%/decision', { decision: 'allow', reason: 'x' })).status,
    ).toBe(404);
  });
});
