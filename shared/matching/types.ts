/**
 * Known-content matching (issue 18): the signals an upload carries and what a bank match looks
 * like. The hashers (pdq.ts, signals.ts), the index (pdq-index.ts) and the banks (banks.ts) meet
 * here.
 */

/** How a signal was computed: PDQ (256-bit perceptual, 64 hex chars), or a cryptographic hash of the bytes. */
export type SignalType = 'pdq' | 'md5' | 'sha256';

/** One signal of an upload: of the whole object's bytes, of an image, or of one frame of a video/animation. */
export interface Signal {
  signalType: SignalType;
  /** Lower-case hex: 64 chars for pdq and sha256, 32 for md5. */
  signal: string;
  /** PDQ quality 0..100 (the reference's gradient-sum score); absent for md5/sha256. */
  quality?: number;
  /** Which object (s3 URI) it came from: a post's media each have their own. */
  source: string;
  /** Frame time in a video or animation, ms. */
  frameMs?: number;
}

/** A PDQ hash with its quality, as the reference hasher prints them. */
export interface PdqHash {
  /** 64 lower-case hex chars (256 bits), in the reference's bit order. */
  hash: string;
  quality: number;
}

/** A bank hit, as it appears in the verdict's `matches` (ARCHITECTURE.md: verdict additions). */
export interface Match {
  bank: string;
  label: string;
  signalType: SignalType;
  /** The bank's signal that matched. */
  signal: string;
  /** Hamming distance for pdq, 0 for exact hashes. */
  distance: number;
  frameMs?: number;
}
