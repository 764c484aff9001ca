/** Model inputs for the inference benches: what the pipeline sends each model, made up but shaped alike. */
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { MODELS, type ModelName } from '#shared/contracts/models.ts';
import type { Tensor } from '#shared/inference/tensor-codec.ts';
import { featurize, padBatch } from '#shared/text/featurize.ts';

const pack = loadPack();

const SENTENCES = [
  'Thank you so much for the lovely dinner last night, the soup was delicious and the company even better.',
  'You are a worthless idiot and everyone at school laughs at you behind your back.',
  'The meeting has been moved to Thursday at three; please bring the quarterly figures.',
  'Go back to where you came from, nobody wants people like you here.',
  'I loved the film, although the ending felt a little rushed compared with the book.',
  'Shut up, you pathetic loser, nobody asked for your stupid opinion.',
  'Our team won the match on Saturday after a penalty in the last minute of extra time.',
  'If you post that again I will find you and make you regret it.',
];

/** `n` items of the model's input, as the pipeline would send them. */
export function makeInputs(model: ModelName, n: number, offset = 0): Record<string, Tensor> {
  if (model === MODELS.text) {
    const texts = Array.from(
      { length: n },
      (_, i) => `${SENTENCES[(offset + i) % SENTENCES.length]} (${offset + i})`,
    );
    const batch = padBatch(texts.map((t) => featurize(t, pack.text.featurizer)));
    const dims = [n, batch.tokens];
    return {
      ids: { dtype: 'int64', dims, data: batch.ids },
      weights: { dtype: 'float32', dims, data: batch.weights },
    };
  }
  const size = pack.image.size;
  const data = new Uint8Array(n * size * size * 3);
  let x = 12345 + offset;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = x >>> 23;
  }
  return { image: { dtype: 'uint8', dims: [n, size, size, 3], data } };
}

/** The same inputs as onnxruntime tensors, for a raw session. */
export const toOrt = (inputs: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new OrtTensor(t.dtype, t.data, t.dims)]));
