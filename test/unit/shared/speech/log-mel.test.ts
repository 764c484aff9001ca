import { describe, expect, it } from 'vitest';
import {
  hzToMel,
  logMelSpectrogram,
  melFilterbank,
  melToHz,
  N_FFT,
  N_FRAMES,
  powerSpectrum,
  SAMPLE_RATE,
} from '#shared/speech/log-mel.ts';

const min = (a: Float32Array) => a.reduce((m, v) => Math.min(m, v), Infinity);
const max = (a: Float32Array) => a.reduce((m, v) => Math.max(m, v), -Infinity);

const sine = (hz: number, seconds: number, amp = 0.5) =>
  Float32Array.from(
    { length: seconds * SAMPLE_RATE },
    (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE),
  );

/** Centre frequency (Hz) of mel filter m, from the same Slaney scale. */
const centre = (m: number) => melToHz(((m + 1) * hzToMel(SAMPLE_RATE / 2)) / 81);

describe('Whisper log-mel features', () => {
  it('uses the Slaney mel scale (linear to 1 kHz, logarithmic above)', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 6);
    expect(hzToMel(500)).toBeCloseTo(7.5, 6);
    expect(hzToMel(8000)).toBeCloseTo(15 + Math.log(8) / (Math.log(6.4) / 27), 6);
    for (const hz of [0, 300, 999, 1000, 4321, 8000]) expect(melToHz(hzToMel(hz))).toBeCloseTo(hz, 6);
  });

  it('builds 80 triangular filters over 201 bins with Slaney area normalisation', () => {
    const filters = melFilterbank();
    expect(filters).toHaveLength(80);
    expect(filters.every((f) => f.length === N_FFT / 2 + 1)).toBe(true);
    expect(filters.flatMap((f) => [...f]).every((w) => w >= 0)).toBe(true);
    // Each triangle has unit area in Hz (height 2/width): the sum times the 40 Hz bin spacing is ≈ 1
    // wherever a filter spans many bins (the narrow low ones are undersampled by the 40 Hz grid).
    for (const m of [40, 60, 79]) {
      const area = [...(filters[m] ?? [])].reduce((a, b) => a + b, 0) * (SAMPLE_RATE / N_FFT);
      expect(area).toBeGreaterThan(0.9);
      expect(area).toBeLessThan(1.1);
    }
    // Peaks rise in frequency with the filter index.
    const peaks = filters.map((f) => f.indexOf(Math.max(...f)));
    for (let m = 1; m < 80; m++) expect(peaks[m]).toBeGreaterThanOrEqual(peaks[m - 1] ?? 0);
  });

  it('computes a frame power spectrum that puts a pure tone in its bin', () => {
    const frame = Float32Array.from({ length: N_FFT }, (_, n) => Math.cos((2 * Math.PI * 10 * n) / N_FFT));
    const power = powerSpectrum(frame);
    expect(power.indexOf(Math.max(...power))).toBe(10);
    // |X[k]| = N/2 for a unit cosine on bin k.
    expect(Math.sqrt(power[10] ?? 0)).toBeCloseTo(N_FFT / 2, 2);
    expect(power[11] ?? 1).toBeLessThan(1e-6);
  });

  it('maps silence to -1.5 everywhere, as Whisper does, in an [80, 3000] grid', () => {
    const mel = logMelSpectrogram(new Float32Array(SAMPLE_RATE));
    expect(mel).toHaveLength(80 * N_FRAMES);
    expect(min(mel)).toBeCloseTo(-1.5, 6);
    expect(max(mel)).toBeCloseTo(-1.5, 6);
  });

  it('puts a 1 kHz tone in the mel bin centred nearest 1 kHz, only where the tone plays', () => {
    const mel = logMelSpectrogram(sine(1000, 2));
    const frame = 50; // 0.5 s in
    const column = Array.from({ length: 80 }, (_, m) => mel[m * N_FRAMES + frame] ?? 0);
    const best = column.indexOf(Math.max(...column));
    expect(Math.abs(centre(best) - 1000)).toBeLessThan(centre(best + 1) - centre(best));
    // Dynamic range is clamped to 8 (log10) below the peak, then scaled by 1/4.
    expect(max(mel) - min(mel)).toBeCloseTo(2, 3);
    // After the tone (2 s = frame 200) there is only padding, at the floor.
    expect(mel[best * N_FRAMES + 400]).toBeCloseTo(min(mel), 6);
  });
});
