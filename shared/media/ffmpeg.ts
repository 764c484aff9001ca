/**
 * ffmpeg and ffprobe on untrusted media, bounded. The binaries are Debian's (locally and in CI) or a
 * static build in a Lambda layer (`FFMPEG_PATH`, `FFPROBE_PATH`; see docs/MEDIA.md). What keeps a
 * hostile file in its box:
 *
 * - the bytes are written to a private temp file and read with an explicit demuxer chosen from the
 *   sniffed type (`-f`), so ffmpeg never probes its way into playlist/concat formats that open other
 *   files (HLS, concat, image2 patterns);
 * - `-protocol_whitelist file,pipe`: no network, no subprocess protocols; `-nostdin`; the mov
 *   demuxer's external data references stay off (`-enable_drefs 0`);
 * - a wall-clock timeout (SIGKILL), caps on stdout/stderr bytes, `-t` on decoded duration, two
 *   threads, and an address-space limit (`ulimit -v`) on the process;
 * - arguments go to `spawn` as an array (no shell parses them); the one `sh` wrapper receives them
 *   as positional parameters and `exec`s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** ffmpeg demuxer for each sniffed media type; anything else is refused before ffmpeg runs. */
export const DEMUXERS: Readonly<Record<string, string>> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/ogg; codecs=opus': 'ogg',
  'audio/x-flac': 'flac',
  'audio/flac': 'flac',
  'audio/aac': 'aac',
  'audio/x-m4a': 'mov',
  'audio/mp4': 'mov',
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'audio/webm': 'matroska',
  'video/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'video/matroska': 'matroska',
};

export class MediaToolError extends Error {
  override name = 'MediaToolError';
}

/** ffmpeg failed on the input (non-zero exit): the media is corrupt, truncated or unsupported. */
export class MediaDecodeError extends MediaToolError {
  override name = 'MediaDecodeError';
}

/** The run passed its wall-clock limit and was killed. */
export class MediaTimeoutError extends MediaToolError {
  override name = 'MediaTimeoutError';
}

/** The binary is missing: a deployment problem (no layer, no apt package), not a problem with the upload. */
export class MediaToolMissingError extends MediaToolError {
  override name = 'MediaToolMissingError';
}

export interface ToolLimits {
  timeoutMs: number;
  /** Output beyond this is not read; the run is killed and `truncated` is set. */
  maxStdoutBytes: number;
  /** @default 256 KiB */
  maxStderrBytes?: number;
  /** Address-space limit for the process, via `ulimit -v`. @default 2 GiB */
  maxMemoryBytes?: number;
}

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
  /** stdout reached `maxStdoutBytes` and the process was stopped there. */
  truncated: boolean;
}

/** The ffmpeg and ffprobe binaries (FFMPEG_PATH, FFPROBE_PATH in shared/contracts/env.ts); an engine like OCR. */
export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}

/** Debian's binaries, found on PATH. */
export const DEFAULT_MEDIA_TOOLS: MediaTools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };

const DEFAULT_MAX_MEMORY = 2 * 1024 ** 3;

/** Options every ffmpeg/ffprobe run gets before its input: no stdin, no network, forced demuxer. */
export function inputArgs(demuxer: string, path: string): string[] {
  if (!Object.values(DEMUXERS).includes(demuxer)) {
    throw new MediaToolError(`demuxer ${JSON.stringify(demuxer)} is not allowed`);
  }
  return [
    '-protocol_whitelist',
    'file,pipe',
    ...(demuxer === 'mov' ? ['-enable_drefs', '0'] : []),
    '-f',
    demuxer,
    '-i',
    // `file:` keeps a path that looks like a protocol or option from being read as one.
    `file:${path}`,
  ];
}

/** Runs a media tool with the limits above. Resolves on exit 0 (or on reaching maxStdoutBytes). */
export function runTool(bin: string, args: readonly string[], limits: ToolLimits): Promise<ToolResult> {
  const kib = Math.floor((limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY) / 1024);
  const maxStderr = limits.maxStderrBytes ?? 256 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/bin/sh',
      ['-c', 'ulimit -v "$1" && shift && exec "$@"', 'sh', String(kib), bin, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: false,
      },
    );
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let truncated = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limits.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = limits.maxStdoutBytes - outBytes;
      if (chunk.byteLength >= room) {
        out.push(chunk.subarray(0, room));
        outBytes += room;
        truncated = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
      outBytes += chunk.byteLength;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (err.length < maxStderr) err += chunk.slice(0, maxStderr - err.length);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new MediaToolError(`cannot run ${bin}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut)
        return reject(new MediaTimeoutError(`${bin} ran over ${limits.timeoutMs} ms and was stopped`));
      const stdout = Buffer.concat(out);
      if (truncated) return resolve({ stdout, stderr: err, truncated });
      // 127 with "not found": the shell could not find the binary (127 alone can be a loader failure).
      if (code === 127 && /not found|no such file/i.test(err))
        return reject(new MediaToolMissingError(`${bin} is not installed (see docs/MEDIA.md)`));
      if (code !== 0) return reject(new MediaDecodeError(summarise(err) || `${bin} exited with ${code}`));
      resolve({ stdout, stderr: err, truncated });
    });
  });
}

/** The last meaningful lines of ffmpeg's stderr, without temp paths, for an error message. */
function summarise(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/file:\S+/g, 'input').trim())
    .filter(Boolean)
    .slice(-2)
    .join('; ')
    .slice(0, 300);
}

/** Writes the bytes to a fresh private temp folder, runs `work` on the file, and removes the folder. */
export async function withTempInput<T>(
  bytes: Uint8Array,
  work: (path: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'media-'));
  try {
    const path = join(dir, 'input');
    await writeFile(path, bytes, { mode: 0o600 });
    return await work(path, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ProbeResult {
  /** Container duration in seconds, when the header states one (an upload can lie; decoding re-checks). */
  durationS?: number;
  hasAudio: boolean;
  video?: { width: number; height: number };
  /** Pictures stored as streams (cover art in MP3, FLAC, M4A): every player shows them. */
  attachedPictures: { index: number; width: number; height: number }[];
}

/** Reads the container header: streams, frame size, stated duration. */
export async function probe(
  path: string,
  demuxer: string,
  timeoutMs: number,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Promise<ProbeResult> {
  const { stdout } = await runTool(
    tools.ffprobe,
    [
      '-v',
      'error',
      ...inputArgs(demuxer, path),
      '-show_entries',
      'format=duration:stream=index,codec_type,width,height:stream_disposition=attached_pic',
      '-of',
      'json',
    ],
    { timeoutMs, maxStdoutBytes: 1024 * 1024 },
  );
  let json: {
    format?: { duration?: string };
    streams?: {
      index?: number;
      codec_type?: string;
      width?: number;
      height?: number;
      disposition?: { attached_pic?: number };
    }[];
  };
  try {
    json = JSON.parse(stdout.toString('utf8'));
  } catch (cause) {
    throw new MediaDecodeError('ffprobe output is not JSON', { cause });
  }
  const streams = json.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0);
  const duration = Number(json.format?.duration);
  return {
    ...(Number.isFinite(duration) ? { durationS: duration } : {}),
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    ...(video ? { video: { width: video.width ?? 0, height: video.height ?? 0 } } : {}),
    attachedPictures: streams
      .filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic === 1 && s.index !== undefined)
      .map((s) => ({ index: s.index ?? 0, width: s.width ?? 0, height: s.height ?? 0 })),
  };
}
