/**
 * The whole pipeline on the local stack: s3rver events → fauxqs → the real handler → the inference
 * server with the real models → dynalite. No mocks anywhere.
 */
import { GetObjectTaggingCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { DECISION_TAG, POLICY_TAG } from '#shared/actions/verdict-actions.ts';
import { VERDICT_TABLE } from '#shared/contracts/verdict-table.ts';
import type { Verdict } from '#shared/domain/verdict.ts';
import { type ObjectRef, verdictKey } from '#shared/events/s3-notification.ts';

let stack: LocalStack;
const verdicts = new Map<string, Verdict>();
const refOf = new Map<string, ObjectRef>();

const inputs: Record<string, () => Promise<Uint8Array> | Uint8Array> = {
  'hateful.txt': () => Buffer.from('I hate you, you worthless stupid idiot. Go back to where you came from.'),
  'benign.txt': () => Buffer.from('Thank you for the lovely dinner last night, the soup was delicious.'),
  'photo with spaces+plus.jpg': () =>
    sharp({ create: { width: 320, height: 240, channels: 3, background: '#4682b4' } })
      .jpeg()
      .toBuffer(),
  'post/manifest.json': () =>
    Buffer.from(
      JSON.stringify({ text: 'You are a pathetic moron and everyone laughs at you', media: ['pic.png'] }),
    ),
  'post/pic.png': () =>
    sharp({ create: { width: 64, height: 64, channels: 3, background: '#eee' } })
      .png()
      .toBuffer(),
  'unreadable.png': () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]),
  'random.bin': () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256)),
};

beforeAll(async () => {
  stack = await startLocalStack();
  const refs = new Map<ObjectRef, string>();
  // The post's medium first: the post must find it when its own notification is processed.
  for (const [name, make] of Object.entries(inputs).reverse()) {
    refs.set(await stack.upload(`it/${name}`, await make()), name);
  }
  const found = await stack.waitForVerdicts([...refs.keys()], { timeoutMs: 90_000 });
  for (const [ref, verdict] of found) {
    verdicts.set(refs.get(ref)!, verdict);
    refOf.set(refs.get(ref)!, ref);
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('local pipeline, end to end', () => {
  it('gives every upload exactly one verdict', () => {
    expect([...verdicts.keys()].sort()).toEqual(Object.keys(inputs).sort());
  });

  it('waits for verdicts exactly as the table holds them (taken from the write that stored each)', async () => {
    for (const [name, ref] of refOf) {
      const { Item } = await stack.doc.send(
        new GetCommand({
          TableName: stack.tableName,
          Key: { [VERDICT_TABLE.partitionKey]: verdictKey(ref) },
          ConsistentRead: true,
        }),
      );
      const { [VERDICT_TABLE.partitionKey]: _pk, ...stored } = Item ?? {};
      expect(verdicts.get(name), name).toEqual(stored);
    }
  });

  it('scores a hateful sentence above a benign one', () => {
    const hateful = verdicts.get('hateful.txt')!;
    const benign = verdicts.get('benign.txt')!;
    expect(hateful.score).toBeGreaterThan(benign.score);
    expect(hateful.categories.harassment! + hateful.categories.hate!).toBeGreaterThan(
      benign.categories.harassment! + benign.categories.hate!,
    );
    expect(benign.decision).toBe('allow');
    expect(hateful.decision).not.toBe('allow');
    expect(hateful.modalities.text?.evidence[0]?.excerpt).toContain('worthless');
    expect(Object.keys(hateful.modelVersions).sort()).toEqual(['fusion', 'text-toxicity']);
  });

  it('moderates an image through the image model, with a key that needed decoding', () => {
    const photo = verdicts.get('photo with spaces+plus.jpg')!;
    expect(photo.object).toBe(`s3://${stack.bucket}/uploads/it/photo with spaces+plus.jpg`);
    expect(photo.contentType).toBe('image/jpeg');
    expect(photo.decision).not.toBe('error');
    const classes = photo.modalities.image?.evidence[0]?.scores ?? {};
    const sum = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'].reduce((a, c) => a + (classes[c] ?? 0), 0);
    expect(sum).toBeCloseTo(1, 3);
    expect(photo.modelVersions['image-nsfw']).toBeTruthy();
    // An image is scored for `sexual` only; the text categories are reported unscored, not invented.
    expect(Object.keys(photo.categories)).toEqual(['sexual']);
    expect(photo.unscoredCategories).toEqual(expect.arrayContaining(['hate', 'violence']));
  });

  it('fuses a post’s caption and media into one verdict', () => {
    const post = verdicts.get('post/manifest.json')!;
    expect(post.decision).not.toBe('error');
    expect(Object.keys(post.modalities).sort()).toEqual(['image', 'text']);
    expect(post.modalities.image?.evidence[0]?.source).toMatch(/post\/pic\.png$/);
    expect(post.categories.harassment).toBeGreaterThan(verdicts.get('benign.txt')!.categories.harassment!);
  });

  it('gives unreadable files an error verdict with a specific code', () => {
    expect(verdicts.get('unreadable.png')?.error?.code).toBe('IMAGE_DECODE_FAILED');
    expect(verdicts.get('random.bin')?.error?.code).toBe('UNSUPPORTED_TYPE');
    expect(verdicts.get('random.bin')?.decision).toBe('error');
  });

  it('tags each upload with its verdict, keeping the tags an uploader set', async () => {
    // An object outside uploads/ gets no notification: tag it first, then notify as S3 would.
    const Key = 'staging/tagged.txt';
    const Body = Buffer.from('See you at the match on Saturday, I will bring the snacks.');
    const put = await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key, Body }));
    const owner = { Key: 'owner', Value: 'u1' };
    await stack.s3.send(
      new PutObjectTaggingCommand({ Bucket: stack.bucket, Key, Tagging: { TagSet: [owner] } }),
    );
    const tagged: ObjectRef = {
      bucket: stack.bucket,
      key: Key,
      eTag: put.ETag?.replace(/"/g, ''),
      size: Body.length,
    };
    await stack.notify([tagged]);
    const found = await stack.waitForVerdicts([tagged], { timeoutMs: 30_000 });
    const decision = found.get(tagged)?.decision;
    expect(decision).toBe('allow');

    // The tags are written beside the latest pointer, after the verdict: wait for them.
    const tagsOf = async (key: string) => {
      for (let i = 0; i < 100; i++) {
        const { TagSet = [] } = await stack.s3.send(
          new GetObjectTaggingCommand({ Bucket: stack.bucket, Key: key }),
        );
        if (TagSet.some((t) => t.Key === DECISION_TAG)) return TagSet;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${key} never got its verdict tags`);
    };
    const policy = verdicts.get('benign.txt')!.policyVersion;
    expect(await tagsOf(Key)).toEqual([
      owner,
      { Key: DECISION_TAG, Value: 'allow' },
      { Key: POLICY_TAG, Value: policy },
    ]);
    expect(await tagsOf(refOf.get('benign.txt')!.key)).toEqual([
      { Key: DECISION_TAG, Value: 'allow' },
      { Key: POLICY_TAG, Value: policy },
    ]);
  });
});
