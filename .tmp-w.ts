import { loadWhisperRecognizer } from '#shared/speech/whisper.ts';
const r = await loadWhisperRecognizer('test/fixtures/whisper/tiny-random');
const samples = Float32Array.from({ length: 16000 * 2 }, (_, i) => Math.sin(i / 10) * 0.3);
let t = performance.now();
console.log(await r.transcribe(samples, [{ startMs: 0, endMs: 2000 }]), performance.now() - t);
