/**
 * What a media container really carries, read from its own structure. file-type names an MP4 by
 * its `ftyp` brand and an Ogg file by its first stream, both chosen by the uploader: an "M4A" whose
 * moov holds a video track, or an Ogg whose second (or chained) stream is Theora, plays as a video
 * in every player, but the audio path would only listen to it. Linear in the file's size (it is
 * under the object limit): boxes and pages are walked, nothing is decoded, and no count is capped,
 * so no padding can push a track past the point where the walk gives up.
 */

const fourcc = (b: Uint8Array, at: number) =>
  String.fromCharCode(b[at] ?? 0, b[at + 1] ?? 0, b[at + 2] ?? 0, b[at + 3] ?? 0);

/**
 * The handler types (`vide`, `soun`, `text`, `subt`, …) of every track in an ISO-BMFF file
 * (MP4, M4A, MOV), from each `moov/trak/mdia/hdlr`, in every `moov` present.
 */
export function isoBmffTrackHandlers(b: Uint8Array): string[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const handlers: string[] = [];
  /** The boxes of [from, to) called `type` (each box is at least 8 bytes: the walk is linear). */
  const boxes = function* (from: number, to: number, type: string) {
    let at = from;
    while (at + 8 <= to) {
      let size = view.getUint32(at);
      let header = 8;
      if (size === 1) {
        if (at + 16 > to) return;
        const large = view.getBigUint64(at + 8);
        size = large > BigInt(to - at) ? to - at : Number(large);
        header = 16;
      } else if (size === 0) size = to - at;
      if (size < header) return;
      const end = Math.min(at + size, to);
      if (fourcc(b, at + 4) === type) yield { start: at + header, end };
      at = end;
    }
  };
  for (const moov of boxes(0, b.length, 'moov')) {
    for (const trak of boxes(moov.start, moov.end, 'trak')) {
      for (const mdia of boxes(trak.start, trak.end, 'mdia')) {
        for (const hdlr of boxes(mdia.start, mdia.end, 'hdlr')) {
          // FullBox header (4), pre_defined (4), then handler_type.
          if (hdlr.start + 12 <= hdlr.end) handlers.push(fourcc(b, hdlr.start + 8));
        }
      }
    }
  }
  return handlers;
}

/** First-packet signatures of the Ogg codecs that carry pictures. */
const OGG_VIDEO_CODECS: readonly [string, readonly number[]][] = [
  ['Theora', [0x80, 0x74, 0x68, 0x65, 0x6f, 0x72, 0x61]], // \x80theora
  ['Daala', [0x80, 0x64, 0x61, 0x61, 0x6c, 0x61]], // \x80daala
  ['Dirac', [0x42, 0x42, 0x43, 0x44, 0x00]], // BBCD\0
];

/**
 * The video codecs of an Ogg file's logical streams: every beginning-of-stream page, wherever it
 * is (a chained file starts new streams part way through, and players play the chain).
 */
export function oggVideoCodecs(b: Uint8Array): string[] {
  const found = new Set<string>();
  const capture = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let at = capture.indexOf('OggS'); at >= 0; at = capture.indexOf('OggS', at + 4)) {
    const version = b[at + 4];
    const flags = b[at + 5] ?? 0;
    const segments = b[at + 26];
    if (version !== 0 || !(flags & 0x02) || segments === undefined) continue;
    const payload = at + 27 + segments;
    for (const [codec, signature] of OGG_VIDEO_CODECS) {
      if (signature.every((v, i) => b[payload + i] === v)) found.add(codec);
    }
  }
  return [...found];
}
