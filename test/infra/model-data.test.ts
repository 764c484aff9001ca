import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ModelData } from '#infra/constructs/model-data.ts';
import { packDirectory } from '#infra/constructs/private/tar.ts';

function modelDir(name: string, files: Record<string, string | Buffer>, manifest?: object): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'model-data-')), name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  const model = files['model.onnx'];
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify(
      manifest ?? {
        name,
        version: '1.0.0',
        file: 'model.onnx',
        sha256: model === undefined ? 'none' : createHash('sha256').update(model).digest('hex'),
      },
    ),
  );
  return dir;
}

describe('model.tar.gz packing', () => {
  const files = {
    'model.onnx': Buffer.alloc(70_000, 7),
    'MODEL_CARD.md': '# card\n',
    'sub/labels.txt': 'a\nb\n',
    '.DS_Store': 'junk',
  };

  it('is byte-for-byte reproducible', () => {
    const a = packDirectory(modelDir('m', files));
    const b = packDirectory(modelDir('m', files));
    expect(a.gzip.equals(b.gzip)).toBe(true);
    expect(a.tarSha256).toBe(b.tarSha256);
    expect(a.gzip[9]).toBe(0xff); // gzip OS byte: "unknown", the same on every platform
  });

  it('puts the model directory at the archive root, sorted, without dotfiles', () => {
    const packed = packDirectory(modelDir('m', files));
    expect(packed.files).toEqual(['MODEL_CARD.md', 'manifest.json', 'model.onnx', 'sub/labels.txt']);
    expect(gunzipSync(packed.gzip).length % 512).toBe(0);
  });

  it('extracts with system tar to the same bytes (what SageMaker does with ModelDataUrl)', () => {
    const dir = modelDir('m', files);
    const out = mkdtempSync(join(tmpdir(), 'extract-'));
    const archive = join(out, 'model.tar.gz');
    writeFileSync(archive, packDirectory(dir).gzip);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    for (const file of ['model.onnx', 'MODEL_CARD.md', 'sub/labels.txt', 'manifest.json']) {
      expect(readFileSync(join(out, file)).equals(readFileSync(join(dir, file))), file).toBe(true);
    }
    const listing = execFileSync('tar', ['-tvzf', archive]).toString();
    expect(listing).toMatch(/-rw-r--r-- .*root\/root/);
  });
});

describe('ModelData.fromAsset', () => {
  it('fails at synth time, with the fix, when the model file was never built', () => {
    const dir = modelDir('image-nsfw', { 'MODEL_CARD.md': 'x' });
    expect(() => ModelData.fromAsset(dir)).toThrow(
      /model\.onnx is missing: build the model artifacts with `npm run models`/,
    );
  });

  it('fails when the model file does not match its manifest checksum', () => {
    const dir = modelDir(
      'm',
      { 'model.onnx': 'v2' },
      { name: 'm', version: '1', file: 'model.onnx', sha256: 'abc' },
    );
    expect(() => ModelData.fromAsset(dir)).toThrow(/has sha256 [0-9a-f]{64} but its manifest says abc/);
  });

  it('fails when the manifest names another model than its directory', () => {
    const dir = modelDir(
      'fusion',
      { 'model.onnx': 'x' },
      { name: 'other', version: '1', file: 'model.onnx' },
    );
    expect(() => ModelData.fromAsset(dir)).toThrow('is named other but its directory is fusion');
  });

  it('reads the model identity from the manifest', () => {
    const dir = modelDir('text-toxicity', { 'model.onnx': 'x' });
    expect(ModelData.fromAsset(dir).identity).toEqual({ name: 'text-toxicity', version: '1.0.0' });
  });
});
