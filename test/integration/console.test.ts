/**
 * The review console (console/, docs/CONSOLE.md) in a real browser: headless Debian Chromium driven
 * by playwright-core against the local API server (`npm run api`'s), on real review items — texts
 * sent to the API and an image uploaded to S3 whose sign OCR reads — and a real appeal. A reviewer
 * signs in with their key, opens items (each is claimed), sees the evidence, decides from the
 * keyboard, and each decided item leaves the queue; the API shows the final decisions.
 *
 * The items go to review because of a blocklist term, not a model score, so the test does not
 * depend on where scores fall. Waits are for selectors and responses, never fixed sleeps.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { hashKey } from '#shared/api/keys.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { parseTermList } from '#shared/matching/terms.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';

const TERM = 'zorblax';
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(import.meta.dirname, '../../reports/console-item.png');
const BLURRED_SCREENSHOT = join(import.meta.dirname, '../../reports/console-blurred.png');
/** Reviewer keys that read upload verdicts too (an S3 upload is the platform's own content). */
const REVIEWER = { name: 'console-reviewer', key: 'console-reviewer-key' };
const OTHER = { name: 'reviewer-b', key: 'reviewer-b-key' };
const WAIT = { timeout: 60_000 };

let stack: LocalStack;
let api: LocalApi;
let browser: Browser;
let page: Page;
/** Script errors and console errors (a CSP violation is one) in the page. */
const pageErrors: string[] = [];
const items: Record<'first' | 'second' | 'image' | 'appealed', Verdict> = {} as never;

const call = (key: string, method: string, path: string, body?: unknown) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

async function moderate(text: string, media: Uint8Array[] = []): Promise<Verdict> {
  const res = await call(api.key, 'POST', '/v1/moderate', {
    text,
    ...(media.length > 0 && { media: media.map((m) => ({ data: Buffer.from(m).toString('base64') })) }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Verdict;
}

const queueIds = async (kind = 'review') =>
  (
    (await (await call(REVIEWER.key, 'GET', `/v1/review/queue?kind=${kind}`)).json()) as {
      items: Verdict[];
    }
  ).items.map((v) => v.id);

const verdict = async (id: string | undefined) =>
  (await (await call(api.key, 'GET', `/v1/verdicts/${id}`)).json()) as Verdict;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh as root (it installs Debian's chromium)`);
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 120_000 });
  const sign = renderSign(`Welcome to the ${TERM} club`, SIGN_STYLES[0]!);
  stack = await startLocalStack({ matchLists: { blocklist: parseTermList(`${TERM}\n`, 'blocklist') } });
  api = await startLocalApi(stack, {
    key: 'api-key',
    extraKeys: [REVIEWER, OTHER].map((r) => ({
      sha256: hashKey(r.key),
      tenant: 'local',
      policy: 'balanced',
      role: 'reviewer' as const,
      name: r.name,
      uploads: true,
    })),
  });
  // Oldest first in the queue: the two texts, then the image (OCR takes a while on two cores).
  items.first = await moderate(`We met the ${TERM} people on the first day, lovely folks.`);
  items.second = await moderate(`Second note: the ${TERM} choir sang all evening.`);
  const ref = await stack.upload('x/pic.png', await sign);
  const image = (await stack.waitForVerdicts([ref], { timeoutMs: 180_000 })).get(ref);
  if (!image) throw new Error('the image upload got no verdict in time');
  items.image = image;
  // An appeal for the console: a post sent to the API (its image is not kept), which reviewer B
  // blocks and the tenant appeals.
  const flyer = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3b7dd8' } })
    .png()
    .toBuffer();
  items.appealed = await moderate(`A flyer for the ${TERM} fan club.`, [flyer]);
  expect((await call(OTHER.key, 'POST', `/v1/review/items/${items.appealed.id}/claim`)).status).toBe(200);
  const decided = await call(OTHER.key, 'POST', `/v1/review/items/${items.appealed.id}/decision`, {
    decision: 'block',
    reason: 'looks like a slur',
  });
  expect(decided.status).toBe(200);
  const appealed = await call(api.key, 'POST', '/v1/appeals', {
    verdictId: items.appealed.id,
    reason: 'Zorblax is the name of our band',
  });
  expect(appealed.status).toBe(202);
  await mkdir(join(SCREENSHOT, '..'), { recursive: true });
  browser = await launching;
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${m.text()} (${m.location().url})`);
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await stack?.stop();
});

// Generous: a loaded 2-core machine runs the browser, the emulators and the models together.
describe('the review console', { timeout: 120_000 }, () => {
  it('is served at /review/ with its UI modules vendored (no CDN) and a strict CSP', async () => {
    expect(api.consoleUrl).toBe(`${api.url}/review/`);
    const index = await fetch(api.consoleUrl);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    expect(await index.text()).not.toMatch(/https?:\/\//);
    for (const path of ['vendor/preact.mjs', 'vendor/hooks.mjs', 'vendor/htm.mjs', 'app.js'])
      expect((await fetch(`${api.consoleUrl}${path}`)).status, path).toBe(200);
    expect((await fetch(`${api.consoleUrl}..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${api.url}/review`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/review/',
    );
  });

  it('the texts and the image are review items waiting in the queue', async () => {
    expect([items.first, items.second, items.image].map((v) => v.decision)).toEqual([
      'review',
      'review',
      'review',
    ]);
    expect(items.image.matches?.some((m) => m.channel === 'ocr' && m.signal === TERM)).toBe(true);
    expect(await queueIds()).toEqual([items.first.id, items.second.id, items.image.id]);
    expect(await queueIds('appeal')).toEqual([items.appealed.id]);
  });

  it('signs in with the reviewer key and lists the queue, oldest first', async () => {
    await page.goto(api.consoleUrl);
    // A key the API refuses is not kept, and the form says so.
    await page.fill('#reviewer-key', 'not-a-key');
    await page.press('#reviewer-key', 'Enter');
    expect(await (await page.waitForSelector('.sign-in .notice.error', WAIT)).textContent()).toMatch(
      /not accepted/,
    );
    expect(await page.evaluate(() => sessionStorage.getItem('moderation-console.token'))).toBeNull();
    await page.fill('#reviewer-key', REVIEWER.key);
    await page.press('#reviewer-key', 'Enter');
    await page.waitForSelector(`.queue-item[data-id="${items.image.id}"]`, WAIT);
    const listed = await page.$$eval('.queue-item', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(listed).toEqual([items.first.id, items.second.id, items.image.id]);
    // The key is kept for the tab: a reload lists the queue without asking again.
    await page.reload();
    await page.waitForSelector(`.queue-item[data-id="${items.first.id}"]`, WAIT);
    expect(await page.evaluate(() => sessionStorage.getItem('moderation-console.token'))).toBe(REVIEWER.key);
  });

  it('opens the image item: claimed, OCR text with the term marked, a blurred thumbnail revealed on click', async () => {
    await page.click(`.queue-item[data-id="${items.image.id}"]`);
    await page.waitForSelector(`.item-view[data-id="${items.image.id}"] .claim-held`, WAIT);
    // Claimed: hidden from the queue for everyone else.
    expect(await queueIds()).not.toContain(items.image.id);
    expect(await page.textContent('.channel-ocr mark.term')).toBe(TERM);
    expect(await page.textContent('.matches')).toContain('blocklist');
    expect(await page.textContent('.policy-version')).toBe(items.image.policyVersion);
    expect(await page.textContent('.versions')).toContain('image-nsfw');
    // The blocklist hit is a deny match: the image stays blurred until the reviewer asks for it.
    const thumb = await page.waitForSelector('.channel-image img.thumb.blurred', WAIT);
    await page.waitForFunction(
      "document.querySelector('.channel-image img.thumb')?.naturalWidth > 0",
      undefined,
      WAIT,
    );
    await (await page.$('.channel-image figure.media'))?.screenshot({ path: BLURRED_SCREENSHOT });
    await thumb.click();
    await page.waitForSelector('.channel-image img.thumb:not(.blurred)', WAIT);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.byteLength).toBeGreaterThan(10_000);
  });

  it('the media route serves only the claimed item’s own media to its reviewer', async () => {
    const source = encodeURIComponent(items.image.object);
    const media = (key: string, id = items.image.id, src = source) =>
      fetch(`${api.url}/review/media?id=${id}&source=${src}`, {
        headers: { authorization: `Bearer ${key}` },
      });
    const mine = await media(REVIEWER.key);
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toBe('image/png');
    expect(
      createHash('sha256')
        .update(Buffer.from(await mine.arrayBuffer()))
        .digest('hex'),
    ).toBe(items.image.signals?.find((s) => s.signalType === 'sha256')?.signal);
    expect((await media(OTHER.key)).status).toBe(403);
    expect((await media(api.key)).status).toBe(403);
    expect((await media('nope')).status).toBe(401);
    expect((await media(REVIEWER.key, items.first.id)).status).toBe(403);
    expect(
      (
        await media(
          REVIEWER.key,
          items.image.id,
          encodeURIComponent(`s3://${stack.bucket}/uploads/other.png`),
        )
      ).status,
    ).toBe(404);
  });

  it('b then Enter blocks it with the prefilled reason; it leaves the queue and the next item opens', async () => {
    await page.keyboard.press('b');
    await expect.poll(() => page.inputValue('#reason'), WAIT).toBe('blocked in review');
    const decided = page.waitForResponse((r) => r.url().endsWith('/decision'), WAIT);
    await page.keyboard.press('Enter');
    expect((await decided).status()).toBe(200);
    await page.waitForSelector(`.queue-item[data-id="${items.image.id}"]`, { state: 'detached', ...WAIT });
    // The next item (round to the oldest) opens and is claimed.
    await page.waitForSelector(`.item-view[data-id="${items.first.id}"] .claim-held`, WAIT);
    const final = await verdict(items.image.id);
    expect(final.decision).toBe('review');
    expect(final.finalDecision).toBe('block');
    expect(final.review).toMatchObject({
      reviewer: REVIEWER.name,
      reason: 'blocked in review',
      kind: 'review',
    });
    expect(await queueIds()).not.toContain(items.image.id);
    expect(await page.textContent('.channel-text mark.term')).toBe(TERM);
    expect(await page.textContent('.channel-text')).toContain('chars 0–');
  });

  it('s skips to the next item and gives the claim back; a then an edited reason and Enter allows it', async () => {
    const released = page.waitForResponse((r) => r.url().endsWith(`/${items.first.id}/release`), WAIT);
    await page.keyboard.press('s');
    expect((await released).status()).toBe(200);
    // Released: back in the queue for every reviewer at once, not hidden until the lease runs out.
    expect(await queueIds()).toContain(items.first.id);
    await page.waitForSelector(`.item-view[data-id="${items.second.id}"] .claim-held`, WAIT);
    expect(await page.getAttribute(`.queue-item[data-id="${items.first.id}"]`, 'class')).toContain('skipped');
    await page.keyboard.press('a');
    await expect.poll(() => page.inputValue('#reason'), WAIT).toBe('allowed in review');
    // The prefilled reason is focused and selected (after a render on a slow machine): typing replaces it.
    // (page.evaluate, not waitForFunction: the console's CSP forbids the eval that polling uses.)
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            // Runs in the page; the test's own types have no DOM, so the input is described here.
            type Input = {
              id: string;
              value: string;
              selectionStart: number | null;
              selectionEnd: number | null;
            };
            const el = (globalThis as unknown as { document: { activeElement: Input | null } }).document
              .activeElement;
            return el?.id === 'reason' && el.selectionStart === 0 && el.selectionEnd === el.value.length;
          }),
        WAIT,
      )
      .toBe(true);
    await page.keyboard.type('a choir, not a slur');
    const decided = page.waitForResponse((r) => r.url().endsWith('/decision'), WAIT);
    await page.keyboard.press('Enter');
    expect((await decided).status()).toBe(200);
    await page.waitForSelector(`.queue-item[data-id="${items.second.id}"]`, { state: 'detached', ...WAIT });
    const final = await verdict(items.second.id);
    expect(final.finalDecision).toBe('allow');
    expect(final.review?.reason).toBe('a choir, not a slur');
    // The skipped item is undecided and unclaimed.
    const skippedItem = await verdict(items.first.id);
    expect(skippedItem.finalDecision).toBeUndefined();
    expect(skippedItem.lease).toBeUndefined();
  });

  it('switches to appeals: shows the appeal’s reason and the decision appealed, and decides it', async () => {
    await page.click('.kinds label:has-text("Appeals")');
    await page.waitForSelector(`.queue-item[data-id="${items.appealed.id}"]`, WAIT);
    await page.click(`.queue-item[data-id="${items.appealed.id}"]`);
    await page.waitForSelector(`.item-view[data-id="${items.appealed.id}"] .claim-held`, WAIT);
    expect(await page.textContent('.appeal-reason')).toBe('Zorblax is the name of our band');
    expect(await page.textContent('.appeal')).toContain(OTHER.name);
    // The post's image came in the API request, which is not kept: a placeholder says so.
    expect(await page.textContent('.channel-image .placeholder')).toMatch(/content not kept/i);
    await page.keyboard.press('a');
    await expect.poll(() => page.inputValue('#reason'), WAIT).toBe('allowed in appeal');
    const decided = page.waitForResponse((r) => r.url().endsWith('/decision'), WAIT);
    await page.keyboard.press('Enter');
    expect((await decided).status()).toBe(200);
    await page.waitForSelector(`.queue-item[data-id="${items.appealed.id}"]`, { state: 'detached', ...WAIT });
    const final = await verdict(items.appealed.id);
    expect(final.finalDecision).toBe('allow');
    expect(final.reviews?.map((r) => [r.reviewer, r.kind, r.decision])).toEqual([
      [OTHER.name, 'review', 'block'],
      [REVIEWER.name, 'appeal', 'allow'],
    ]);
    expect(await queueIds('appeal')).toEqual([]);
  });

  it('ran without a script error or a CSP violation in the page', () => {
    // Chromium logs the refused sign-in's 401 as a console error: that one was asked for.
    const refusedKey = /status of 401 .*\/v1\/review\/queue/;
    expect(pageErrors.filter((e) => !refusedKey.test(e))).toEqual([]);
    expect(pageErrors.filter((e) => refusedKey.test(e))).toHaveLength(1);
  });
});
