/**
 * Bytes after the end of an image. A file that is a valid PNG *and*, after the PNG's last chunk, a ZIP
 * archive (or a script, or a video) is a polyglot: decoders show the image, other tools the rest, and
 * the rest was never moderated. Found from each format's own structure, without decoding pixels.
 */

const isZero = (bytes: Uint8Array, from: number) => {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
};

/** Where a PNG ends: after the IEND chunk. Undefined when the structure can't be followed. */
export function pngEnd(b: Uint8Array): number | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 8;
  while (i + 12 <= b.length) {
    const length = view.getUint32(i);
    const type = String.fromCharCode(b[i + 4] ?? 0, b[i + 5] ?? 0, b[i + 6] ?? 0, b[i + 7] ?? 0);
    i += 12 + length;
    if (type === 'IEND') return i <= b.length ? i : undefined;
  }
  return undefined;
}

/** Where a JPEG ends: after its EOI marker, following segment lengths and skipping entropy-coded data. */
export function jpegEnd(b: Uint8Array): number | undefined {
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 1 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd9) return i + 2; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (i + 3 >= b.length) return undefined;
    const length = ((b[i + 2] as number) << 8) | (b[i + 3] as number);
    if (length < 2) return undefined;
    i += 2 + length;
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker: FF followed by neither 00 (stuffing), RSTn nor FF.
      while (i + 1 < b.length) {
        const next = b[i + 1] as number;
        if (b[i] === 0xff && next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) break;
        i++;
      }
    }
  }
  return undefined;
}

/** Where a WebP ends: its RIFF header says how long it is. */
export function webpEnd(b: Uint8Array): number | undefined {
  if (b.length < 12) return undefined;
  const size = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true);
  return size + 8 + (size % 2); // RIFF pads odd sizes
}

/**
 * Bytes after the end of the image that are not zero padding (0 when there are none, or when the
 * format's end can't be located, which the decoder then judges). A JPEG followed by another JPEG is
 * not counted: multi-picture files (MPF — HDR gain maps, depth maps) are written that way by phones.
 */
export function trailingBytes(bytes: Uint8Array, mime: string): number {
  const end =
    mime === 'image/png'
      ? pngEnd(bytes)
      : mime === 'image/jpeg'
        ? jpegEnd(bytes)
        : mime === 'image/webp'
          ? webpEnd(bytes)
          : undefined;
  if (end === undefined || end >= bytes.length || isZero(bytes, end)) return 0;
  if (mime === 'image/jpeg' && bytes[end] === 0xff && bytes[end + 1] === 0xd8 && bytes[end + 2] === 0xff) {
    return trailingBytes(bytes.subarray(end), mime); // whatever follows the last picture still counts
  }
  return bytes.length - end;
}
