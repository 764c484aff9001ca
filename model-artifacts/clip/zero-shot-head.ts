/**
 * Builds the zero-shot head of a CLIP image model (`head.json`, read by the `clip` image processor in
 * shared/moderation/processors.ts) by running the paired CLIP **text** tower on prompts: each label's
 * prompt embeddings, and the harmless prompts it competes against. Runs once per deployment, offline;
 * the pipeline itself only runs the image tower.
 *
 *   npx tsx model-artifacts/clip/zero-shot-head.ts --text-model DIR [--prompts prompts.json] --out head.json
 *
 * The text-model directory holds the tower's ONNX graph (`input_ids`, `attention_mask` int64
 * [batch, tokens] → `text_embeds`), a manifest with `preprocess: { kind: "clip-bpe", vocab, merges,
 * context }`, and the tokenizer files of a Hugging Face export (`vocab.json`, `merges.txt`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { z } from 'zod';
import { CLIP_CONTEXT, ClipTokenizer } from '#model-artifacts/clip/clip-bpe.ts';
import { loadModel } from '#model-artifacts/server/registry.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

export const PromptsSchema = z.object({
  scale: z.number().positive().default(100),
  prompts: z.record(z.string(), z.array(z.string().min(1)).min(1)),
  negatives: z.array(z.string().min(1)).min(1),
});
export type Prompts = z.infer<typeof PromptsSchema>;

const TextTowerConfig = z.object({
  kind: z.literal('clip-bpe'),
  vocab: z.string().default('vocab.json'),
  merges: z.string().default('merges.txt'),
  context: z.number().int().min(2).default(CLIP_CONTEXT),
  output: z.string().default('text_embeds'),
});

export interface ZeroShotHead {
  kind: 'zero-shot';
  scale: number;
  prompts: Record<string, number[][]>;
  negatives: number[][];
}

/** Embeds prompts with a CLIP text tower and returns the head the image processor reads. */
export async function buildZeroShotHead(textModelDir: string, prompts: Prompts): Promise<ZeroShotHead> {
  const dir = resolve(textModelDir);
  // The registry's loader checks the sha256 and that the graph's signature matches the manifest.
  const { manifest, session } = await loadModel(dir);
  try {
    const config = TextTowerConfig.parse(manifest.preprocess);
    const tokenizer = ClipTokenizer.fromFiles(
      readFileSync(join(dir, config.vocab), 'utf8'),
      readFileSync(join(dir, config.merges), 'utf8'),
    );
    const embed = async (texts: readonly string[]): Promise<number[][]> => {
      const { inputIds, attentionMask } = tokenizer.encodeBatch(texts, config.context);
      const dims = [texts.length, config.context];
      const out = await session.run({
        input_ids: new ort.Tensor('int64', inputIds, dims),
        attention_mask: new ort.Tensor('int64', attentionMask, dims),
      });
      const data = out[config.output]?.data as Float32Array | undefined;
      if (!data) throw new Error(`text tower has no ${config.output} output`);
      const width = data.length / texts.length;
      return texts.map((_, i) =>
        Array.from(data.slice(i * width, (i + 1) * width), (v) => Math.round(v * 1e6) / 1e6),
      );
    };
    const labelled: Record<string, number[][]> = {};
    for (const [label, texts] of Object.entries(prompts.prompts)) labelled[label] = await embed(texts);
    return {
      kind: 'zero-shot',
      scale: prompts.scale,
      prompts: labelled,
      negatives: await embed(prompts.negatives),
    };
  } finally {
    await session.release();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'text-model': { type: 'string' },
      prompts: { type: 'string', default: join(HERE, 'prompts.json') },
      out: { type: 'string' },
    },
  });
  if (!values['text-model'] || !values.out) {
    process.stderr.write('usage: zero-shot-head.ts --text-model DIR [--prompts FILE] --out head.json\n');
    process.exit(2);
  }
  const prompts = PromptsSchema.parse(JSON.parse(readFileSync(values.prompts, 'utf8')));
  buildZeroShotHead(values['text-model'], prompts)
    .then((head) => {
      writeFileSync(values.out as string, `${JSON.stringify(head)}\n`);
      process.stderr.write(
        `wrote ${values.out}: ${Object.keys(head.prompts).join(', ')} + ${head.negatives.length} negatives\n`,
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
