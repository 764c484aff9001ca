/** Video: sampled frames (image channel, OCR channel) and the sound track (speech channel), each with its time. */
import { extractImage } from '#shared/extract/image.ts';
import { modelInputProbe } from '#shared/extract/ocr.ts';
import { extractVideo } from '#shared/extract/video.ts';
import { byteSignals, frameSignals } from '#shared/matching/signals.ts';
import { collectSpeech, SPEECH_CHANNEL } from './audio.ts';
import { IMAGE_CHANNEL, OCR_CHANNEL, type OcrFrame, ocrFrames } from './image.ts';
import { addItems, emptyCollected, type Modality } from './types.ts';

export const videoModality: Modality = {
  name: 'video',
  kinds: ['video'],
  channels: [IMAGE_CHANNEL, OCR_CHANNEL, SPEECH_CHANNEL],
  async collect(bytes, sniffed, ctx) {
    const { engines, source } = ctx;
    const out = emptyCollected(sniffed.mime);
    const video = await extractVideo(
      bytes,
      sniffed.mime,
      engines.limits.video,
      engines.limits.audio,
      engines.media,
    );
    const ocr: OcrFrame[] = [];
    for (const frame of video.frames) {
      const image = await extractImage(frame.png, ctx.imageSize);
      const { timestampMs } = frame;
      addItems(out, IMAGE_CHANNEL, [{ source, pixels: image.pixels, timestampMs }]);
      ocr.push({ input: frame.png, timestampMs, probe: modelInputProbe(image.pixels, ctx.imageSize, image) });
    }
    await ocrFrames(ocr, source, engines.ocr(), out);
    if (video.audio) await collectSpeech(video.audio, source, engines, out);
    // PDQ of the sampled frames (each with its time) and MD5/SHA-256 of the bytes, for bank matching.
    if (ctx.signals !== false)
      out.signals = [...byteSignals(bytes, source), ...(await frameSignals(video.frames, source))];
    return out;
  },
};
