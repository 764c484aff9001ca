import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNEL_SPECS, CHANNELS, MODALITIES, modalityFor } from '#shared/modalities/registry.ts';
import { REPO_ROOT } from '#test/fixtures/paths.ts';

describe('the modality registry', () => {
  it('gives the fusion channels in the column order the committed fusion model was trained with', () => {
    const manifest = JSON.parse(
      readFileSync(join(REPO_ROOT, 'model-artifacts/models/fusion/manifest.json'), 'utf8'),
    ) as { preprocess: { channels: string[]; channelCategories: Record<string, string[]> } };
    expect(CHANNELS).toEqual(manifest.preprocess.channels);
    for (const spec of CHANNEL_SPECS) {
      expect([...spec.categories].sort()).toEqual(
        [...(manifest.preprocess.channelCategories[spec.name] ?? [])].sort(),
      );
    }
  });

  it('has exactly one modality for every sniffed kind', () => {
    for (const kind of ['text', 'image', 'audio', 'video', 'post'] as const) {
      expect(MODALITIES.filter((m) => m.kinds.includes(kind)).map((m) => m.name)).toEqual([
        modalityFor(kind).name,
      ]);
    }
  });

  it('rejects a kind no modality takes, listing the registered ones', () => {
    expect(() => modalityFor('pdf' as never)).toThrow(
      /no modality takes "pdf"; registered: text \(text\), image/,
    );
  });
});
