/**
 * The asynchronous path for long media through the whole local pipeline: the synchronous handler
 * finds a video longer than its limit from the probe, forwards the notification to the long-media
 * queue and writes nothing; the same handler in long mode (its own queue and event source) writes
 * the one verdict. Media over the long-media limits ends as a `TOO_LONG` error verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { LIMITS, LONG_MEDIA_LIMITS } from '#shared/ingest/limits.ts';
import { ffmpegOutput } from '#test/fixtures/media/generate.ts';
import { messagesLeftAfter, messagesOn } from '#test/fixtures/queues.ts';

const VIDEO_S = LIMITS.video.maxSyncDurationS + 5;
const AUDIO_S = LONG_MEDIA_LIMITS.audio.maxSyncDurationS + 30;

let stack: LocalStack;
const verdicts = new Map<string, Verdict>();

beforeAll(async () => {
  const [video, audio] = await Promise.all([
    // Tiny frames and a tone: fast to make and to moderate, but past the synchronous video limit.
    ffmpegOutput('mp4', (out) => [
      ...['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=5:duration=${VIDEO_S}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=16000:duration=${VIDEO_S}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k'],
      ...['-shortest', out],
    ]),
    // Past even the long-media audio limit (8 kbit/s mp3: ~1 MB).
    ffmpegOutput('mp3', (out) => [
      ...['-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=8000:duration=${AUDIO_S}`],
      ...['-ac', '1', '-b:a', '8k', out],
    ]),
  ]);
  stack = await startLocalStack();
  const videoRef = await stack.upload('long/clip.mp4', video);
  const audioRef = await stack.upload('long/talk.mp3', audio);
  const found = await stack.waitForVerdicts([videoRef, audioRef], { timeoutMs: 150_000 });
  for (const [ref, verdict] of found) verdicts.set(ref === videoRef ? 'video' : 'audio', verdict);
}, 200_000);

afterAll(async () => {
  await stack?.stop();
});

describe('long media through the asynchronous path', () => {
  it('moderates a video longer than the synchronous limit in long mode, with frames past that limit', () => {
    const verdict = verdicts.get('video');
    expect(verdict?.decision).toBeDefined();
    expect(verdict?.decision).not.toBe('error');
    expect(verdict?.contentType).toBe('video/mp4');
    // The synchronous mode would have refused it (TOO_LONG_FOR_SYNC); the long mode scored its frames.
    expect(verdict?.modalities.image?.evidence.length).toBeGreaterThan(0);
    expect(verdict?.modalities.image?.evidence.every((e) => typeof e.timestampMs === 'number')).toBe(true);
  });

  it('gives media over the long-media limit a TOO_LONG error verdict', () => {
    expect(verdicts.get('audio')).toMatchObject({ decision: 'error', error: { code: 'TOO_LONG' } });
  });

  it('leaves nothing behind on the long-media queues', async () => {
    expect(await messagesLeftAfter(stack.queues.sqs, stack.queues.longMediaUrl)).toBe(0);
    expect(await messagesOn(stack.queues.sqs, stack.queues.longMediaDeadLetterUrl)).toBe(0);
  });
});
