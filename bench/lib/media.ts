import sharp from 'sharp';

/**
 * A photo-sized JPEG (640×480, noisy, ~140 KB): decode and resize cost like a real upload. Each seed
 * gives different bytes, so no two are the same content to a verdict store or a bank.
 */
export function makeJpeg(seed: number): Promise<Buffer> {
  return sharp({
    create: {
      width: 640,
      height: 480,
      channels: 3,
      background: { r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 31) % 256 },
      noise: { type: 'gaussian', mean: 128, sigma: 30 },
    },
  })
    .jpeg({ quality: 85 })
    .toBuffer();
}
