/**
 * The signals of an upload: MD5/SHA-256 of the bytes, PDQ of a still image, and PDQ per sampled
 * frame (with its time) of an animated GIF and of a video, near-identical consecutive frames skipped.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { hammingDistance, pdqHash } from '#shared/matching/pdq.ts';
import {
  byteSignals,
  formatPdqLine,
  frameSignals,
  imageSignals,
  pdqDihedralOfImage,
  videoSignals,
} from '#shared/matching/signals.ts';
import { slideshow } from '#test/fixtures/media/generate.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

const IMAGES = join(REPO_ROOT, '../shared/pdq-reference/images');
const read = (name: string) => new Uint8Array(readFileSync(join(IMAGES, name)));

let street: Uint8Array;
let office: Uint8Array;
let streetPng: Uint8Array;
let officePng: Uint8Array;

beforeAll(async () => {
  street = read('reg-test-input__labelme-subset__q0122.jpg');
  office = read('reg-test-input__labelme-subset__q0291.jpg');
  streetPng = new Uint8Array(await sharp(street).png().toBuffer());
  officePng = new Uint8Array(await sharp(office).png().toBuffer());
});

describe('imageSignals', () => {
  it('gives MD5, SHA-256 and the PDQ of a still image', async () => {
    // Arrange
    const { data, info } = await sharp(street).raw().toBuffer({ resolveWithObject: true });

    // Act
    const signals = await imageSignals(street, 's3://bucket/a.jpg');

    // Assert
    expect(signals).toEqual([
      {
        signalType: 'md5',
        signal: createHash('md5').update(street).digest('hex'),
        source: 's3://bucket/a.jpg',
      },
      {
        signalType: 'sha256',
        signal: createHash('sha256').update(street).digest('hex'),
        source: 's3://bucket/a.jpg',
      },
      {
        signalType: 'pdq',
        ...(({ hash, quality }) => ({ signal: hash, quality }))(pdqHash(data, info.width, info.height, 3)),
        source: 's3://bucket/a.jpg',
      },
    ]);
  });

  it('hashes the frames of an animated GIF with their times, skipping a near-identical repeat', async () => {
    // Arrange: street, street with one pixel changed, office, street — 400 ms each.
    const dot = Buffer.from([255, 0, 0]);
    const streetDot = await sharp(streetPng)
      .composite([{ input: dot, raw: { width: 1, height: 1, channels: 3 }, left: 10, top: 10 }])
      .png()
      .toBuffer();
    const gif = new Uint8Array(
      await sharp([streetPng, streetDot, officePng, streetPng], { join: { animated: true } })
        .gif({ delay: [400, 400, 400, 400] })
        .toBuffer(),
    );

    // Act
    const pdq = (await imageSignals(gif, 'a.gif')).filter((s) => s.signalType === 'pdq');
    const all = (await imageSignals(gif, 'a.gif', { skipWithin: -1 })).filter((s) => s.signalType === 'pdq');

    // Assert
    expect(all.map((s) => s.frameMs)).toEqual([0, 400, 800, 1200]);
    expect(pdq.map((s) => s.frameMs)).toEqual([0, 800, 1200]);
    const [first, second, third] = pdq.map((s) => s.signal);
    expect(hammingDistance(first ?? '', second ?? '')).toBeGreaterThan(64);
    expect(hammingDistance(first ?? '', third ?? '')).toBeLessThanOrEqual(8);
    expect(pdq.every((s) => s.quality === 100 && s.source === 'a.gif')).toBe(true);
  });

  it('refuses bytes that are not an image with IMAGE_DECODE_FAILED', async () => {
    // Assert
    await expect(imageSignals(new TextEncoder().encode('not an image'), 'x')).rejects.toMatchObject({
      code: 'IMAGE_DECODE_FAILED',
    });
  });

  it('hashes grey and grey+alpha images like their RGB copies', async () => {
    // Arrange
    const grey = new Uint8Array(await sharp(street).greyscale().png().toBuffer());
    const greyAlpha = new Uint8Array(
      await sharp(street)
        .greyscale()
        .joinChannel(Buffer.alloc(256 * 256, 200), { raw: { width: 256, height: 256, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    );
    const greyRgb = new Uint8Array(await sharp(grey).toColourspace('srgb').png().toBuffer());

    // Act
    const [g, ga, rgb] = await Promise.all(
      [grey, greyAlpha, greyRgb].map(async (b) =>
        (await imageSignals(b, 'x')).find((s) => s.signalType === 'pdq'),
      ),
    );

    // Assert
    expect(hammingDistance(g?.signal ?? '', rgb?.signal ?? '')).toBeLessThanOrEqual(2);
    expect(ga?.signal).toBe(g?.signal);
  });
});

describe('frameSignals', () => {
  it('hashes encoded and decoded frames alike, keeping every frame when skipWithin is -1', async () => {
    // Arrange
    const { data, info } = await sharp(streetPng).raw().toBuffer({ resolveWithObject: true });
    const decoded = {
      timestampMs: 40,
      pixels: data,
      width: info.width,
      height: info.height,
      channels: 3 as const,
    };

    // Act
    const kept = await frameSignals([{ timestampMs: 0, png: streetPng }, decoded], 'v', { skipWithin: -1 });
    const skipped = await frameSignals([{ timestampMs: 0, png: streetPng }, decoded], 'v');

    // Assert
    expect(kept.map((s) => [s.frameMs, s.signal])).toEqual([
      [0, kept[0]?.signal],
      [40, kept[0]?.signal],
    ]);
    expect(skipped.map((s) => s.frameMs)).toEqual([0]);
  });
});

describe('videoSignals', () => {
  it('hashes the sampled frames of a video with their times', async () => {
    // Arrange: street for 3 s, then office for 3 s, at the slideshow's 640×360 (no letterbox:
    // PDQ does not see through added borders).
    const wide = await Promise.all(
      [streetPng, officePng].map(
        async (png) => new Uint8Array(await sharp(png).resize(640, 360, { fit: 'fill' }).png().toBuffer()),
      ),
    );
    const mp4 = new Uint8Array(
      await slideshow([
        { png: wide[0] as Uint8Array, seconds: 3 },
        { png: wide[1] as Uint8Array, seconds: 3 },
      ]),
    );
    const stills = await Promise.all(
      wide.map(async (b) => (await imageSignals(b, 'x')).find((s) => s.signalType === 'pdq')?.signal),
    );

    // Act
    const signals = await videoSignals(mp4, 'video/mp4', 'v.mp4');

    // Assert: the two scenes, each close to its still (the video is letterboxed and re-encoded).
    const pdq = signals.filter((s) => s.signalType === 'pdq');
    expect(signals.filter((s) => s.signalType !== 'pdq').map((s) => s.signalType)).toEqual(['md5', 'sha256']);
    expect(pdq.length).toBeGreaterThanOrEqual(2);
    expect(pdq[0]?.frameMs).toBe(0);
    const sceneTwo = pdq.find((s) => (s.frameMs ?? 0) >= 3000);
    expect(sceneTwo).toBeDefined();
    expect(hammingDistance(pdq[0]?.signal ?? '', stills[0] ?? '')).toBeLessThanOrEqual(31);
    expect(hammingDistance(sceneTwo?.signal ?? '', stills[1] ?? '')).toBeLessThanOrEqual(31);
  }, 60_000);
});

describe('formatPdqLine and byteSignals', () => {
  it('prints the reference hasher format, with #t=<ms> for frames', () => {
    // Arrange
    const hash = 'ab'.repeat(32);

    // Assert
    expect(formatPdqLine({ signalType: 'pdq', signal: hash, quality: 87, source: 's' }, 'a.jpg')).toBe(
      `${hash},87,a.jpg`,
    );
    expect(
      formatPdqLine({ signalType: 'pdq', signal: hash, quality: 9, source: 's', frameMs: 1500 }, 'v.mp4'),
    ).toBe(`${hash},9,v.mp4#t=1500`);
    expect(byteSignals(new Uint8Array(), 's').map((s) => s.signal)).toEqual([
      'd41d8cd98f00b204e9800998ecf8427e',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ]);
  });

  it('gives the eight dihedral hashes of an image, the original first', async () => {
    // Act
    const { hashes, quality } = await pdqDihedralOfImage(street);

    // Assert
    const still = (await imageSignals(street, 'x')).find((s) => s.signalType === 'pdq');
    expect(hashes.original).toBe(still?.signal);
    expect(quality).toBe(still?.quality);
    expect(new Set(Object.values(hashes)).size).toBe(8);
  });
});
