import { fileTypeFromBuffer } from 'file-type';
import { ModerationError } from '#shared/domain/errors.ts';
import { isoBmffTrackHandlers, oggVideoCodecs } from '#shared/ingest/containers.ts';
import { LIMITS } from '#shared/ingest/limits.ts';
import { scanTopLevelKeys } from '#shared/ingest/strict-json.ts';

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
const utf16le = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: false });

/** C0 controls other than tab, newline, form feed and CR: their presence means binary, not text. */
const BINARY_CONTROLS = /[\u0000-\u0008\u000b\u000e-\u001f]/;

/** Decodes strict UTF-8; text with NUL or other C0 controls (bar tab/newline/CR/FF) is binary, not text. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  return BINARY_CONTROLS.test(text) ? undefined : text;
}

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** What the error for unreadable text says is accepted (other legacy encodings stay an error). */
export const ACCEPTED_TEXT_ENCODINGS =
  'UTF-8 (with or without a byte-order mark) or UTF-16 LE/BE with a byte-order mark';

export type DecodedText = { ok: true; text: string; encoding: TextEncoding } | { ok: false; reason: string };

const startsWith = (bytes: Uint8Array, sig: readonly number[]) => sig.every((b, i) => bytes[i] === b);

/**
 * The one way the pipeline turns bytes into text (sniffing, text and posts all call it, so they
 * cannot disagree): a byte-order mark picks UTF-16 LE/BE (and is dropped), anything else must be
 * strict UTF-8. Either way, text with C0 controls other than tab/newline/FF/CR is binary.
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  // UTF-32 LE's mark starts with UTF-16 LE's: check it first, so it is named rather than misread.
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00]) || startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) {
    return { ok: false, reason: 'it is UTF-32, which is not accepted' };
  }
  const utf16: TextEncoding | undefined = startsWith(bytes, [0xff, 0xfe])
    ? 'utf-16le'
    : startsWith(bytes, [0xfe, 0xff])
      ? 'utf-16be'
      : undefined;
  const encoding = utf16 ?? 'utf-8';
  let text: string;
  try {
    text = (encoding === 'utf-16le' ? utf16le : encoding === 'utf-16be' ? utf16be : utf8).decode(bytes);
  } catch {
    if (utf16)
      return {
        ok: false,
        reason: `it starts with a ${encoding.toUpperCase()} byte-order mark but is not valid ${encoding.toUpperCase()}`,
      };
    return {
      ok: false,
      reason: looksLikeBomlessUtf16(bytes)
        ? 'it looks like UTF-16 without a byte-order mark'
        : 'it is not valid UTF-8',
    };
  }
  if (BINARY_CONTROLS.test(text)) {
    return {
      ok: false,
      reason:
        !utf16 && looksLikeBomlessUtf16(bytes)
          ? 'it looks like UTF-16 without a byte-order mark'
          : 'it contains NUL or other control characters',
    };
  }
  return { ok: true, text, encoding };
}

/** Mostly-ASCII UTF-16 without a mark: every other byte is zero. Only for a better error message. */
function looksLikeBomlessUtf16(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512) & ~1;
  if (n < 4) return false;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) even++;
    if (bytes[i + 1] === 0) odd++;
  }
  return Math.max(even, odd) >= (n / 2) * 0.6 && Math.min(even, odd) <= (n / 2) * 0.1;
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
    if (AUDIO_MIMES.has(detected.mime)) return audioOrVideo(bytes, detected.mime);
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
  const decoded = decodeText(bytes);
  if (!decoded.ok) {
    throw new ModerationError(
      'UNSUPPORTED_TYPE',
      `content is neither a known media type nor readable text (${decoded.reason}); text must be ${ACCEPTED_TEXT_ENCODINGS}`,
    );
  }
  const { text, encoding } = decoded;
  const markup = markupKind(text);
  if (markup === 'svg') {
    // SVG is text to a byte sniffer but an image to a browser, and can embed rasters and scripts:
    // scoring its markup as text would let any picture through.
    throw new ModerationError(
      'UNSUPPORTED_TYPE',
      'content is image/svg+xml, which this pipeline does not moderate',
    );
  }
  if (markup === 'xml') {
    // The same verdict file-type gives an XML document in UTF-8, whatever the encoding.
    throw new ModerationError(
      'UNSUPPORTED_TYPE',
      'content is application/xml, which this pipeline does not moderate',
    );
  }
  if (isPostManifest(text)) return { kind: 'post', mime: 'application/json' };
  return { kind: 'text', mime: encoding === 'utf-8' ? 'text/plain' : `text/plain; charset=${encoding}` };
}

/**
 * file-type names an audio container by its brand or first stream; the streams inside decide. An
 * "audio" MP4 with a video track is a video (the audio path would never look at its pictures); an
 * Ogg file with a video stream is refused as Ogg video is (shared/ingest/containers.ts).
 */
function audioOrVideo(bytes: Uint8Array, mime: string): Sniffed {
  if ((mime === 'audio/x-m4a' || mime === 'audio/mp4') && isoBmffTrackHandlers(bytes).includes('vide')) {
    return { kind: 'video', mime: 'video/mp4' };
  }
  if (mime.startsWith('audio/ogg') || mime === 'audio/opus') {
    const video = oggVideoCodecs(bytes);
    if (video.length) {
      throw new ModerationError(
        'UNSUPPORTED_TYPE',
        `content is video/ogg (a ${video.join(' and ')} video stream beside the sound), which this pipeline does not moderate`,
      );
    }
  }
  return { kind: 'audio', mime };
}

/**
 * Markup a browser would render rather than show: an XML document (declaration first) or an SVG
 * root element, found by reading the prolog as an XML parser does — processing instructions,
 * comments and a doctype with an internal subset, of any length — not by a pattern near the start.
 */
function markupKind(text: string): 'svg' | 'xml' | undefined {
  let i = 0;
  let declared = false;
  const skipWs = () => {
    while (i < text.length && /[\s\ufeff]/.test(text[i] as string)) i++;
  };
  for (;;) {
    skipWs();
    if (text.startsWith('<?', i)) {
      // `<?xml ` declares an XML document; `<?xml-stylesheet …?>` and other instructions do not.
      if (/^<\?xml[\s?]/i.test(text.slice(i, i + 6))) declared = true;
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return declared ? 'xml' : undefined;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return declared ? 'xml' : undefined;
      i = end + 3;
    } else if (/^<!doctype/i.test(text.slice(i, i + 9))) {
      const end = doctypeEnd(text, i + 9);
      if (end < 0) return declared ? 'xml' : undefined;
      i = end;
    } else break;
  }
  // The root element's name, with or without a namespace prefix (`<svg:svg xmlns:svg=…>`).
  const root = /^<(?:[\p{L}_][\p{L}\p{N}_.-]*:)?([\p{L}_][\p{L}\p{N}_.-]*)/u.exec(text.slice(i, i + 256));
  if (root?.[1]?.toLowerCase() === 'svg') return 'svg';
  return declared ? 'xml' : undefined;
}

/** The index after a doctype's closing `>`, skipping quoted strings and an internal subset `[…]`. */
function doctypeEnd(text: string, from: number): number {
  let inSubset = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    // Declarations in the subset may hold comments and instructions (with quotes of their own).
    const skipTo = text.startsWith('<!--', i) ? '-->' : text.startsWith('<?', i) ? '?>' : undefined;
    if (skipTo) {
      const close = text.indexOf(skipTo, i + 2);
      if (close < 0) return -1;
      i = close + skipTo.length - 1;
    } else if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return -1;
      i = close;
    } else if (c === '[') inSubset = true;
    else if (c === ']') inSubset = false;
    else if (c === '>' && !inSubset) return i + 1;
  }
  return -1;
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

/** The members a post manifest may have (shared/extract/post.ts refuses any other). */
export const POST_MANIFEST_KEYS: readonly string[] = ['text', 'media'];

/**
 * A post is a JSON object with a `text` or `media` member, the keys compared after JSON decoding
 * (`"\u0074ext"` is `text`). Read with a bounded JSON scan (`LIMITS.post`: the first `maxBytes`
 * characters, `maxDepth` levels), never by byte patterns. A document that reads as such an object
 * until it breaks (bad syntax, too deep, a duplicate key, cut at the limit) is still a post, so the
 * post modality refuses it as `INVALID_MANIFEST` or `TOO_LARGE`: a lenient client would show it as one.
 */
export function isPostManifest(text: string): boolean {
  const scan = scanTopLevelKeys(text, { maxDepth: LIMITS.post.maxDepth, maxChars: LIMITS.post.maxBytes });
  return scan.object && scan.keys.some((k) => POST_MANIFEST_KEYS.includes(k));
}
