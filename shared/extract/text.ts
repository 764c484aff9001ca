import { ModerationError } from '#shared/domain/errors.ts';
import { LIMITS, type TextLimits } from '#shared/ingest/limits.ts';

/** A window of a text, with its character range in the normalised text. */
export interface TextWindow {
  text: string;
  start: number;
  end: number;
}

export interface ExtractedText {
  text: string;
  windows: TextWindow[];
  /** True when the text had more windows than LIMITS.text.maxWindows and the rest went unscored. */
  truncated: boolean;
}

// Zero-width and bidi-control characters hide words from a classifier while leaving them readable.
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;

/** Unicode-normalises text for display and scoring: NFKC folds look-alike forms (ｆｕｌｌ-width, ligatures). */
export function normaliseForModeration(raw: string): string {
  return raw.normalize('NFKC').replace(INVISIBLE, '').replace(/\r\n?/g, '\n').trim();
}

/**
 * Splits text into windows of about `windowChars`, breaking at whitespace, so each window fits the
 * text model and a verdict can point at the words that triggered it.
 */
export function windowText(text: string, windowChars: number = LIMITS.text.windowChars): TextWindow[] {
  const windows: TextWindow[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + windowChars, text.length);
    if (end < text.length) {
      const lastSpace = text.lastIndexOf(' ', end);
      const lastBreak = Math.max(lastSpace, text.lastIndexOf('\n', end));
      if (lastBreak > start + windowChars / 2) end = lastBreak;
    }
    const piece = text.slice(start, end);
    if (piece.trim()) windows.push({ text: piece.trim(), start, end });
    start = end;
  }
  return windows;
}

export function extractText(raw: string, limits: TextLimits = LIMITS.text): ExtractedText {
  if (Buffer.byteLength(raw, 'utf8') > limits.maxBytes) {
    throw new ModerationError('TOO_LARGE', `text is over the ${limits.maxBytes}-byte limit`);
  }
  const text = normaliseForModeration(raw);
  if (!text) throw new ModerationError('EMPTY_OBJECT', 'the text is empty or whitespace only');
  const all = windowText(text, limits.windowChars);
  return { text, windows: all.slice(0, limits.maxWindows), truncated: all.length > limits.maxWindows };
}
