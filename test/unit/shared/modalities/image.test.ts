import { describe, expect, it } from 'vitest';
import { sniff } from '#shared/ingest/sniff.ts';
import { imageModality } from '#shared/modalities/image.ts';
import type { CollectContext, ImageItem } from '#shared/modalities/types.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { ffmpegOutput } from '#test/fixtures/media/generate.ts';

describe('animated images', () => {
  it('moderates frames of an animated GIF spread over its running time, with their timestamps', async () => {
    // 1 s red, then 1 s blue, at 10 frames per second.
    const gif = await ffmpegOutput('gif', (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=c=red:size=48x48:rate=10:duration=1',
      '-f',
      'lavfi',
      '-i',
      'color=c=blue:size=48x48:rate=10:duration=1',
      '-filter_complex',
      '[0:v][1:v]concat=n=2:v=1:a=0',
      out,
    ]);
    expect(await sniff(gif)).toEqual({ kind: 'image', mime: 'image/gif' });
    const ctx = {
      source: 'src',
      imageSize: 16,
      engines: testEngines('sync', { ocr: () => undefined }),
    } as CollectContext;
    const collected = await imageModality.collect(gif, { kind: 'image', mime: 'image/gif' }, ctx);
    const images = (collected.channels.image ?? []) as ImageItem[];
    // Page 0 is the image itself (no time); then 7 more of the 8 picked frames, in time order.
    expect(images).toHaveLength(8);
    expect(images[0]?.timestampMs).toBeUndefined();
    const extras = { images: images.slice(1) };
    const times = extras.images.map((i) => i.timestampMs ?? -1);
    expect(times).toHaveLength(7);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThan(0);
    expect(times.at(-1)).toBeGreaterThanOrEqual(1500);
    const last = extras.images.at(-1)?.pixels ?? new Uint8Array();
    expect(last[2]).toBeGreaterThan(200); // blue
    expect(last[0]).toBeLessThan(60);
    expect(extras.images[0]?.pixels[0]).toBeGreaterThan(200); // red
  });
});
