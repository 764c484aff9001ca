/**
 * `npx tsx model-artifacts/matching/robustness.ts [--reference <hasher>] [--unrelated 400] [--synthetic 40] [--keep <dir>]`
 *
 * How often a banked image is still matched (PDQ distance ≤ 31) after the edits re-uploads go
 * through — half size, JPEG quality 60, a 3% crop, a small brightness change, PNG conversion, and a
 * few harder ones (rotation, mirror, 10% crop, a letterbox) — and how many unrelated images match
 * something banked. The banked images are Meta's PDQ test images (../shared/pdq-reference), the
 * repository's sample image and synthetic scenes; the unrelated ones are synthetic scenes, textures
 * and text cards from other seeds.
 *
 * With `--reference`, a reference PDQ hasher (a binary printing `hash,quality,path` per file
 * argument, as the reference's `pdq-photo-hasher` does; with `--pdqdih`, eight hashes before the
 * quality) hashes the same files, and its rates are printed beside ours. Nothing here builds it.
 * Prints Markdown tables (docs/MATCHING.md has the last run).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { DIHEDRAL_NAMES, hammingDistance } from '#shared/matching/pdq.ts';
import { pdqDihedralOfImage, pdqOfImage } from '#shared/matching/signals.ts';

const run = promisify(execFile);
const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const REFERENCE_IMAGES = join(ROOT, '../shared/pdq-reference/images');
const THRESHOLD = 31;
/** The reference's advice: hashes of quality under 50 (flat, featureless images) are not worth matching. */
const MIN_QUALITY = 50;

/** mulberry32: a small seeded generator, so every run makes the same images. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'river stone market window garden cloud engine paper silver orange winter harbour candle mirror forest signal ticket planet violin anchor basket copper desert lantern meadow'.split(
    ' ',
  );

function colour(next: () => number): string {
  const c = () => Math.floor(next() * 256);
  return `rgb(${c()},${c()},${c()})`;
}

/** A random scene: a gradient, 3–9 shapes, maybe a word, some grain. */
async function scene(seed: number): Promise<Buffer> {
  const next = rng(seed);
  const [w, h] = [
    [640, 480],
    [800, 600],
    [1024, 768],
    [512, 512],
    [960, 540],
    [400, 300],
  ][Math.floor(next() * 6)] as [number, number];
  const shapes: string[] = [];
  const n = 3 + Math.floor(next() * 7);
  for (let i = 0; i < n; i++) {
    const x = next() * w;
    const y = next() * h;
    const s = (0.08 + next() * 0.35) * Math.min(w, h);
    const fill = colour(next);
    const opacity = (0.5 + next() * 0.5).toFixed(2);
    const kind = Math.floor(next() * 4);
    if (kind === 0)
      shapes.push(`<circle cx="${x}" cy="${y}" r="${s}" fill="${fill}" fill-opacity="${opacity}"/>`);
    else if (kind === 1)
      shapes.push(
        `<rect x="${x - s}" y="${y - s / 2}" width="${2 * s}" height="${s}" fill="${fill}" fill-opacity="${opacity}" transform="rotate(${next() * 90} ${x} ${y})"/>`,
      );
    else if (kind === 2) {
      const pts = Array.from(
        { length: 3 + Math.floor(next() * 3) },
        () => `${x + (next() - 0.5) * 2 * s},${y + (next() - 0.5) * 2 * s}`,
      );
      shapes.push(`<polygon points="${pts.join(' ')}" fill="${fill}" fill-opacity="${opacity}"/>`);
    } else
      shapes.push(
        `<line x1="${x}" y1="${y}" x2="${next() * w}" y2="${next() * h}" stroke="${fill}" stroke-width="${4 + next() * 30}"/>`,
      );
  }
  const word =
    next() < 0.4
      ? `<text x="${next() * w * 0.5}" y="${h * (0.3 + next() * 0.6)}" font-family="DejaVu Sans" font-size="${h / 8}" fill="${colour(next)}">${WORDS[Math.floor(next() * WORDS.length)]}</text>`
      : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${next().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour(next)}"/><stop offset="1" stop-color="${colour(next)}"/></linearGradient></defs>
    <rect width="${w}" height="${h}" fill="url(#g)"/>${shapes.join('')}${word}</svg>`;
  return sharp(Buffer.from(svg))
    .composite([
      {
        input: {
          create: {
            width: w,
            height: h,
            channels: 4,
            background: '#0000',
            noise: { type: 'gaussian', mean: 128, sigma: 12 },
          },
        },
        blend: 'soft-light',
      },
    ])
    .jpeg({ quality: 88 })
    .toBuffer();
}

/** A smooth random texture: a small random grid enlarged with a cubic kernel. */
async function texture(seed: number): Promise<Buffer> {
  const next = rng(seed);
  const g = 4 + Math.floor(next() * 12);
  const grid = Buffer.from(Array.from({ length: g * g * 3 }, () => Math.floor(next() * 256)));
  return sharp(grid, { raw: { width: g, height: g, channels: 3 } })
    .resize(600, 450, { kernel: 'cubic', fit: 'fill' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A text card: a few words on a flat colour (the kind of image PDQ finds hardest to tell apart). */
async function textCard(seed: number): Promise<Buffer> {
  const next = rng(seed);
  const lines = Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
    Array.from({ length: 2 + Math.floor(next() * 3) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(
      ' ',
    ),
  );
  const size = 36 + Math.floor(next() * 30);
  const text = lines
    .map(
      (l, i) =>
        `<text x="${20 + next() * 80}" y="${80 + i * size * 1.5 + next() * 60}" font-family="DejaVu Sans" font-size="${size}" fill="${colour(next)}">${l}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400"><rect width="640" height="400" fill="${colour(next)}"/>${text}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function synthetic(seed: number): Promise<Buffer> {
  return [scene, scene, texture, textCard][seed % 4]?.(seed) as Promise<Buffer>;
}

/**
 * What is banked per image: its hash, its 8 dihedral hashes (the reference's `--pdqdih`), or its
 * hash and those of six crops (centred 2% and 5%, and 2% off each corner; ours only).
 */
type BankMode = 'original' | 'dihedral' | 'crops';

interface Transform {
  name: string;
  /** In the issue's list (the headline rate), or an extra showing where PDQ is weak. */
  core: boolean;
  /** Extra rows banking more hashes per image: its 8 dihedral hashes, or hashes of crops of it. */
  alsoBank?: BankMode;
  apply(img: Buffer): Promise<{ bytes: Buffer; ext: string }>;
}

const png = async (s: Sharp) => ({ bytes: await s.png().toBuffer(), ext: 'png' });
/** Crops `fraction` of each side's length: centred, or from one corner (0 top-left … 3 bottom-left). */
const crop =
  (fraction: number, centred: boolean, corner = 0) =>
  async (img: Buffer) => {
    const { width = 0, height = 0 } = await sharp(img).metadata();
    const dw = Math.round(width * fraction);
    const dh = Math.round(height * fraction);
    const left = centred ? Math.floor(dw / 2) : corner === 1 || corner === 2 ? dw : 0;
    const top = centred ? Math.floor(dh / 2) : corner >= 2 ? dh : 0;
    return png(sharp(img).extract({ left, top, width: width - dw, height: height - dh }));
  };

/** The crops banked in the 'crops' mode: other amounts than the copies' 3% and 10%, so none is banked as is. */
const BANKED_CROPS = [crop(0.02, true), crop(0.05, true), ...[0, 1, 2, 3].map((c) => crop(0.02, false, c))];

const TRANSFORMS: Transform[] = [
  {
    name: 'half size',
    core: true,
    apply: async (img) => {
      const { width = 0 } = await sharp(img).metadata();
      return png(sharp(img).resize(Math.max(1, Math.round(width / 2))));
    },
  },
  {
    name: 'JPEG quality 60',
    core: true,
    apply: async (img) => ({ bytes: await sharp(img).jpeg({ quality: 60 }).toBuffer(), ext: 'jpg' }),
  },
  { name: '3% crop (centred)', core: true, alsoBank: 'crops', apply: crop(0.03, true) },
  { name: '3% crop (right and bottom edges)', core: true, alsoBank: 'crops', apply: crop(0.03, false) },
  { name: 'brightness +10%', core: true, apply: (img) => png(sharp(img).modulate({ brightness: 1.1 })) },
  { name: 'brightness −10%', core: true, apply: (img) => png(sharp(img).modulate({ brightness: 0.9 })) },
  { name: 'PNG conversion', core: true, apply: (img) => png(sharp(img)) },
  {
    name: 'half size + JPEG 60',
    core: false,
    apply: async (img) => {
      const { width = 0 } = await sharp(img).metadata();
      return {
        bytes: await sharp(img)
          .resize(Math.round(width / 2))
          .jpeg({ quality: 60 })
          .toBuffer(),
        ext: 'jpg',
      };
    },
  },
  { name: '10% crop (centred)', core: false, alsoBank: 'crops', apply: crop(0.1, true) },
  {
    name: 'letterbox (10% black bars)',
    core: false,
    apply: async (img) => {
      const { height = 0 } = await sharp(img).metadata();
      const bar = Math.round(height * 0.1);
      return png(sharp(img).extend({ top: bar, bottom: bar, background: '#000' }));
    },
  },
  { name: 'rotate 90°', core: false, alsoBank: 'dihedral', apply: (img) => png(sharp(img).rotate(90)) },
  { name: 'mirror', core: false, alsoBank: 'dihedral', apply: (img) => png(sharp(img).flop()) },
];

interface Hashed {
  hash: string;
  quality: number;
}

/** Runs the reference hasher over files in batches; path → hash (and the 8 dihedral hashes with --pdqdih). */
async function referenceHashes(binary: string, files: string[], dih: boolean) {
  const out = new Map<string, { hashes: string[]; quality: number }>();
  for (let i = 0; i < files.length; i += 64) {
    const batch = files.slice(i, i + 64);
    const { stdout } = await run(binary, [...(dih ? ['--pdqdih'] : []), ...batch], { maxBuffer: 64 << 20 });
    for (const line of stdout.trim().split('\n')) {
      const parts = line.split(',');
      const path = parts.at(-1) as string;
      out.set(path, { hashes: parts.slice(0, dih ? 8 : 1), quality: Number(parts.at(-2)) });
    }
  }
  return out;
}

const pct = (a: number, b: number) => (b === 0 ? '–' : `${((100 * a) / b).toFixed(1)}%`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reference: { type: 'string' },
      unrelated: { type: 'string', default: '400' },
      synthetic: { type: 'string', default: '40' },
      keep: { type: 'string' },
    },
  });
  const dir = values.keep ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'pdq-robustness-'));
  await mkdir(join(dir, 'banked'), { recursive: true });
  await mkdir(join(dir, 'copies'), { recursive: true });
  await mkdir(join(dir, 'unrelated'), { recursive: true });

  // Banked originals: the reference images, the repository's sample, synthetic scenes.
  const banked: { name: string; path: string; group: string }[] = [];
  if (existsSync(REFERENCE_IMAGES)) {
    for (const f of (await readdir(REFERENCE_IMAGES)).sort()) {
      banked.push({ name: f, path: join(REFERENCE_IMAGES, f), group: 'PDQ test photos' });
    }
  } else {
    process.stderr.write(`robustness: ${REFERENCE_IMAGES} not found; synthetic images only\n`);
  }
  banked.push({ name: 'landscape.png', path: join(ROOT, 'samples/post/landscape.png'), group: 'synthetic' });
  for (let s = 0; s < Number(values.synthetic); s++) {
    const path = join(dir, 'banked', `synthetic-${s}.${s % 4 === 3 ? 'png' : 'jpg'}`);
    await writeFile(path, await synthetic(1000 + s));
    banked.push({ name: `synthetic-${s}`, path, group: 'synthetic' });
  }
  process.stderr.write(
    `robustness: ${banked.length} banked images; making ${TRANSFORMS.length} copies of each\n`,
  );

  const copies: { banked: number; transform: number; path: string }[] = [];
  for (const [b, img] of banked.entries()) {
    const bytes = await readFile(img.path);
    for (const [t, tr] of TRANSFORMS.entries()) {
      const copy = await tr.apply(bytes);
      const path = join(dir, 'copies', `${b}-${t}.${copy.ext}`);
      await writeFile(path, copy.bytes);
      copies.push({ banked: b, transform: t, path });
    }
  }
  const unrelated: string[] = [];
  for (let u = 0; u < Number(values.unrelated); u++) {
    const bytes = await synthetic(100_000 + u);
    const path = join(dir, 'unrelated', `u-${u}.${u % 4 === 3 ? 'png' : 'jpg'}`);
    await writeFile(path, bytes);
    unrelated.push(path);
  }

  // Ours.
  process.stderr.write('robustness: hashing with shared/matching/pdq.ts\n');
  const ours = new Map<string, Hashed>();
  const oursDih = new Map<string, string[]>();
  const oursCrops = new Map<string, string[]>();
  for (const img of banked) {
    const bytes = await readFile(img.path);
    const d = await pdqDihedralOfImage(new Uint8Array(bytes));
    ours.set(img.path, { hash: d.hashes.original, quality: d.quality });
    oursDih.set(
      img.path,
      DIHEDRAL_NAMES.map((n) => d.hashes[n]),
    );
    const crops = [d.hashes.original];
    for (const c of BANKED_CROPS) crops.push((await pdqOfImage(new Uint8Array((await c(bytes)).bytes))).hash);
    oursCrops.set(img.path, crops);
  }
  for (const p of [...copies.map((c) => c.path), ...unrelated]) {
    ours.set(p, await pdqOfImage(new Uint8Array(await readFile(p))));
  }

  // The reference, when given.
  let ref: Map<string, { hashes: string[]; quality: number }> | undefined;
  let refDih: Map<string, { hashes: string[]; quality: number }> | undefined;
  if (values.reference) {
    process.stderr.write(`robustness: hashing with ${values.reference}\n`);
    ref = await referenceHashes(values.reference, [...copies.map((c) => c.path), ...unrelated], false);
    refDih = await referenceHashes(
      values.reference,
      banked.map((b) => b.path),
      true,
    );
  }
  const refOf = (p: string) => ref?.get(p)?.hashes[0];

  // Match rates per transform (dihedral rows: plain, and against all eight banked variants).
  const groups = ['all', 'PDQ test photos', 'synthetic'];
  const lines: string[] = [];
  lines.push(
    `### Transformed copies matched at distance ≤ ${THRESHOLD} (${banked.length} banked images)`,
    '',
    `| copy | ours: matched | ours: mean distance | ${ref ? 'reference: matched | reference: mean distance | ' : ''}ours on PDQ test photos | ours on synthetic |`,
    `|---|---|---|${ref ? '---|---|' : ''}---|---|`,
  );
  /** The hashes banked for image `path` in `mode` (undefined: this hasher has no such mode). */
  const bankOf = (path: string, who: 'ours' | 'ref', mode: BankMode): string[] | undefined => {
    if (who === 'ours') {
      if (mode === 'dihedral') return oursDih.get(path);
      if (mode === 'crops') return oursCrops.get(path);
      return [ours.get(path)?.hash as string];
    }
    if (mode === 'crops') return undefined;
    const hashes = refDih?.get(path)?.hashes;
    return mode === 'dihedral' ? hashes : hashes?.slice(0, 1);
  };
  const rate = (t: number, mode: BankMode, who: 'ours' | 'ref', group: string) => {
    let matched = 0;
    let total = 0;
    let sum = 0;
    for (const c of copies.filter((x) => x.transform === t)) {
      const b = banked[c.banked] as (typeof banked)[number];
      if (group !== 'all' && b.group !== group) continue;
      const copyHash = who === 'ours' ? ours.get(c.path)?.hash : refOf(c.path);
      const bankHashes = bankOf(b.path, who, mode);
      if (!copyHash || !bankHashes || bankHashes.some((h) => !h)) continue;
      const d = Math.min(...bankHashes.map((h) => hammingDistance(copyHash, h)));
      total++;
      sum += d;
      if (d <= THRESHOLD) matched++;
    }
    return { matched, total, mean: total ? (sum / total).toFixed(1) : '–' };
  };
  const core = { ours: { matched: 0, total: 0 }, ref: { matched: 0, total: 0 } };
  for (const [t, tr] of TRANSFORMS.entries()) {
    for (const mode of tr.alsoBank ? (['original', tr.alsoBank] as const) : (['original'] as const)) {
      const o = rate(t, mode, 'ours', 'all');
      const r = ref && mode !== 'crops' ? rate(t, mode, 'ref', 'all') : undefined;
      const photos = rate(t, mode, 'ours', groups[1] as string);
      const synth = rate(t, mode, 'ours', groups[2] as string);
      if (tr.core && mode === 'original') {
        core.ours.matched += o.matched;
        core.ours.total += o.total;
        if (r) {
          core.ref.matched += r.matched;
          core.ref.total += r.total;
        }
      }
      const banking = {
        original: '',
        dihedral: ' — 8 dihedral hashes banked',
        crops: ' — 6 crops banked too',
      }[mode];
      const name = `${tr.name}${banking}${tr.core && mode === 'original' ? '' : ' *'}`;
      const refCells = ref
        ? r
          ? `${r.matched}/${r.total} (${pct(r.matched, r.total)}) | ${r.mean} | `
          : '– | – | '
        : '';
      lines.push(
        `| ${name} | ${o.matched}/${o.total} (${pct(o.matched, o.total)}) | ${o.mean} | ${refCells}${pct(photos.matched, photos.total)} | ${pct(synth.matched, synth.total)} |`,
      );
    }
  }
  lines.push(
    `| **the issue's edits together** | **${core.ours.matched}/${core.ours.total} (${pct(core.ours.matched, core.ours.total)})** | | ${ref ? `**${core.ref.matched}/${core.ref.total} (${pct(core.ref.matched, core.ref.total)})** | | ` : ''} | |`,
    '',
    "\\* not in the issue's list, or more than the one hash banked: where PDQ is weak, and what helps.",
    '',
  );

  // False matches: unrelated images against every banked hash (and its dihedral variants), and among themselves.
  const falseMatches = (who: 'ours' | 'ref', mode: BankMode) => {
    let count = 0;
    let minD = 256;
    for (const u of unrelated) {
      const uh = who === 'ours' ? ours.get(u)?.hash : refOf(u);
      if (!uh) continue;
      let hit = false;
      for (const b of banked) {
        for (const h of bankOf(b.path, who, mode) ?? []) {
          if (!h) continue;
          const d = hammingDistance(uh, h);
          minD = Math.min(minD, d);
          if (d <= THRESHOLD) hit = true;
        }
      }
      if (hit) count++;
    }
    return { count, minD };
  };
  const pairs = (who: 'ours' | 'ref') => {
    const hashes = unrelated
      .map((u) => (who === 'ours' ? ours.get(u)?.hash : refOf(u)))
      .filter(Boolean) as string[];
    const quality = unrelated.map((u) => (who === 'ours' ? ours.get(u)?.quality : ref?.get(u)?.quality) ?? 0);
    let within = 0;
    let withinGood = 0;
    let minD = 256;
    let n = 0;
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) {
        const d = hammingDistance(hashes[i] as string, hashes[j] as string);
        n++;
        minD = Math.min(minD, d);
        if (d <= THRESHOLD) {
          within++;
          if ((quality[i] ?? 0) >= MIN_QUALITY && (quality[j] ?? 0) >= MIN_QUALITY) withinGood++;
        }
      }
    }
    return { within, withinGood, minD, n };
  };
  const fo = falseMatches('ours', 'original');
  const fod = falseMatches('ours', 'dihedral');
  const foc = falseMatches('ours', 'crops');
  const po = pairs('ours');
  const fr = ref ? falseMatches('ref', 'original') : undefined;
  const frd = ref ? falseMatches('ref', 'dihedral') : undefined;
  const pr = ref ? pairs('ref') : undefined;
  lines.push(
    `### Unrelated images (${unrelated.length} synthetic scenes, textures and text cards)`,
    '',
    `| measure | ours | ${ref ? 'reference |' : ''}`,
    `|---|---|${ref ? '---|' : ''}`,
    `| unrelated images matching a banked hash (≤ ${THRESHOLD}) | ${fo.count} (nearest: ${fo.minD} bits) | ${fr ? `${fr.count} (nearest: ${fr.minD} bits) |` : ''}`,
    `| … against all 8 dihedral hashes of each banked image | ${fod.count} (nearest: ${fod.minD} bits) | ${frd ? `${frd.count} (nearest: ${frd.minD} bits) |` : ''}`,
    `| … against each banked image and 6 crops of it | ${foc.count} (nearest: ${foc.minD} bits) | ${ref ? '– |' : ''}`,
    `| pairs of unrelated images within ${THRESHOLD} bits | ${po.within} of ${po.n} (nearest: ${po.minD} bits) | ${pr ? `${pr.within} of ${pr.n} (nearest: ${pr.minD} bits) |` : ''}`,
    `| … of those, both hashes of quality ≥ ${MIN_QUALITY} | ${po.withinGood} | ${pr ? `${pr.withinGood} |` : ''}`,
    '',
  );
  const lowQuality = banked.filter((b) => (ours.get(b.path)?.quality ?? 0) < MIN_QUALITY).map((b) => b.name);
  lines.push(`Banked images with quality < ${MIN_QUALITY}: ${lowQuality.join(', ') || 'none'}.`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`robustness: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
