import { readFile } from 'node:fs/promises';
import { extractVideo } from '#shared/extract/video.ts';
import { sniff } from '#shared/ingest/sniff.ts';
import { fileTypeFromBuffer } from 'file-type';
const b = await readFile('/tmp/v.mp4');
console.log(await fileTypeFromBuffer(b));
const t = performance.now();
const v = await extractVideo(b, 'video/mp4');
console.log(v.frames.map(f => [f.timestampMs, f.png.byteLength]), v.audio?.durationMs, v.durationMs, performance.now() - t);
