/**
 * Container against codec: a file's brand or first stream (what file-type reads) must not hide the
 * streams a player shows. Media made at test time with Debian's ffmpeg.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModerationError } from '#shared/domain/errors.ts';
import { isoBmffTrackHandlers, oggVideoCodecs } from '#shared/ingest/containers.ts';
import { sniff } from '#shared/ingest/sniff.ts';

const run = promisify(execFile);
let dir: string;

async function make(name: string, args: string[]): Promise<Buffer> {
  const out = join(dir, name);
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args, out]);
  return readFile(out);
}

const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=1'];
const picture = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=5:duration=1'];

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ModerationError ? err.code : `not a ModerationError: ${err}`;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'containers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('what a container carries', () => {
  it('calls an MP4 branded as audio (M4A) with a video track a video', async () => {
    const branded = await make('branded.m4a', [
      ...picture,
      ...tone,
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-brand', 'M4A ', '-shortest'],
    ]);
    expect(branded.toString('latin1', 8, 12)).toBe('M4A ');
    expect(isoBmffTrackHandlers(branded).sort()).toEqual(['soun', 'vide']);
    expect(await sniff(branded)).toEqual({ kind: 'video', mime: 'video/mp4' });
    const audioOnly = await make('plain.m4a', [...tone, '-c:a', 'aac']);
    expect(await sniff(audioOnly)).toEqual({ kind: 'audio', mime: 'audio/x-m4a' });
  });

  it('refuses an Ogg file with a video stream after its sound, multiplexed or chained', async () => {
    const muxed = await make('muxed.ogg', [
      ...tone,
      ...picture,
      '-map',
      '0',
      '-map',
      '1',
      '-c:a',
      'libopus',
      '-c:v',
      'libtheora',
    ]);
    const sound = await make('sound.ogg', [...tone, '-c:a', 'libvorbis']);
    const video = await make('video.ogg', [...picture, '-c:v', 'libtheora']);
    const chained = Buffer.concat([sound, video]);
    expect(oggVideoCodecs(muxed)).toEqual(['Theora']);
    expect(oggVideoCodecs(chained)).toEqual(['Theora']);
    expect(oggVideoCodecs(sound)).toEqual([]);
    expect(await codeOf(sniff(muxed))).toBe('UNSUPPORTED_TYPE');
    expect(await codeOf(sniff(chained))).toBe('UNSUPPORTED_TYPE');
    expect(await sniff(sound)).toEqual({ kind: 'audio', mime: 'audio/ogg' });
  });

  it('walks hostile box trees in bounded time', () => {
    const box = (type: string, body: Buffer, size = 8 + body.length) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(size >>> 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, body]);
    };
    // Sizes that lie (past the end, zero, 64-bit), and a million empty boxes before the moov.
    const liar = Buffer.concat([
      box('ftyp', Buffer.from('M4A \0\0\0\0')),
      box('moov', Buffer.alloc(16), 0xffffffff),
    ]);
    expect(isoBmffTrackHandlers(liar)).toEqual([]);
    const large = Buffer.concat([box('moov', Buffer.alloc(8), 1), Buffer.from('ffffffffffffffff', 'hex')]);
    expect(isoBmffTrackHandlers(large)).toEqual([]);
    const many = Buffer.alloc(8 * 1_000_000);
    for (let at = 0; at < many.length; at += 8) {
      many.writeUInt32BE(8, at);
      many.write('free', at + 4, 'latin1');
    }
    const trak = box(
      'trak',
      box('mdia', box('hdlr', Buffer.concat([Buffer.alloc(8), Buffer.from('vide'), Buffer.alloc(12)]))),
    );
    const started = performance.now();
    expect(isoBmffTrackHandlers(Buffer.concat([many, box('moov', trak)]))).toEqual(['vide']);
    expect(oggVideoCodecs(Buffer.from('OggS'.repeat(1_000_000)))).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
