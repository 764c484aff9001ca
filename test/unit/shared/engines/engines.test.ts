import { describe, expect, it } from 'vitest';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createEngines, UnknownEngineError } from '#shared/engines/engines.ts';
import { LONG_MEDIA_LIMITS } from '#shared/ingest/limits.ts';

describe('engines', () => {
  it('reject an unknown engine name at creation, with the known ones', () => {
    expect(() => createEngines(readEngineConfig({ OCR_ENGINE: 'paddle' }))).toThrow(
      /unknown OCR_ENGINE "paddle"; known: tesseract, none/,
    );
    expect(() => createEngines(readEngineConfig({ SPEECH_ENGINE: 'kaldi' }))).toThrow(UnknownEngineError);
    expect(() => createEngines(readEngineConfig({ SPEECH_ENGINE: 'whisper' }))).toThrow(/WHISPER_MODEL_DIR/);
    expect(() => createEngines(readEngineConfig({ SPEECH_KEYWORDS: 'vosk' }))).toThrow(
      /unknown SPEECH_KEYWORDS "vosk"; known: pocketsphinx, none/,
    );
  });

  it('create each engine once and reuse it', async () => {
    const engines = createEngines(readEngineConfig({ SPEECH_ENGINE: 'none' }));
    const ocr = engines.ocr();
    expect(ocr?.name).toMatch(/^tesseract/);
    expect(engines.ocr()).toBe(ocr);
    const speech = await engines.speech();
    expect(speech.recognizer).toBeUndefined();
    expect(await engines.speech()).toBe(speech);
    await ocr?.close();
  });

  it('carry the configured tools and the limits of their mode', () => {
    const config = readEngineConfig({
      OCR_ENGINE: 'none',
      FFMPEG_PATH: '/opt/ffmpeg',
      FFPROBE_PATH: '/opt/ffprobe',
    });
    const long = createEngines(config, 'long');
    expect(long.ocr()).toBeUndefined();
    expect(long.media).toEqual({ ffmpeg: '/opt/ffmpeg', ffprobe: '/opt/ffprobe' });
    expect(long.mode).toBe('long');
    expect(long.limits).toBe(LONG_MEDIA_LIMITS);
    expect(createEngines(config).limits.audio.maxSyncDurationS).toBeLessThan(
      LONG_MEDIA_LIMITS.audio.maxSyncDurationS,
    );
  });
});
