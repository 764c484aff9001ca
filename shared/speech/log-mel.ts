/**
 * Whisper's log-mel spectrogram in TypeScript, with Whisper's parameters (whisper/audio.py): 16 kHz,
 * 400-sample Hann window (periodic), hop 160, 80 Slaney mel bins from 0 to 8 kHz with Slaney area
 * normalisation (librosa's defaults), power spectrum, log10 clamped at 1e-10 and to (max − 8),
 * then (x + 4) / 4. Audio is zero-padded or cut to 30 s, giving [80, 3000].
 */
export const N_FFT = 400;
export const HOP = 160;
export const SAMPLE_RATE = 16_000;
export const CHUNK_SAMPLES = 30 * SAMPLE_RATE;
export const N_FRAMES = CHUNK_SAMPLES / HOP;
const N_BINS = N_FFT / 2 + 1;

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/** Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa with htk=False. */
export function hzToMel(hz: number): number {
  return hz < MIN_LOG_HZ ? hz / F_SP : MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP;
}

export function melToHz(mel: number): number {
  return mel < MIN_LOG_MEL ? mel * F_SP : MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL));
}

/** librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm='slaney'): [nMels][N_BINS]. */
export function melFilterbank(nMels = 80, sampleRate = SAMPLE_RATE, nFft = N_FFT): Float32Array[] {
  const bins = nFft / 2 + 1;
  const fftFreqs = Array.from({ length: bins }, (_, i) => (i * sampleRate) / nFft);
  const maxMel = hzToMel(sampleRate / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHz((i * maxMel) / (nMels + 1)));
  return Array.from({ length: nMels }, (_, m) => {
    const lo = melF[m] ?? 0;
    const mid = melF[m + 1] ?? 0;
    const hi = melF[m + 2] ?? 0;
    const enorm = 2 / (hi - lo);
    return Float32Array.from(fftFreqs, (f) => {
      const lower = (f - lo) / (mid - lo);
      const upper = (hi - f) / (hi - mid);
      return Math.max(0, Math.min(lower, upper)) * enorm;
    });
  });
}

let tables:
  | { cos: Float32Array; sin: Float32Array; window: Float32Array; filters: Float32Array[] }
  | undefined;

function getTables() {
  if (tables) return tables;
  const cos = new Float32Array(N_BINS * N_FFT);
  const sin = new Float32Array(N_BINS * N_FFT);
  for (let k = 0; k < N_BINS; k++) {
    for (let n = 0; n < N_FFT; n++) {
      const a = (2 * Math.PI * k * n) / N_FFT;
      cos[k * N_FFT + n] = Math.cos(a);
      sin[k * N_FFT + n] = Math.sin(a);
    }
  }
  // torch.hann_window(400) is periodic.
  const window = Float32Array.from(
    { length: N_FFT },
    (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT),
  );
  tables = { cos, sin, window, filters: melFilterbank() };
  return tables;
}

/** Power spectrum |X[k]|² of one windowed frame (a direct DFT: 400 is not a power of two). */
export function powerSpectrum(frame: Float32Array): Float32Array {
  const { cos, sin } = getTables();
  const power = new Float32Array(N_BINS);
  for (let k = 0; k < N_BINS; k++) {
    let re = 0;
    let im = 0;
    const row = k * N_FFT;
    for (let n = 0; n < N_FFT; n++) {
      const x = frame[n] ?? 0;
      re += x * (cos[row + n] ?? 0);
      im -= x * (sin[row + n] ?? 0);
    }
    power[k] = re * re + im * im;
  }
  return power;
}

/**
 * Log-mel features of up to 30 s of 16 kHz mono audio, row-major [nMels=80][3000], as Whisper's
 * encoder takes them. Frames that lie wholly in the zero padding are not transformed (their power is 0).
 */
export function logMelSpectrogram(samples: Float32Array): Float32Array {
  const { window, filters } = getTables();
  const nMels = filters.length;
  const audio = new Float32Array(CHUNK_SAMPLES);
  audio.set(samples.subarray(0, CHUNK_SAMPLES));
  const real = Math.min(samples.length, CHUNK_SAMPLES);
  // torch.stft(center=True, pad_mode='reflect'): N_FFT/2 reflected samples at each end.
  const pad = N_FFT / 2;
  const at = (i: number) => {
    const j = i < 0 ? -i : i >= CHUNK_SAMPLES ? 2 * (CHUNK_SAMPLES - 1) - i : i;
    return audio[j] ?? 0;
  };
  const mel = new Float32Array(nMels * N_FRAMES);
  const frame = new Float32Array(N_FFT);
  for (let t = 0; t < N_FRAMES; t++) {
    const start = t * HOP - pad;
    if (start >= real) continue;
    for (let n = 0; n < N_FFT; n++) frame[n] = at(start + n) * (window[n] ?? 0);
    const power = powerSpectrum(frame);
    for (let m = 0; m < nMels; m++) {
      const f = filters[m] as Float32Array;
      let sum = 0;
      for (let k = 0; k < N_BINS; k++) sum += (f[k] ?? 0) * (power[k] ?? 0);
      mel[m * N_FRAMES + t] = sum;
    }
  }
  let max = -Infinity;
  for (let i = 0; i < mel.length; i++) {
    const v = Math.log10(Math.max(mel[i] ?? 0, 1e-10));
    mel[i] = v;
    if (v > max) max = v;
  }
  for (let i = 0; i < mel.length; i++) mel[i] = (Math.max(mel[i] ?? 0, max - 8) + 4) / 4;
  return mel;
}
