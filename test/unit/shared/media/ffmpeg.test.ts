import { describe, expect, it } from 'vitest';
import { audioDecodeArgs, decodeAudio } from '#shared/extract/audio.ts';
import { frameFilter, frameSampleArgs, parseShowinfoTimes } from '#shared/extract/video.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import {
  inputArgs,
  MediaDecodeError,
  MediaTimeoutError,
  MediaToolError,
  MediaToolMissingError,
  runTool,
} from '#shared/media/ffmpeg.ts';

describe('ffmpeg argument safety', () => {
  it('forces the demuxer, whitelists local protocols and reads the input as a file: URL', () => {
    const args = inputArgs('wav', '/tmp/x/input');
    expect(args).toEqual(['-protocol_whitelist', 'file,pipe', '-f', 'wav', '-i', 'file:/tmp/x/input']);
    // A path that looks like an option or a protocol stays a path.
    expect(inputArgs('mp3', '-i http://evil').at(-1)).toBe('file:-i http://evil');
  });

  it('turns off the mov demuxer’s external data references', () => {
    expect(inputArgs('mov', '/in')).toEqual(expect.arrayContaining(['-enable_drefs', '0', '-f', 'mov']));
  });

  it('refuses demuxers that could open other files (playlists, concat lists, image patterns)', () => {
    for (const demuxer of ['hls', 'concat', 'image2', 'lavfi', 'tee']) {
      expect(() => inputArgs(demuxer, '/in')).toThrow(MediaToolError);
    }
  });

  it('decodes with no stdin, a duration cap past the limit and only the first audio stream', () => {
    const args = audioDecodeArgs('ogg', '/in', 120);
    expect(args[0]).toBe('-nostdin');
    expect(args).toEqual(
      expect.arrayContaining(['-t', '121', '-map', '0:a:0', '-ac', '1', '-ar', '16000', '-f', 'f32le']),
    );
    expect(args.at(-1)).toBe('pipe:1');
    expect(args.indexOf('-t')).toBeGreaterThan(args.indexOf('-i'));
  });

  it('samples frames at scene changes with a floor rate and a frame cap', () => {
    const filter = frameFilter(LIMITS.video);
    expect(filter).toContain('gt(scene,0.3)');
    expect(filter).toContain('gte(t-prev_selected_t,2)');
    expect(filter).toContain('min(960,iw)');
    const args = frameSampleArgs('matroska', '/in', '/out', 60, LIMITS.video);
    expect(args).toEqual(
      expect.arrayContaining(['-frames:v', '32', '-fps_mode', 'vfr', '-map', '0:v:0', '-an']),
    );
    expect(args.at(-1)).toBe('/out/frame-%03d.png');
  });

  it('reads frame times from showinfo lines', () => {
    const log = [
      '[Parsed_showinfo_2 @ 0x1] n:   0 pts:      0 pts_time:0       duration:512',
      'frame=    1 fps=0.0 q=-0.0 size=N/A',
      '[Parsed_showinfo_2 @ 0x1] n:   1 pts:  25600 pts_time:2.04    duration:512',
    ].join('\n');
    expect(parseShowinfoTimes(log)).toEqual([0, 2040]);
  });
});

describe('runTool bounds', () => {
  it('kills a run that passes its time limit', async () => {
    await expect(runTool('sleep', ['5'], { timeoutMs: 200, maxStdoutBytes: 10 })).rejects.toBeInstanceOf(
      MediaTimeoutError,
    );
  });

  it('stops reading at maxStdoutBytes', async () => {
    const { stdout, truncated } = await runTool('yes', [], { timeoutMs: 5000, maxStdoutBytes: 1000 });
    expect(truncated).toBe(true);
    expect(stdout.byteLength).toBe(1000);
  });

  it('limits the address space', async () => {
    // 64 MiB is too little for ffmpeg to even start.
    await expect(
      runTool('ffmpeg', ['-version'], { timeoutMs: 5000, maxStdoutBytes: 1 << 20, maxMemoryBytes: 64 << 20 }),
    ).rejects.toBeInstanceOf(MediaDecodeError);
    const ok = await runTool('ffmpeg', ['-version'], { timeoutMs: 5000, maxStdoutBytes: 1 << 20 });
    expect(ok.stdout.toString()).toMatch(/^ffmpeg version/);
  });

  it('tells a missing binary apart from a bad input', async () => {
    await expect(
      runTool('no-such-ffmpeg', [], { timeoutMs: 1000, maxStdoutBytes: 10 }),
    ).rejects.toBeInstanceOf(MediaToolMissingError);
  });

  it('never follows a concat list dressed as a WAV file', async () => {
    const list = Buffer.from('ffconcat version 1.0\nfile /etc/passwd\n');
    await expect(decodeAudio(list, 'audio/wav')).rejects.toMatchObject({ code: 'AUDIO_DECODE_FAILED' });
  });
});
