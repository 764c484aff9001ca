/**
 * Audio, video and text in images through the whole local pipeline (s3rver → fauxqs → the real
 * handler → ffmpeg, Silero VAD, PocketSphinx, tesseract.js → the inference server → dynalite), on
 * media generated here: flite speech, ffmpeg slideshows, sharp-rendered signs. No mocks.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import type { ObjectRef } from '#shared/events/s3-notification.ts';
import { convert, slideshow, speak } from '#test/fixtures/media/generate.ts';
import { renderSign, SIGN_STYLES } from '#test/fixtures/media/signs.ts';

const HATEFUL = 'I will kill you. You are a worthless idiot and everyone hates you.';
const BENIGN = 'Thank you for the lovely dinner last night, the soup was delicious.';
const HATEFUL_SIGN = 'Go back to where you came from, you worthless idiot';
const BENIGN_SIGN = 'Fresh bread and coffee every morning';

let stack: LocalStack;
const verdicts = new Map<string, Verdict>();

beforeAll(async () => {
  const [hatefulWav, benignWav] = await Promise.all([speak(HATEFUL), speak(BENIGN)]);
  const style = SIGN_STYLES[0]!;
  const [hatefulSign, benignSign] = await Promise.all([
    renderSign(HATEFUL_SIGN, style),
    renderSign(BENIGN_SIGN, style),
  ]);
  const blank = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#3b7dd8' } })
    .png()
    .toBuffer();
  const video = await slideshow(
    [
      { png: blank, seconds: 3 },
      { png: hatefulSign, seconds: 3 },
    ],
    benignWav,
  );
  const inputs: Record<string, Uint8Array> = {
    'hateful.wav': hatefulWav,
    'benign.wav': benignWav,
    'hateful.mp3': await convert(hatefulWav, 'mp3'),
    'benign.mp3': await convert(benignWav, 'mp3'),
    'sign-hateful.png': hatefulSign,
    'sign-benign.png': benignSign,
    'clip.mp4': video,
    // A WAV header followed by garbage, and an mp4 cut in half (no index): both sniff as media.
    'corrupt.wav': Buffer.concat([hatefulWav.subarray(0, 44), Buffer.alloc(2000, 0x5a)]).fill(0xff, 20, 24),
    'corrupt.mp4': video.subarray(0, Math.floor(video.byteLength / 2)),
  };
  stack = await startLocalStack();
  const refs = new Map<ObjectRef, string>();
  for (const [name, bytes] of Object.entries(inputs))
    refs.set(await stack.upload(`media/${name}`, bytes), name);
  const found = await stack.waitForVerdicts([...refs.keys()], { timeoutMs: 240_000 });
  for (const [ref, verdict] of found) verdicts.set(refs.get(ref)!, verdict);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const harm = (v: Verdict) =>
  (v.categories.hate ?? 0) + (v.categories.harassment ?? 0) + (v.categories.offensive ?? 0);

describe('media through the local pipeline', () => {
  it('gives every upload a verdict', () => {
    expect([...verdicts.keys()].sort()).toEqual([
      'benign.mp3',
      'benign.wav',
      'clip.mp4',
      'corrupt.mp4',
      'corrupt.wav',
      'hateful.mp3',
      'hateful.wav',
      'sign-benign.png',
      'sign-hateful.png',
    ]);
  });

  it.each(['wav', 'mp3'])('scores a spoken hateful sentence above a spoken benign one (%s)', (ext) => {
    const hateful = verdicts.get(`hateful.${ext}`)!;
    const benign = verdicts.get(`benign.${ext}`)!;
    expect(hateful.decision).not.toBe('error');
    expect(hateful.contentType).toMatch(/^audio\//);
    expect(hateful.score).toBeGreaterThan(benign.score);
    expect(harm(hateful)).toBeGreaterThan(harm(benign));
    expect(benign.decision).toBe('allow');
    const evidence = hateful.modalities.speech?.evidence[0];
    expect(evidence?.excerpt).toMatch(/kill|worthless|idiot|hates/);
    expect(evidence?.timeRangeMs?.[1]).toBeGreaterThan(evidence?.timeRangeMs?.[0] ?? Infinity);
    expect(hateful.modelVersions['speech-to-text']).toMatch(/^pocketsphinx@/);
    expect(hateful.modelVersions['keyword-spotting']).toMatch(/^pocketsphinx-kws@/);
  });

  it('scores an image of hateful text above an image of benign text, with the OCR text as evidence', () => {
    const hateful = verdicts.get('sign-hateful.png')!;
    const benign = verdicts.get('sign-benign.png')!;
    expect(harm(hateful)).toBeGreaterThan(harm(benign));
    expect(hateful.score).toBeGreaterThan(benign.score);
    expect(hateful.modalities.ocr?.evidence[0]?.excerpt).toMatch(/worthless idiot/);
    expect(benign.modalities.ocr?.evidence[0]?.excerpt).toMatch(/bread and coffee/);
  });

  it('moderates a video by frames, text in frames and sound track, with timestamps', () => {
    const clip = verdicts.get('clip.mp4')!;
    expect(clip.decision).not.toBe('error');
    expect(Object.keys(clip.modalities).sort()).toEqual(['image', 'ocr', 'speech']);
    const frames = clip.modalities.image?.evidence ?? [];
    expect(frames.every((e) => typeof e.timestampMs === 'number')).toBe(true);
    // The hateful sign appears at 3 s: the OCR evidence that carries it says so.
    const sign = clip.modalities.ocr?.evidence.find((e) => /worthless/.test(e.excerpt ?? ''));
    expect(sign?.timestampMs).toBeGreaterThanOrEqual(2900);
    expect(sign?.timestampMs).toBeLessThan(6000);
    expect(clip.modalities.speech?.evidence[0]?.timeRangeMs?.[0]).toBeGreaterThanOrEqual(0);
    expect(harm(clip)).toBeGreaterThan(harm(verdicts.get('benign.wav')!));
  });

  it('gives corrupt audio and video an error verdict', () => {
    expect(verdicts.get('corrupt.wav')).toMatchObject({
      decision: 'error',
      error: { code: 'AUDIO_DECODE_FAILED' },
    });
    expect(verdicts.get('corrupt.mp4')).toMatchObject({
      decision: 'error',
      error: { code: 'VIDEO_DECODE_FAILED' },
    });
  });
});
