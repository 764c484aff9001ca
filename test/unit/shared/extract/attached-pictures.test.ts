/** Cover art in an audio file is shown by every player, so it is moderated as an image. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readEngineConfig } from '#shared/contracts/env.ts';
import { createEngines } from '#shared/engines/engines.ts';
import { decodeAudio } from '#shared/extract/audio.ts';
import { sniff } from '#shared/ingest/sniff.ts';
import { audioModality } from '#shared/modalities/audio.ts';
import { IMAGE_CHANNEL } from '#shared/modalities/image.ts';
import type { CollectContext } from '#shared/modalities/types.ts';

const run = promisify(execFile);

async function songWithCover(covers: number): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'cover-'));
  try {
    const inputs: string[] = [];
    const maps: string[] = ['-map', '0'];
    for (let i = 0; i < covers; i++) {
      const file = join(dir, `cover${i}.png`);
      await writeFile(
        file,
        await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: '#a33' } })
          .png()
          .toBuffer(),
      );
      inputs.push('-i', file);
      maps.push('-map', String(i + 1));
    }
    const out = join(dir, 'song.flac');
    await run('ffmpeg', [
      ...[
        '-nostdin',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=16000:duration=1',
      ],
      ...inputs,
      ...maps,
      ...['-c:a', 'flac', '-c:v', 'png', '-disposition:v', 'attached_pic', out],
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('attached pictures', () => {
  it('reads the cover of an audio file as a PNG, decoded as a player would', async () => {
    const song = await songWithCover(1);
    const audio = await decodeAudio(song, (await sniff(song)).mime);
    expect(audio.samples.length).toBeGreaterThan(0);
    expect(audio.pictures).toHaveLength(1);
    expect(await sharp(audio.pictures[0]).metadata()).toMatchObject({ format: 'png', width: 40, height: 30 });
  });

  it('puts each cover into the image channel, and says when there were more than it reads', async () => {
    const song = await songWithCover(5);
    const engines = createEngines(
      readEngineConfig({ OCR_ENGINE: 'none', SPEECH_ENGINE: 'none', SPEECH_KEYWORDS: 'none' }),
      'sync',
    );
    const ctx = { source: 's3://b/song.flac', imageSize: 64, engines } as CollectContext;
    const out = await audioModality.collect(song, await sniff(song), ctx);
    const images = out.channels[IMAGE_CHANNEL.name] ?? [];
    expect(images.map((i) => i.source)).toEqual([1, 2, 3, 4].map((n) => `s3://b/song.flac#picture-${n}`));
    expect(out.notes).toContain('1 more embedded pictures were not moderated');
    expect(out.partial).toBe(true);
  });
});
