/**
 * Kept model inputs (KEEP_INPUTS): the document's round trip, its bounds and refusals, and the
 * judge keeping exactly what the models read — on the S3 path and the API path — without ever
 * losing a verdict to a failed put.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadPack } from '#model-artifacts/models/default-pack.ts';
import { submissionOf } from '#shared/api/submission.ts';
import { KEPT_INPUTS } from '#shared/contracts/kept-inputs.ts';
import { verdictKey } from '#shared/events/s3-notification.ts';
import { parseBankFile } from '#shared/matching/banks.ts';
import { staticMatchLists } from '#shared/matching/store.ts';
import type { Collected, ImageItem, TextItem } from '#shared/modalities/types.ts';
import {
  createS3InputsKeeper,
  decodeKeptInputs,
  encodeKeptInputs,
  KeptInputsError,
  keptInputsKey,
  type NotKeptReason,
} from '#shared/moderation/kept-inputs.ts';
import { createModelGateway } from '#shared/moderation/models.ts';
import { moderateContent, submissionKey } from '#shared/moderation/moderate-content.ts';
import { moderateObject } from '#shared/moderation/moderate-object.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import type { VerdictStore } from '#shared/verdict/store.ts';
import { testEngines } from '#test/fixtures/engines.ts';
import { fixedInference } from '#test/fixtures/inference/fixed-inference.ts';

const pack = loadPack();
const SIZE = pack.image.size;
const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

/** A deterministic image of the pack's input size. */
const pixels = (seed: number) => new Uint8Array(SIZE * SIZE * 3).map((_, i) => (i * 31 + seed * 7) % 256);

const collected = (): Collected => ({
  contentType: 'application/vnd.moderation.post+json',
  channels: {
    text: [
      { source: 'api://t/x#text', text: 'héllo 👋 \u202eevil\u202c zalgo ẑ̸̢͉', range: [0, 22] },
      // A lone surrogate: JSON keeps it, so the model reads the same string again.
      { source: 'api://t/x#text', text: 'cut \ud83d here', range: [22, 31] },
    ],
    image: [
      { source: 'media/0', pixels: pixels(1) },
      { source: 'media/1', pixels: pixels(2), timestampMs: 500 },
    ],
    ocr: [{ source: 'media/0', text: 'SALE 50%', timestampMs: 0, timeRangeMs: [0, 1000] }],
  },
  partial: true,
  notes: ['media/2: the video is longer than 60 s; the rest was not scored'],
  spotted: {
    speech: [
      {
        source: 'media/2',
        keyphrase: 'kill you',
        excerpt: 'i will',
        timeRangeMs: [10, 90],
        scores: { violence: 0.8 },
      },
    ],
  },
  engines: { 'ocr-tesseract': '5.1.1' },
  signals: [{ signalType: 'md5', signal: 'ab'.repeat(16), source: 'media/0' }],
});

const kept = { name: 'default', imageSize: SIZE };

describe('the kept-inputs document', () => {
  it('round-trips text items and pixels exactly, with partial, notes, spotted evidence and engines', () => {
    const original = collected();
    const bytes = encodeKeptInputs(original, 'all', kept);
    if (bytes === 'too-large') throw new Error('unexpected');
    const back = decodeKeptInputs(bytes);

    expect(back).toMatchObject({ keep: 'all', modelPack: 'default', imageSize: SIZE, omitted: {} });
    const { signals: _, ...modelInputs } = original;
    // Pixels compare byte for byte; signals are not kept (matching is not re-run).
    expect(back.collected).toEqual(modelInputs);
    const images = back.collected.channels.image as ImageItem[];
    expect(Buffer.from(images[1]!.pixels).equals(Buffer.from(pixels(2)))).toBe(true);
    expect((back.collected.channels.text as TextItem[])[1]!.text).toBe('cut \ud83d here');
  });

  it('keeps only the text channels with `text`, counting the image items it left out', () => {
    const bytes = encodeKeptInputs(collected(), 'text', kept) as Uint8Array;
    const back = decodeKeptInputs(bytes);

    expect(Object.keys(back.collected.channels).sort()).toEqual(['ocr', 'text']);
    expect(back.omitted).toEqual({ image: 2 });
    expect(back.keep).toBe('text');
    // The pixels were nearly all of it.
    const all = encodeKeptInputs(collected(), 'all', kept) as Uint8Array;
    expect(bytes.byteLength * 100).toBeLessThan(all.byteLength);
  });

  it('is not built when it would be over the bound (a post of many long videos)', () => {
    const frame = pixels(3);
    const frames = Math.ceil(KEPT_INPUTS.maxBytes / ((4 * frame.byteLength) / 3)) + 1;
    const huge: Collected = {
      contentType: 'video/mp4',
      channels: {
        image: Array.from({ length: frames }, (_, i) => ({ source: 'v', pixels: frame, timestampMs: i })),
      },
      partial: false,
    };
    expect(encodeKeptInputs(huge, 'all', kept)).toBe('too-large');
    // The same video's text alone is kept.
    expect(encodeKeptInputs(huge, 'text', kept)).toBeInstanceOf(Uint8Array);
  });

  it('refuses another format, an unknown channel and pixels of the wrong size, saying which', () => {
    const doc = JSON.parse(Buffer.from(encodeKeptInputs(collected(), 'all', kept) as Uint8Array).toString());
    const bytes = (d: unknown) => Buffer.from(JSON.stringify(d));
    expect(() => decodeKeptInputs(bytes({ ...doc, format: 'moderation.kept-inputs/0' }))).toThrow(/format/);
    expect(() => decodeKeptInputs(bytes({ ...doc, channels: { thumbnail: [] } }))).toThrow(
      /unknown channel "thumbnail"/,
    );
    expect(() => decodeKeptInputs(bytes({ ...doc, imageSize: SIZE + 1 }))).toThrow(
      new RegExp(`channel image item 0: ${SIZE * SIZE * 3} pixel bytes, not ${SIZE + 1}`),
    );
    expect(() => decodeKeptInputs(Buffer.from('{"format":'))).toThrow(KeptInputsError);
    const noText = structuredClone(doc);
    delete noText.channels.text[0].text;
    expect(() => decodeKeptInputs(bytes(noText))).toThrow(/channel text item 0: text/);
  });

  it('is keyed by a hash of the verdict key: fixed length, not the upload name, the same on a redelivery', () => {
    const pk = `bucket/uploads/${'very-long-name-'.repeat(70)}.txt#v1`;
    const key = keptInputsKey(pk);
    expect(key).toBe(`inputs/${createHash('sha256').update(pk).digest('hex')}`);
    expect(key).toHaveLength('inputs/'.length + 64);
    expect(keptInputsKey(pk)).toBe(key);
    expect(keptInputsKey(`${pk}2`)).not.toBe(key);
    expect(key).not.toContain('very-long-name');
  });
});

describe('the S3 keeper', () => {
  it('puts the document under inputs/ and names it; a failed put is reported and names nothing', async () => {
    s3.on(PutObjectCommand).resolves({});
    const notKept: NotKeptReason[] = [];
    const keeper = createS3InputsKeeper({
      s3: s3 as unknown as S3Client,
      bucket: 'uploads',
      mode: 'all',
      onNotKept: (reason) => notKept.push(reason),
    });
    const ref = await keeper.keep('b/k#v', collected(), kept);
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'uploads',
      Key: keptInputsKey('b/k#v'),
      ContentType: 'application/json',
    });
    expect(ref).toEqual({
      uri: `s3://uploads/${keptInputsKey('b/k#v')}`,
      keep: 'all',
      bytes: (put.Body as Uint8Array).byteLength,
    });

    s3.on(PutObjectCommand).rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
    expect(await keeper.keep('b/k#v', collected(), kept)).toBeUndefined();
    expect(notKept).toEqual(['put-failed']);
  });
});

/** The default pack's gateway over a fixed endpoint, recording what each model was given. */
function recordingModels() {
  const seen = { texts: [] as string[], images: [] as Uint8Array[] };
  const gateway = createModelGateway(fixedInference(pack), pack);
  return {
    seen,
    models: {
      ...gateway,
      scoreTexts: (texts: string[]) => {
        seen.texts.push(...texts);
        return gateway.scoreTexts(texts);
      },
      scoreImages: (images: Uint8Array[]) => {
        seen.images.push(...images);
        return gateway.scoreImages(images);
      },
    },
  };
}

const memory = (): VerdictStore & { puts: number } => {
  const store = {
    puts: 0,
    get: async () => undefined,
    putOnce: async () => {
      store.puts++;
      return 'written' as const;
    },
    advanceLatest: async () => 'unordered' as const,
    getCurrent: async () => undefined,
  };
  return store;
};

/** What the keeper put, read back. */
const putDocument = () => {
  const calls = s3.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  return decodeKeptInputs(calls[0]!.args[0].input.Body as Uint8Array);
};

describe('the judge keeps what the models read', () => {
  const keeper = (onNotKept?: (r: NotKeptReason) => void) =>
    createS3InputsKeeper({ s3: s3 as unknown as S3Client, bucket: 'uploads', mode: 'all', onNotKept });

  it('on the API path: the texts and the very pixels of a post, named by the verdict', async () => {
    s3.on(PutObjectCommand).resolves({});
    const { models, seen } = recordingModels();
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer();
    const sub = submissionOf('acme', 'my garden is lovely', [new Uint8Array(png)]);
    const deps = {
      store: memory(),
      models,
      policy: loadPolicy('balanced'),
      engines: testEngines('sync', { ocr: () => undefined }),
      inputs: keeper(),
    };

    const { verdict } = await moderateContent(sub, deps);

    const doc = putDocument();
    const key = keptInputsKey(submissionKey(sub, deps.policy.version));
    expect(verdict.inputs).toEqual({ uri: `s3://uploads/${key}`, keep: 'all', bytes: expect.any(Number) });
    const texts = Object.values(doc.collected.channels)
      .flat()
      .filter((i): i is TextItem => 'text' in i);
    expect(texts.map((t) => t.text)).toEqual(seen.texts);
    const images = (doc.collected.channels.image ?? []) as ImageItem[];
    expect(images).toHaveLength(1);
    expect(seen.images).toHaveLength(1);
    expect(Buffer.from(images[0]!.pixels).equals(Buffer.from(seen.images[0]!))).toBe(true);
    expect(verdict.timings.keepInputsMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps nothing for a request that asked not to be stored', async () => {
    const deps = {
      store: memory(),
      models: recordingModels().models,
      policy: loadPolicy('balanced'),
      engines: testEngines('sync'),
      inputs: keeper(),
    };
    const { verdict } = await moderateContent(submissionOf('acme', 'hello', []), deps, { store: false });
    expect(verdict.inputs).toBeUndefined();
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('on the S3 path: writes the verdict without inputs when the put fails, and says so', async () => {
    const body = Buffer.from('you are a lovely person');
    s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([body])) }));
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const notKept: NotKeptReason[] = [];
    const store = memory();
    const ref = { bucket: 'uploads', key: 'uploads/a.txt', versionId: 'v1', size: body.byteLength };

    const result = await moderateObject(ref, {
      s3: s3 as unknown as S3Client,
      store,
      models: recordingModels().models,
      policy: loadPolicy('balanced'),
      engines: testEngines('sync'),
      inputs: keeper((r) => notKept.push(r)),
    });

    expect(result.outcome).toBe('written');
    expect(store.puts).toBe(1);
    expect(result.verdict.decision).not.toBe('error');
    expect(result.verdict.inputs).toBeUndefined();
    expect(notKept).toEqual(['put-failed']);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(keptInputsKey(verdictKey(ref)));
  });

  it('keeps nothing for a deny-bank match (no model ran) or an upload that is an error', async () => {
    s3.on(PutObjectCommand).resolves({});
    const banned = Buffer.from('buy cheap pills at example.com');
    const [spam] = parseBankFile(`md5,${createHash('md5').update(banned).digest('hex')},spam.txt\n`, {
      kind: 'deny',
      file: 'spam.csv',
      label: 'spam',
    });
    const moderate = (bytes: Buffer) => {
      s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkStreamMixin(Readable.from([bytes])) }));
      return moderateObject(
        { bucket: 'uploads', key: 'uploads/x', versionId: 'v1', size: bytes.byteLength },
        {
          s3: s3 as unknown as S3Client,
          store: memory(),
          models: recordingModels().models,
          policy: loadPolicy('balanced'),
          engines: testEngines('sync'),
          matchLists: staticMatchLists({ banks: [spam!] }),
          inputs: keeper(),
        },
      );
    };

    const known = await moderate(banned);
    expect(known.verdict).toMatchObject({ decision: 'block', categories: {} });
    const empty = await moderate(Buffer.alloc(0));
    expect(empty.verdict.decision).toBe('error');
    for (const { verdict } of [known, empty]) expect(verdict.inputs).toBeUndefined();
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
