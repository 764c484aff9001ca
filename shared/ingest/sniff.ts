import { fileTypeFromBuffer } from 'file-type';
import { ModerationError } from '#shared/domain/errors.ts';

export type ContentKind = 'text' | 'image' | 'post' | 'audio' | 'video';

export interface Sniffed {
  kind: ContentKind;
  /** The real media type, from the bytes. */
  mime: string;
}

/** Raster formats sharp decodes safely. SVG is deliberately absent: it can reference external resources. */
const IMAGE_MIMES = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/tiff',
  'image/avif',
]);

/** Sound formats decoded by ffmpeg (shared/extract/audio.ts). */
const AUDIO_MIMES = new Set([
  'audio/wav',
  'audio/mpeg',
  'audio/ogg',
  'audio/ogg; codecs=opus',
  'audio/opus',
  'audio/x-m4a',
  'audio/mp4',
  'audio/aac',
  'audio/flac',
  'audio/x-flac',
]);

/** Video containers decoded by ffmpeg (shared/extract/video.ts); a WebM with only sound is still 'video'. */
const VIDEO_MIMES = new Set(['video/mp4', 'video/webm', 'video/quicktime', 'video/matroska']);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes strict UTF-8; text with NUL or other C0 controls (bar tab/newline/CR/FF) is binary, not text. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  return /[\u0000-\u0008\u000b\u000e-\u001f]/.test(text) ? undefined : text;
}

/**
 * Works out what an upload really is from its bytes — never from its name or Content-Type, which
 * the uploader controls.
 */
export async function sniff(bytes: Uint8Array): Promise<Sniffed> {
  if (bytes.byteLength === 0) throw new ModerationError('EMPTY_OBJECT', 'the object is empty (0 bytes)');
  const detected = await fileTypeFromBuffer(bytes);
  if (detected) {
    if (IMAGE_MIMES.has(detected.mime)) return { kind: 'image', mime: detected.mime };
    if (AUDIO_MIMES.has(detected.mime)) return { kind: 'audio', mime: detected.mime };
    if (VIDEO_MIMES.has(detected.mime)) return { kind: 'video', mime: detected.mime };
    throw new ModerationError(
      'UNSUPPORTED_TYPE',
      `content is ${detected.mime}, which this pipeline does not moderate`,
    );
  }
  if (hasImageSignature(bytes)) {
    throw new ModerationError(
      'IMAGE_DECODE_FAILED',
      'content starts like an image but is cut off or corrupt',
    );
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new ModerationError('UNSUPPORTED_TYPE', 'content is neither a known media type nor UTF-8 text');
  }
  if (looksLikeSvg(text)) {
    // SVG is text to a byte sniffer but an image to a browser, and can embed rasters and scripts:
    // scoring its markup as text would let any picture through.
    throw new ModerationError(
      'UNSUPPORTED_TYPE',
      'content is image/svg+xml, which this pipeline does not moderate',
    );
  }
  if (looksLikePost(text)) return { kind: 'post', mime: 'application/json' };
  return { kind: 'text', mime: 'text/plain' };
}

/** An `<svg` root element near the start (after an optional XML declaration, doctype or comments). */
function looksLikeSvg(text: string): boolean {
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(text.slice(0, 4096));
}

const IMAGE_SIGNATURES = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF8
];

/** Image magic bytes that file-type could not confirm: a truncated or corrupt image, not "some other type". */
function hasImageSignature(bytes: Uint8Array): boolean {
  return IMAGE_SIGNATURES.some((sig) => sig.every((b, i) => bytes[i] === b));
}

/** A JSON object with a `text` or `media` member is a post manifest; any other JSON is just text. */
function looksLikePost(text: string): boolean {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) return false;
  return /"(text|media)"\s*:/.test(trimmed);
}
