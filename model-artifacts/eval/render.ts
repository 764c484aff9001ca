/**
 * Renders a text into a picture the way memes, screenshots and signs carry words: sharp rasterises an
 * SVG <text> in one of the machine's fonts (fontconfig), at a drawn size and colour, on a plain,
 * gradient, blotchy or "photo-like" background, then optionally rotates, blurs, adds pixel noise and
 * re-encodes as JPEG. Every choice comes from a seeded PRNG, so one seed gives the same PNG bytes.
 */
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import type { Rng } from '#model-artifacts/fusion/compose.ts';

export interface RenderStyle {
  font: string;
  size: number;
  weight: 'normal' | 'bold';
  italic: boolean;
  fg: string;
  bg: 'plain' | 'gradient' | 'blotches' | 'photo';
  bgColour: string;
  /** Degrees, applied after rasterising. */
  rotation: number;
  /** Gaussian blur sigma; 0 = none. */
  blur: number;
  /** Standard deviation of per-pixel noise in grey levels; 0 = none. */
  noise: number;
  /** JPEG quality after the other steps; 0 = stay PNG. */
  jpegQuality: number;
  /** Characters per line before wrapping. */
  wrap: number;
}

/** Font families fontconfig knows on this machine (`fc-list : family`), first name of each entry. */
export function availableFonts(): string[] {
  let out = '';
  try {
    out = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' });
  } catch {
    return ['sans-serif'];
  }
  const families = new Set<string>();
  for (const line of out.split('\n')) {
    const name = line.split(',')[0]?.trim();
    // Maths, symbol and dingbat fonts (and the Zapf Chancery clone Z003) have no ordinary Latin text faces.
    if (name && !/math|symbol|emoji|dingbat|^D050000L$|^Z003$/i.test(name)) families.add(name);
  }
  return families.size > 0 ? [...families].sort() : ['sans-serif'];
}

const pick = <T>(rnd: Rng, xs: readonly T[]): T => {
  const x = xs[Math.floor(rnd() * xs.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
};

const DARK = ['#000000', '#1a1a1a', '#0b3d91', '#3b1f00', '#222831'];
const LIGHT = ['#ffffff', '#fdfbf3', '#ffeb3b', '#e0f7fa', '#f1f1f1'];

/** Draws a style: legible most of the time, hard (small, rotated, noisy, busy) some of the time. */
export function drawStyle(rnd: Rng, fonts: readonly string[]): RenderStyle {
  const darkOnLight = rnd() < 0.6;
  const hard = rnd() < 0.3;
  return {
    font: pick(rnd, fonts),
    size: Math.round(hard ? 14 + rnd() * 10 : 22 + rnd() * 34),
    weight: rnd() < 0.35 ? 'bold' : 'normal',
    italic: rnd() < 0.15,
    fg: darkOnLight ? pick(rnd, DARK) : pick(rnd, LIGHT),
    bg: pick(rnd, ['plain', 'plain', 'gradient', 'blotches', 'photo'] as const),
    bgColour: darkOnLight ? pick(rnd, LIGHT) : pick(rnd, DARK),
    rotation: hard ? (rnd() * 2 - 1) * 12 : rnd() < 0.3 ? (rnd() * 2 - 1) * 4 : 0,
    blur: hard && rnd() < 0.5 ? 0.6 + rnd() * 0.8 : 0,
    noise: rnd() < 0.3 ? 6 + rnd() * (hard ? 30 : 12) : 0,
    jpegQuality: rnd() < 0.4 ? Math.round(35 + rnd() * 50) : 0,
    wrap: Math.round(18 + rnd() * 22),
  };
}

/** Escapes text for an SVG text node. */
export const escapeXml = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

/** Greedy word wrap at about `maxChars` per line. */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines : [''];
}

function background(style: RenderStyle, width: number, height: number, rnd: Rng): string {
  const base = `<rect width="100%" height="100%" fill="${style.bgColour}"/>`;
  if (style.bg === 'plain') return base;
  if (style.bg === 'gradient') {
    const other = style.bgColour === '#000000' ? '#3a4a6b' : '#a1c4fd';
    return `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${style.bgColour}"/><stop offset="1" stop-color="${other}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>`;
  }
  // Blotches: flat rectangles; "photo": soft ellipses in many colours, like an out-of-focus scene.
  const n = style.bg === 'blotches' ? 40 : 25;
  const shapes = Array.from({ length: n }, () => {
    const x = Math.floor(rnd() * width);
    const y = Math.floor(rnd() * height);
    if (style.bg === 'blotches') {
      const g = 90 + Math.floor(rnd() * 140);
      return `<rect x="${x}" y="${y}" width="${10 + Math.floor(rnd() * 90)}" height="${10 + Math.floor(rnd() * 60)}" fill="rgb(${g},${g - 10},${g - 25})" opacity="0.3"/>`;
    }
    const c = `rgb(${Math.floor(rnd() * 256)},${Math.floor(rnd() * 256)},${Math.floor(rnd() * 256)})`;
    return `<ellipse cx="${x}" cy="${y}" rx="${20 + Math.floor(rnd() * width * 0.3)}" ry="${20 + Math.floor(rnd() * height * 0.3)}" fill="${c}" opacity="0.35"/>`;
  }).join('');
  return base + shapes;
}

/** The picture of `text` in `style` as PNG or JPEG bytes. */
export async function renderText(text: string, style: RenderStyle, rnd: Rng): Promise<Buffer> {
  const lines = wrapText(text, style.wrap);
  const charWidth = style.size * (/mono/i.test(style.font) ? 0.62 : 0.6);
  const margin = Math.round(style.size * (0.8 + rnd()));
  const width = Math.ceil(Math.max(...lines.map((l) => l.length)) * charWidth + margin * 2);
  const lineHeight = Math.ceil(style.size * 1.35);
  const height = lineHeight * lines.length + margin * 2;
  const tspans = lines
    .map((l, i) => `<tspan x="${margin}" y="${margin + lineHeight * (i + 0.8)}">${escapeXml(l)}</tspan>`)
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `${background(style, width, height, rnd)}<text font-family="${escapeXml(style.font)}" font-size="${style.size}" ` +
    `font-weight="${style.weight}" font-style="${style.italic ? 'italic' : 'normal'}" fill="${style.fg}">${tspans}</text></svg>`;
  let image = sharp(Buffer.from(svg)).flatten({ background: style.bgColour });
  if (style.rotation !== 0) image = image.rotate(style.rotation, { background: style.bgColour });
  if (style.blur > 0) image = image.blur(style.blur);
  let png = await image.png().toBuffer();
  if (style.noise > 0) {
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < data.length; i++) {
      // Sum of three uniforms: roughly Gaussian, cheap and deterministic.
      const n = (rnd() + rnd() + rnd() - 1.5) * 2 * style.noise;
      data[i] = Math.max(0, Math.min(255, Math.round((data[i] ?? 0) + n)));
    }
    png = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .png()
      .toBuffer();
  }
  if (style.jpegQuality > 0) return sharp(png).jpeg({ quality: style.jpegQuality }).toBuffer();
  return png;
}

/** Text as a person would put it on a picture or say it: no URLs, mentions, entities or retweet marks. */
export function displayText(raw: string): string {
  return raw
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#?\w+;/g, ' ')
    .replace(/https?:\/\/\S+|\bURL\b/g, ' ')
    .replace(/(^|\s)RT(\s|:)/g, ' ')
    .replace(/@\w+:?/g, ' ')
    .replace(/\p{Extended_Pictographic}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
