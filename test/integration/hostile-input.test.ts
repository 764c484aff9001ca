/**
 * Hostile and broken uploads, all in one run of the local stack alongside a few good ones: each gets
 * a specific `error` code (or `review`), in bounded time and memory, and the good ones are still
 * moderated. The table is the one in docs/RELIABILITY.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { ENV } from '#shared/contracts/env.ts';
import type { ErrorCode } from '#shared/domain/errors.ts';
import type { Decision, Verdict } from '#shared/domain/verdict.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { objectId } from '#shared/logging/redact.ts';
import {
  animatedImage,
  animatedWebpFrameBomb,
  deeplyNestedManifest,
  gifScriptPolyglot,
  gzipBomb,
  pngPixelBomb,
  pngZipPolyglot,
  seededBytes,
  solidJpeg,
  solidPng,
  zipBomb,
} from '#test/fixtures/hostile-inputs.ts';

interface Case {
  /** Key under uploads/hostile/. */
  key: string;
  make: () => Buffer | Promise<Buffer>;
  decision: Decision | 'not error' | 'at least review';
  code?: ErrorCode;
  contentType?: string;
  reason?: RegExp;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const text = (s: string) => Buffer.from(s, 'utf8');

// Media a post refers to go first: a post's notification may be handled as soon as it is uploaded.
const CASES: Case[] = [
  // Good items in the same batch: they must still be moderated.
  {
    key: 'good/benign.txt',
    make: () => text('Thanks for the lovely dinner, see you next week.'),
    decision: 'not error',
    contentType: 'text/plain',
  },
  { key: 'good/photo.jpg', make: () => solidJpeg(), decision: 'not error', contentType: 'image/jpeg' },
  { key: 'good/post/pic.png', make: () => solidPng(), decision: 'not error', contentType: 'image/png' },
  {
    key: 'good/ünïcödé 日本語 file +%&=.txt',
    make: () => text('A perfectly ordinary note about gardening.'),
    decision: 'not error',
    contentType: 'text/plain',
  },
  {
    key: 'good/a png named notes.txt',
    make: () => solidPng(32, 32, '#369'),
    decision: 'not error',
    contentType: 'image/png',
  },
  {
    key: 'good/bidi and zero-width.txt',
    make: () => text('hel\u200blo \u202Edlrow\u202C, caf\u0065\u0301 ｆｕｌｌｗｉｄｔｈ'),
    decision: 'not error',
    contentType: 'text/plain',
  },
  {
    key: 'good/post/post.json',
    make: () => json({ text: 'Our garden this spring', media: ['pic.png'] }),
    decision: 'not error',
  },
  {
    // Every JSON parser reads these keys as text and media: a post with its image.
    key: 'good/post/escaped-keys.json',
    make: () => text('{"\\u0074ext": "Our garden this spring", "\\u006dedia": ["pic.png"]}'),
    decision: 'not error',
    contentType: 'application/vnd.moderation.post+json',
  },
  {
    key: 'good/animated.gif',
    make: () => animatedImage('gif', 24, 96, false),
    decision: 'not error',
    contentType: 'image/gif',
  },
  // The animated-image frame bomb (issue 17): 2,000 frames of 4000×4000 in 1.4 MB, refused from its
  // header on its first delivery, with two benign uploads right behind it.
  {
    key: 'frame-bomb.webp',
    make: () => animatedWebpFrameBomb(),
    decision: 'error',
    code: 'IMAGE_TOO_MANY_FRAMES',
  },
  {
    key: 'good/after-bomb.jpg',
    make: () => solidJpeg(640, 480, '#a0522d'),
    decision: 'not error',
    contentType: 'image/jpeg',
  },
  {
    key: 'good/after-bomb.txt',
    make: () => text('Lovely weather for the match this afternoon.'),
    decision: 'not error',
    contentType: 'text/plain',
  },
  // Within the frame limit, but its 8 sampled frames would decode 356 frames of 16 MP.
  {
    key: 'frame-bomb-100.webp',
    make: () => animatedWebpFrameBomb(100),
    decision: 'error',
    code: 'DECODE_BUDGET_EXCEEDED',
  },
  // Empty, truncated, random.
  { key: 'zero-byte.txt', make: () => Buffer.alloc(0), decision: 'error', code: 'EMPTY_OBJECT' },
  { key: 'whitespace.txt', make: () => text(' \n\t\r\n  '), decision: 'error', code: 'EMPTY_OBJECT' },
  {
    key: 'truncated.jpg',
    make: async () => (await solidJpeg(400, 300)).subarray(0, 600),
    decision: 'error',
    code: 'IMAGE_DECODE_FAILED',
  },
  {
    key: 'truncated.png',
    make: async () => {
      const png = await solidPng(300, 200);
      return png.subarray(0, Math.floor(png.length / 2));
    },
    decision: 'error',
    code: 'IMAGE_DECODE_FAILED',
  },
  { key: 'random.bin', make: () => seededBytes(4096), decision: 'error', code: 'UNSUPPORTED_TYPE' },
  {
    key: 'nul-bytes.txt',
    make: () => text('hello\u0000world\u0000'),
    decision: 'error',
    code: 'UNSUPPORTED_TYPE',
  },
  {
    // Windows tools write UTF-16 with a byte-order mark: decoded and moderated like UTF-8.
    key: 'utf16le.txt',
    make: () => Buffer.from('\ufeffhello from utf-16', 'utf16le'),
    decision: 'not error',
    contentType: 'text/plain; charset=utf-16le',
  },
  {
    key: 'utf16be.txt',
    make: () => Buffer.from('\ufeffhello from utf-16', 'utf16le').swap16(),
    decision: 'not error',
    contentType: 'text/plain; charset=utf-16be',
  },
  {
    key: 'utf16-no-bom.txt',
    make: () => Buffer.from('hello from utf-16', 'utf16le'),
    decision: 'error',
    code: 'UNSUPPORTED_TYPE',
  },
  {
    key: 'invalid-utf8.txt',
    make: () => Buffer.from([0x68, 0x69, 0x20, 0xc3, 0x28, 0xa0, 0xa1, 0x20, 0xff, 0xfe]),
    decision: 'error',
    code: 'UNSUPPORTED_TYPE',
  },
  // Decompression bombs: pixels, and archives uploaded as-is.
  { key: 'pixel-bomb.png', make: () => pngPixelBomb(), decision: 'error', code: 'IMAGE_TOO_MANY_PIXELS' },
  { key: 'bomb.gz', make: () => gzipBomb(), decision: 'error', code: 'UNSUPPORTED_TYPE' },
  { key: 'bomb.zip', make: () => zipBomb(), decision: 'error', code: 'UNSUPPORTED_TYPE' },
  // Polyglots and wrong extensions.
  {
    key: 'polyglot-png-zip.png',
    make: () => pngZipPolyglot(),
    decision: 'review',
    contentType: 'image/png',
    reason: /bytes after the end of the image were not moderated/,
  },
  { key: 'gif-script.gif', make: () => gifScriptPolyglot(), decision: 'error', code: 'IMAGE_DECODE_FAILED' },
  {
    key: 'script.svg.png',
    make: () =>
      text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    decision: 'error',
    code: 'UNSUPPORTED_TYPE',
  },
  {
    key: 'document.jpg',
    make: () => text('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'),
    decision: 'error',
    code: 'UNSUPPORTED_TYPE',
  },
  // Size.
  {
    key: 'huge.bin',
    make: () => seededBytes(LIMITS.maxObjectBytes + 1024 * 1024),
    decision: 'error',
    code: 'TOO_LARGE',
  },
  {
    key: 'text-over-limit.txt',
    make: () => text('word '.repeat(Math.ceil((LIMITS.text.maxBytes * 1.5) / 5))),
    decision: 'error',
    code: 'TOO_LARGE',
  },
  {
    // One ~1 MB "word": far more windows than are scored, so part goes unscored → at least review
    // (the policy names the unscored part when the scores alone would have allowed it). The text
    // model folds the letter run to "a", which text-toxicity 2.1 still scores as harassment: it may block.
    key: 'extremely-long-text.txt',
    make: () => text('a'.repeat(LIMITS.text.maxBytes - 16)),
    decision: 'at least review',
    reason: /not scored|≥ review/,
  },
  // Post manifests: malformed, nested, oversized, and references that leave the post's folder.
  {
    key: 'posts/malformed/post.json',
    make: () => text('{"text": "hi", "media": ['),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/deep/post.json',
    make: () => deeplyNestedManifest(),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/types/post.json',
    make: () => json({ text: 5, media: 'pic.png' }),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/too-many/post.json',
    make: () =>
      json({ text: 'x', media: Array.from({ length: LIMITS.post.maxMedia + 1 }, (_, i) => `${i}.png`) }),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/long-caption/post.json',
    make: () => json({ text: 'b '.repeat(LIMITS.post.maxCaptionChars), media: [] }),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/oversized/post.json',
    make: () => json({ text: 'x', media: [], padding: 'p'.repeat(LIMITS.post.maxBytes) }),
    decision: 'error',
    code: 'TOO_LARGE',
  },
  {
    key: 'posts/missing/post.json',
    make: () => json({ text: 'look', media: ['not-uploaded.png'] }),
    decision: 'error',
    code: 'MEDIA_NOT_FOUND',
  },
  {
    key: 'posts/dotdot/post.json',
    make: () => json({ text: 'look', media: ['../../good/post/pic.png'] }),
    decision: 'error',
    code: 'MEDIA_OUTSIDE_PREFIX',
  },
  {
    key: 'posts/absolute/post.json',
    make: () => json({ text: 'look', media: ['/uploads/hostile/good/post/pic.png'] }),
    decision: 'error',
    code: 'MEDIA_OUTSIDE_PREFIX',
  },
  {
    key: 'posts/url/post.json',
    make: () => json({ text: 'look', media: ['https://example.com/cat.jpg'] }),
    decision: 'error',
    code: 'MEDIA_OUTSIDE_PREFIX',
  },
  {
    // Clients that keep the first value would show the first caption: no value is picked.
    key: 'posts/duplicate-key/post.json',
    make: () => text('{"text": "you are worthless", "text": "have a nice day", "media": []}'),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/unknown-key/post.json',
    make: () => json({ text: 'hi', comment: 'never scored' }),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/self/post.json',
    make: () => json({ text: 'look', media: ['post.json'] }),
    decision: 'error',
    code: 'INVALID_MANIFEST',
  },
  {
    key: 'posts/bomb/bomb.png',
    make: () => pngPixelBomb(),
    decision: 'error',
    code: 'IMAGE_TOO_MANY_PIXELS',
  },
  {
    key: 'posts/frame-bomb/frames.webp',
    make: () => animatedWebpFrameBomb(),
    decision: 'error',
    code: 'IMAGE_TOO_MANY_FRAMES',
  },
  {
    key: 'posts/frame-bomb/post.json',
    make: () => json({ text: 'look at this', media: ['frames.webp'] }),
    decision: 'error',
    code: 'IMAGE_TOO_MANY_FRAMES',
  },
  {
    key: 'posts/bomb/post.json',
    make: () => json({ text: 'nice', media: ['bomb.png'] }),
    decision: 'error',
    code: 'IMAGE_TOO_MANY_PIXELS',
  },
];

let stack: LocalStack;
const verdicts = new Map<string, Verdict>();
/** Upload start → verdict seen in the table, per key. */
const seenMs = new Map<string, number>();
/** The handler's log lines about each object (by pseudonym): one per delivery. */
const deliveries = new Map<string, { message: string; errorCode?: string }[]>();
const objectIds = new Map<string, string>();
let deleted: Verdict | undefined;
let wallMs = 0;
let peakRssBytes = 0;

/** While true, the functions' `moderated` / `moderation failed` lines are recorded (one per delivery). */
let recording = false;
let restoreStdout: (() => void) | undefined;

/**
 * Keeps the functions' JSON log lines out of the test output, recording their deliveries while
 * `recording`. The functions run in their own thread (local/function-runtime.ts) with the log
 * level the environment had when the stack started; their lines reach this process's stdout.
 */
function captureLogLines(): () => void {
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (!text.startsWith('{')) return write.call(process.stdout, chunk, ...rest);
    for (const line of text.split('\n')) {
      if (!recording || !line) continue;
      try {
        const entry = JSON.parse(line) as { message?: string; object?: string; errorCode?: string };
        if (entry.object && entry.message) {
          deliveries.set(entry.object, [
            ...(deliveries.get(entry.object) ?? []),
            { message: entry.message, ...(entry.errorCode && { errorCode: entry.errorCode }) },
          ]);
        }
      } catch {
        // not a log line
      }
    }
    return true;
  }) as typeof process.stdout.write;
  return () => {
    process.stdout.write = write;
  };
}

beforeAll(async () => {
  const logLevel = process.env[ENV.logLevel];
  process.env[ENV.logLevel] = 'INFO';
  restoreStdout = captureLogLines();
  try {
    stack = await startLocalStack({ visibilityTimeoutSeconds: 2 });
  } finally {
    if (logLevel === undefined) delete process.env[ENV.logLevel];
    else process.env[ENV.logLevel] = logLevel;
  }
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 50);
  recording = true;
  try {
    await uploadAndWait();
  } finally {
    recording = false;
    clearInterval(sampler);
  }
}, 240_000);

async function uploadAndWait(): Promise<void> {
  const started = performance.now();
  const refs = new Map<ObjectRef, string>();
  const uploadedAt = new Map<ObjectRef, number>();
  for (const c of CASES) {
    const body = await c.make();
    const at = performance.now();
    const ref = await stack.upload(`hostile/${c.key}`, body);
    refs.set(ref, c.key);
    uploadedAt.set(ref, at);
    objectIds.set(c.key, objectId(ref));
  }
  // Deleted before processing: S3 announced it, but it is gone when the function reads it.
  const gone: ObjectRef = {
    bucket: stack.bucket,
    key: 'uploads/hostile/deleted.txt',
    eTag: 'deadbeef',
    size: 5,
  };
  await stack.notify([gone]);
  const found = await stack.waitForVerdicts([...refs.keys(), gone], {
    timeoutMs: 150_000,
    pollMs: 100,
    onVerdict: (ref) => {
      const key = refs.get(ref);
      if (key) seenMs.set(key, performance.now() - (uploadedAt.get(ref) ?? started));
    },
  });
  wallMs = performance.now() - started;
  for (const [ref, verdict] of found) {
    if (ref === gone) deleted = verdict;
    else verdicts.set(refs.get(ref) as string, verdict);
  }
}

afterAll(async () => {
  // RELIABILITY_REPORT=1 prints what each input got (docs/RELIABILITY.md quotes it).
  if (process.env.RELIABILITY_REPORT) {
    const rows = [...verdicts].map(([key, v]) => ({
      key,
      decision: v.decision,
      code: v.error?.code,
      reasons: v.reasons.join('; ').slice(0, 80),
      totalMs: v.timings.totalMs,
      seenMs: Math.round(seenMs.get(key) ?? -1),
      deliveries: deliveries.get(objectIds.get(key) ?? '')?.length,
    }));
    process.stderr.write(
      `${JSON.stringify({ wallMs: Math.round(wallMs), peakRssMiB: Math.round(peakRssBytes / 2 ** 20), deleted: deleted?.error?.code, rows })}\n`,
    );
  }
  await stack?.stop();
  restoreStdout?.();
});

describe('hostile and broken input, one batch on the local stack', () => {
  it('gives every upload exactly one verdict', () => {
    expect([...verdicts.keys()].sort()).toEqual(CASES.map((c) => c.key).sort());
  });

  it.each(CASES)('$key → $decision $code', (c) => {
    const verdict = verdicts.get(c.key);
    expect(verdict, `no verdict for ${c.key}`).toBeDefined();
    const v = verdict as Verdict;
    if (c.decision === 'not error') expect(v.decision, JSON.stringify(v.error)).not.toBe('error');
    else if (c.decision === 'at least review') expect(['review', 'block']).toContain(v.decision);
    else expect(v.decision, JSON.stringify(v.error ?? v.reasons)).toBe(c.decision);
    if (c.code) expect(v.error?.code).toBe(c.code);
    if (c.decision !== 'error') expect(v.error).toBeUndefined();
    if (c.contentType) expect(v.contentType).toBe(c.contentType);
    if (c.reason) expect(v.reasons.join('; ')).toMatch(c.reason);
    expect(v.object).toBe(`s3://${stack.bucket}/uploads/hostile/${c.key}`);
  });

  it.each([
    'frame-bomb.webp',
    'frame-bomb-100.webp',
  ])('gives the frame bomb %s its error verdict on its first delivery', (key) => {
    // One delivery, logged as `moderated` with the budget's code: no failed delivery before it.
    expect(deliveries.get(objectIds.get(key) ?? '')).toEqual([
      { message: 'moderated', errorCode: verdicts.get(key)?.error?.code },
    ]);
    expect(verdicts.get(key)?.error?.message).toMatch(/limit|budget/);
  });

  it('records an object deleted before processing as OBJECT_NOT_FOUND', () => {
    expect(deleted?.decision).toBe('error');
    expect(deleted?.error?.code).toBe('OBJECT_NOT_FOUND');
  });

  it('fuses a good post in the same batch', () => {
    const post = verdicts.get('good/post/post.json');
    expect(Object.keys(post?.modalities ?? {}).sort()).toEqual(['image', 'text']);
    const escaped = verdicts.get('good/post/escaped-keys.json');
    expect(Object.keys(escaped?.modalities ?? {}).sort()).toEqual(['image', 'text']);
  });

  it('names the duplicate key of a manifest', () => {
    expect(verdicts.get('posts/duplicate-key/post.json')?.error?.message).toMatch(/"text" more than once/);
  });

  it('stays within sanity caps on time and memory (not a performance assertion)', () => {
    // The bombs would take gigabytes and minutes if decoded; the caps are far above a healthy run.
    expect(wallMs).toBeLessThan(150_000);
    for (const [key, v] of verdicts) expect(v.timings.totalMs ?? 0, key).toBeLessThan(60_000);
    expect(peakRssBytes).toBeLessThan(2.5 * 1024 ** 3);
  });
});
