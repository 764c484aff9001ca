/**
 * The cloud shape of audio and video (docs/MEDIA.md, "Where media is decoded") on the emulators: with
 * `MEDIA_DECODING=forward` the ingest handler (the zip function on AWS, which has no ffmpeg) sends
 * every audio and video upload, and every post with one, to the media queue from its sniffed type;
 * the media handler (the container-image function on AWS) decodes it and writes the one verdict.
 * S3 → ingest queue → sync handler → media queue → media handler → verdict, with real ffmpeg,
 * Silero VAD, PocketSphinx, tesseract.js and the inference server.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { ENV } from '#shared/contracts/env.ts';
import { METRIC } from '#shared/contracts/metrics.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';
import { slideshow, speak } from '#test/fixtures/media/generate.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';
import { messagesLeftAfter, messagesOn } from '#test/fixtures/queues.ts';

const HATEFUL = 'I will kill you. You are a worthless idiot and everyone hates you.';
const BENIGN = 'Thank you for the lovely dinner last night, the soup was delicious.';
const HATEFUL_SIGN = 'Go back to where you came from, you worthless idiot';

let stack: LocalStack;
const verdicts = new Map<string, Verdict>();
/** The handlers' JSON log lines and metric blobs (EMF), as CloudWatch would receive them. */
const emitted: Record<string, unknown>[] = [];
const savedEnv = { log: process.env[ENV.logLevel], metrics: process.env[ENV.metricsDisabled] };

/** Keeps the handlers' JSON lines (log lines and EMF metrics) from stdout; lets the rest through. */
function captureStdout() {
  const write = process.stdout.write.bind(process.stdout);
  return vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    const lines = text.split('\n').filter((l) => l.startsWith('{'));
    const parsed = lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    if (parsed.length > 0 && parsed.length === text.trim().split('\n').length) {
      emitted.push(...parsed);
      return true;
    }
    return write(chunk as string, ...(rest as []));
  }) as typeof process.stdout.write);
}
let stdout: ReturnType<typeof captureStdout> | undefined;

beforeAll(async () => {
  const [hatefulWav, benignWav] = await Promise.all([speak(HATEFUL), speak(BENIGN)]);
  const sign = await renderSign(HATEFUL_SIGN, SIGN_STYLES[0]!);
  const blank = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#3b7dd8' } })
    .png()
    .toBuffer();
  const video = await slideshow(
    [
      { png: blank, seconds: 3 },
      { png: sign, seconds: 3 },
    ],
    benignWav,
  );
  const inputs: Record<string, Uint8Array> = {
    'speech.wav': hatefulWav,
    'clip.mp4': video,
    // A post with a spoken medium goes whole: its one verdict fuses the caption and the speech.
    'post/voice.wav': benignWav,
    'post/post.json': Buffer.from(JSON.stringify({ text: 'Listen to this', media: ['voice.wav'] })),
    // An image needs no ffmpeg: the synchronous handler keeps it.
    'still.png': blank,
  };
  // The handlers' logger and metrics are created when the stack imports them: at INFO, publishing.
  process.env[ENV.logLevel] = 'INFO';
  process.env[ENV.metricsDisabled] = 'false';
  stdout = captureStdout();
  stack = await startLocalStack({ mediaDecoding: 'forward' });
  const refs = new Map<ObjectRef, string>();
  for (const [name, bytes] of Object.entries(inputs))
    refs.set(await stack.upload(`forwarding/${name}`, bytes), name);
  const found = await stack.waitForVerdicts([...refs.keys()], { timeoutMs: 240_000 });
  for (const [ref, verdict] of found) verdicts.set(refs.get(ref)!, verdict);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  stdout?.mockRestore();
  for (const [name, value] of [
    [ENV.logLevel, savedEnv.log],
    [ENV.metricsDisabled, savedEnv.metrics],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const harm = (v: Verdict | undefined) =>
  (v?.categories.hate ?? 0) + (v?.categories.harassment ?? 0) + (v?.categories.offensive ?? 0);

describe('audio and video forwarded to the media function (MEDIA_DECODING=forward)', () => {
  it('gives every upload one verdict', () => {
    expect([...verdicts.keys()].sort()).toEqual([
      'clip.mp4',
      'post/post.json',
      'post/voice.wav',
      'speech.wav',
      'still.png',
    ]);
    for (const verdict of verdicts.values()) expect(verdict.decision).not.toBe('error');
  });

  it('forwards the WAV, the MP4 and the post (not the image) from their sniffed type, once each', () => {
    const forwarded = emitted.filter((line) => line.message === 'forwarded to the long-media queue');
    // speech.wav, clip.mp4, post/voice.wav and post/post.json; still.png stays.
    expect(forwarded).toHaveLength(4);
    for (const line of forwarded) expect(line).toMatchObject({ reason: 'needs-media-decoding' });
    // The metric, summed over the EMF blobs (a value is an array when one flush counted several).
    const counted = emitted
      .map((line) => line[METRIC.longMediaForwarded])
      .flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
      .reduce((sum: number, v) => sum + Number(v), 0);
    expect(counted).toBe(4);
  });

  it('moderates the WAV from its speech in the media function', () => {
    const verdict = verdicts.get('speech.wav');
    expect(verdict?.contentType).toBe('audio/wav');
    expect(verdict?.modelVersions['speech-to-text']).toMatch(/^pocketsphinx@/);
    const speech = verdict?.modalities.speech?.evidence ?? [];
    expect(speech.length).toBeGreaterThan(0);
    expect(speech.map((e) => e.excerpt).join(' ')).toMatch(/kill you/);
    expect(harm(verdict)).toBeGreaterThan(0.5);
    expect(verdict?.decision).not.toBe('allow');
  });

  it('moderates the MP4 from its frames and its sound track in the media function', () => {
    const verdict = verdicts.get('clip.mp4');
    expect(verdict?.contentType).toBe('video/mp4');
    const frames = verdict?.modalities.image?.evidence ?? [];
    // The first frame and the scene change to the sign at 3 s, each with its time.
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.every((e) => typeof e.timestampMs === 'number')).toBe(true);
    expect(Math.max(...frames.map((e) => e.timestampMs ?? 0))).toBeGreaterThanOrEqual(2900);
    expect(verdict?.modelVersions['speech-to-text']).toMatch(/^pocketsphinx@/);
    expect(verdict?.modalities.speech?.evidence.length).toBeGreaterThan(0);
  });

  it('fuses a forwarded post with its spoken medium into one verdict', () => {
    const post = verdicts.get('post/post.json');
    expect(post?.modalities.text?.evidence.length).toBeGreaterThan(0);
    expect(post?.modalities.speech?.evidence.length).toBeGreaterThan(0);
  });

  it('leaves nothing behind on the queues', async () => {
    expect(await messagesLeftAfter(stack.queues.sqs, stack.queues.longMediaUrl)).toBe(0);
    expect(await messagesOn(stack.queues.sqs, stack.queues.longMediaDeadLetterUrl)).toBe(0);
  });
});
