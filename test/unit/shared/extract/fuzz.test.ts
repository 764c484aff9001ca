/**
 * Property-based fuzzing of the path every upload takes before any model sees it: sniff → the
 * modality's extraction (shared/moderation/collect.ts), for every modality, on valid seeds that are
 * truncated, bit-flipped and spliced into each other. Every case must end in model inputs (which
 * become a verdict) or a `ModerationError` with a known code — never another exception, which
 * would be retried as a dependency failure and dead-lettered — within its time budget, and the
 * process's memory must stay bounded. `FUZZ_RUNS=<n>` scales the run, `FUZZ_SEED=<n>` replays one,
 * `FUZZ_REPORT=1` prints the outcome table (docs/RELIABILITY.md, "Input interpretation").
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { ERROR_CODES, ModerationError } from '#shared/domain/errors.ts';
import { createEngines, type Engines } from '#shared/engines/engines.ts';
import { LIMITS, mediaLimits } from '#shared/ingest/limits.ts';
import { sniff } from '#shared/ingest/sniff.ts';
import { collect, inlineObjects } from '#shared/moderation/collect.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
/**
 * Decode limit for audio and video in this run: the pipeline's is 60 s; this one still lets a seed
 * decode on a loaded 2-core machine (ffmpeg takes ~0.3 s just to start there).
 */
const MEDIA_TIMEOUT_MS = 15_000;

type Family = 'text' | 'post' | 'image' | 'audio' | 'video';

interface Seed {
  name: string;
  family: Family;
  bytes: Buffer;
}

/** Wall-clock budget of one case: the limits that bound its slowest step, plus scheduling slack. */
const BUDGET_MS: Record<Family, number> = {
  text: 2_000,
  // A post's media are images here (its referenced object is the PNG seed).
  post: 2_000 + LIMITS.image.decodeTimeoutMs,
  image: 2_000 + LIMITS.image.decodeTimeoutMs,
  // probe, decode and cover art (audio), or probe, frames and sound track (video), each under the limit.
  audio: 2_000 + LIMITS.image.decodeTimeoutMs + 3 * MEDIA_TIMEOUT_MS,
  video: 2_000 + 3 * MEDIA_TIMEOUT_MS,
};

const seeds: Seed[] = [];
const bucket = new Map<string, Uint8Array>();
let engines: Engines;
const outcomes = new Map<string, Map<string, number>>();
let cases = 0;
let slowestMs = 0;
const familyMs = new Map<Family, number>();
let baselineRss = 0;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);

/** The output of one ffmpeg command in a temp folder, with `inputs` written there first. */
async function ffmpegSeed(
  ext: string,
  args: (dir: string) => string[],
  inputs: Record<string, Uint8Array> = {},
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-seed-'));
  try {
    for (const [name, bytes] of Object.entries(inputs)) await writeFile(join(dir, name), bytes);
    const out = join(dir, `seed.${ext}`);
    await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args(dir), out]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeSeeds(): Promise<void> {
  const text = 'Thanks for the lovely dinner! Grüße, 日本語, emoji 😀 and a second line.\nSee you soon.';
  const add = (name: string, family: Family, bytes: Buffer) => seeds.push({ name, family, bytes });
  add('utf8.txt', 'text', Buffer.from(text));
  add('utf16le.txt', 'text', Buffer.from(`\ufeff${text}`, 'utf16le'));
  add('utf16be.txt', 'text', Buffer.from(`\ufeff${text}`, 'utf16le').swap16());
  add('post.json', 'post', Buffer.from(JSON.stringify({ text: 'Our garden', media: ['pic.png'] })));
  add('escaped-post.json', 'post', Buffer.from('{"\\u0074ext": "caption", "\\u006dedia": ["pic.png"]}'));
  add(
    'utf16-post.json',
    'post',
    Buffer.from(`\ufeff${JSON.stringify({ text: 'hi', media: [] })}`, 'utf16le'),
  );

  const frame = (colour: string) =>
    sharp({ create: { width: 48, height: 32, channels: 3, background: colour } })
      .png()
      .toBuffer();
  const frames = await Promise.all(['#c33', '#3c3', '#33c'].map(frame));
  const png = frames[0] as Buffer;
  add('still.png', 'image', png);
  add('still.jpg', 'image', await sharp(png).jpeg().toBuffer());
  add('still.webp', 'image', await sharp(png).webp().toBuffer());
  add('still.tiff', 'image', await sharp(png).tiff().toBuffer());
  add('still.avif', 'image', await sharp(png).avif({ effort: 0 }).toBuffer());
  add(
    'animated.gif',
    'image',
    await sharp(frames, { join: { animated: true } })
      .gif({ delay: [100, 100, 100] })
      .toBuffer(),
  );
  add(
    'animated.webp',
    'image',
    await sharp(frames, { join: { animated: true } })
      .webp({ delay: [100, 100, 100] })
      .toBuffer(),
  );
  bucket.set('fuzz/pic.png', png);

  const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=1'];
  const picture = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=5:duration=1'];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];
  add('tone.wav', 'audio', await ffmpegSeed('wav', () => tone));
  add('tone.mp3', 'audio', await ffmpegSeed('mp3', () => tone));
  add('tone.ogg', 'audio', await ffmpegSeed('ogg', () => [...tone, '-c:a', 'libopus']));
  add('tone.flac', 'audio', await ffmpegSeed('flac', () => tone));
  add('tone.m4a', 'audio', await ffmpegSeed('m4a', () => [...tone, '-c:a', 'aac']));
  // Cover art (an attached picture, moderated as an image) and a video whose brand says audio.
  const withCover = (dir: string) => [...tone, '-i', join(dir, 'cover.png'), '-map', '0', '-map', '1'];
  add(
    'cover.mp3',
    'audio',
    await ffmpegSeed('mp3', (dir) => [...withCover(dir), '-c:v', 'mjpeg', '-disposition:v', 'attached_pic'], {
      'cover.png': png,
    }),
  );
  add(
    'clip.mp4',
    'video',
    await ffmpegSeed('mp4', () => [...picture, ...tone, ...h264, '-c:a', 'aac', '-shortest']),
  );
  add(
    'brand-m4a.m4a',
    'video',
    await ffmpegSeed('m4a', () => [
      ...picture,
      ...tone,
      ...h264,
      '-c:a',
      'aac',
      '-brand',
      'M4A ',
      '-shortest',
    ]),
  );
  add(
    'clip.webm',
    'video',
    await ffmpegSeed('webm', () => [
      ...picture,
      ...tone,
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-c:a',
      'libopus',
      '-shortest',
    ]),
  );
}

/** The post's medium (and nothing else: any other reference is missing). */
const objects = inlineObjects(bucket);

type Mutation =
  | { kind: 'as is' }
  | { kind: 'truncated'; at: number }
  | { kind: 'bit-flipped'; bits: number[] }
  | { kind: 'spliced'; other: number; at: number; from: number };

function mutate(seed: Seed, mutation: Mutation): Buffer {
  const { bytes } = seed;
  switch (mutation.kind) {
    case 'as is':
      return bytes;
    case 'truncated':
      return bytes.subarray(0, mutation.at % bytes.length);
    case 'bit-flipped': {
      const out = Buffer.from(bytes);
      for (const bit of mutation.bits) {
        const i = Math.floor(bit / 8) % out.length;
        out[i] = (out[i] as number) ^ (1 << (bit % 8));
      }
      return out;
    }
    case 'spliced': {
      // The head of one seed and the tail of another: a header that promises what the body is not.
      const other = (seeds[mutation.other % seeds.length] as Seed).bytes;
      return Buffer.concat([
        bytes.subarray(0, mutation.at % bytes.length),
        other.subarray(mutation.from % other.length),
      ]);
    }
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'as is' }) },
  { weight: 3, arbitrary: fc.nat().map((at): Mutation => ({ kind: 'truncated', at })) },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.nat(), { minLength: 1, maxLength: 24 })
      .map((bits): Mutation => ({ kind: 'bit-flipped', bits })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ other: fc.nat(), at: fc.nat(), from: fc.nat() })
      .map((s): Mutation => ({ kind: 'spliced', ...s })),
  },
);

/** One case through sniff → extraction: its outcome (`collected` or an error code), or a thrown failure. */
async function moderateCase(seed: Seed, m: Mutation): Promise<string> {
  const bytes = mutate(seed, m);
  const started = performance.now();
  let outcome: string;
  try {
    await collect(bytes, { objects, key: 'fuzz/upload', imageSize: 224, engines });
    outcome = 'collected';
  } catch (err) {
    if (!(err instanceof ModerationError)) {
      throw new Error(`${seed.name} ${m.kind}: not a ModerationError: ${(err as Error).stack ?? err}`);
    }
    if (!(err.code in ERROR_CODES)) throw new Error(`${seed.name} ${m.kind}: unknown code ${err.code}`);
    outcome = err.code;
  }
  const ms = performance.now() - started;
  slowestMs = Math.max(slowestMs, ms);
  familyMs.set(seed.family, (familyMs.get(seed.family) ?? 0) + ms);
  if (ms > BUDGET_MS[seed.family]) {
    throw new Error(
      `${seed.name} ${m.kind}: ${Math.round(ms)} ms, over its ${BUDGET_MS[seed.family]} ms budget`,
    );
  }
  cases++;
  const row = `${seed.family} ${m.kind}`;
  const counts = outcomes.get(row) ?? new Map<string, number>();
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  outcomes.set(row, counts);
  return outcome;
}

/**
 * `numRuns` properties over the seeds of `families`, each a batch of `parallel` cases run at once
 * (media cases wait on ffmpeg processes, so a batch keeps both cores busy).
 */
function fuzz(families: Family[], numRuns: number, parallel = 1) {
  const pool = () => seeds.filter((s) => families.includes(s.family));
  const oneCase = fc.tuple(fc.nat(), mutation);
  return fc.assert(
    fc.asyncProperty(fc.array(oneCase, { minLength: parallel, maxLength: parallel }), async (batch) => {
      const candidates = pool();
      await Promise.all(
        batch.map(([pick, m]) => moderateCase(candidates[pick % candidates.length] as Seed, m)),
      );
    }),
    { numRuns: Math.max(1, Math.round(numRuns * RUNS)), seed: SEED, endOnFailure: true },
  );
}

beforeAll(async () => {
  await makeSeeds();
  // OCR, speech-to-text and keyword spotting read decoded pixels and PCM, not the upload's bytes: off here, so the
  // run spends its time in the parsers. Voice activity detection stays on.
  const base = createEngines(
    readEngineConfig({ OCR_ENGINE: 'none', SPEECH_ENGINE: 'none', SPEECH_KEYWORDS: 'none' }),
    'sync',
  );
  const limits = mediaLimits('sync');
  engines = {
    ...base,
    limits: {
      audio: { ...limits.audio, decodeTimeoutMs: MEDIA_TIMEOUT_MS },
      video: { ...limits.video, decodeTimeoutMs: MEDIA_TIMEOUT_MS },
    },
  };
  baselineRss = process.memoryUsage().rss;
}, 60_000);

afterAll(() => {
  clearInterval(sampler);
  if (!process.env.FUZZ_REPORT) return;
  const rows = [...outcomes].sort(([a], [b]) => a.localeCompare(b));
  const table = rows.map(
    ([row, counts]) => `| ${row} | ${[...counts].map(([o, n]) => `${o} ${n}`).join(', ')} |`,
  );
  process.stderr.write(
    `fuzz: ${cases} cases, seed ${SEED}, slowest ${Math.round(slowestMs)} ms, peak RSS +${Math.round((peakRss - baselineRss) / 2 ** 20)} MiB, ms by family ${JSON.stringify(Object.fromEntries([...familyMs].map(([f, ms]) => [f, Math.round(ms)])))}\n${table.join('\n')}\n`,
  );
});

describe('fuzzing sniff → extraction (truncated, bit-flipped, spliced inputs)', () => {
  it('seeds cover every modality and each is read as what it is', async () => {
    expect(new Set(seeds.map((s) => s.family))).toEqual(new Set(['text', 'post', 'image', 'audio', 'video']));
    const kinds = await Promise.all(seeds.map(async (s) => (await sniff(s.bytes)).kind));
    expect(Object.fromEntries(seeds.map((s, i) => [s.name, kinds[i]]))).toEqual(
      Object.fromEntries(seeds.map((s) => [s.name, s.family === 'post' ? 'post' : s.family])),
    );
    // Every text, post and image seed all the way through; of the media (ffmpeg is slow to start),
    // the two that exercise the container checks: cover art, and a video branded as audio.
    const full = seeds.filter(
      (s) => !['audio', 'video'].includes(s.family) || ['cover.mp3', 'brand-m4a.m4a'].includes(s.name),
    );
    const results = await Promise.all(full.map((s) => moderateCase(s, { kind: 'as is' })));
    expect(Object.fromEntries(full.map((s, i) => [s.name, results[i]]))).toEqual(
      Object.fromEntries(full.map((s) => [s.name, 'collected'])),
    );
  }, 60_000);

  it('text and posts: a verdict or a specific error, within budget', async () => {
    await fuzz(['text', 'post'], 1000);
  }, 60_000);

  it('images: a verdict or a specific error, within budget', async () => {
    await fuzz(['image'], 200);
  }, 120_000);

  it('audio and video: a verdict or a specific error, within budget', async () => {
    await fuzz(['audio', 'video'], 4, 3);
  }, 240_000);

  it('keeps the process memory bounded', () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    expect(peakRss - baselineRss).toBeLessThan(768 * 2 ** 20);
  });
});
