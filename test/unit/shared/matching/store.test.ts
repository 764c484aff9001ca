import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { bankConfigKey, bankImportKey, termListKey } from '#shared/contracts/match-lists.ts';
import { parseBankFile } from '#shared/matching/banks.ts';
import { addSignalsToBank, createS3MatchLists, writeBank } from '#shared/matching/store.ts';

const s3 = mockClient(S3Client);
const client = s3 as unknown as S3Client;
const MD5 = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';

/** A bucket in memory: objects with ETags that change when they are rewritten. */
function bucket(objects: Record<string, string>) {
  const etags = new Map(Object.keys(objects).map((k) => [k, '"1"']));
  s3.on(ListObjectsV2Command).callsFake(({ Prefix }) => ({
    Contents: Object.keys(objects)
      .filter((k) => k.startsWith(Prefix))
      .map((Key) => ({ Key, ETag: etags.get(Key) })),
  }));
  s3.on(GetObjectCommand).callsFake(({ Key }) => ({
    Body: sdkStreamMixin(Readable.from([Buffer.from(objects[Key] ?? '')])),
    ETag: etags.get(Key),
  }));
  return {
    set(key: string, text: string) {
      objects[key] = text;
      etags.set(key, `"${Number(etags.get(key)?.slice(1, -1) ?? 0) + 1}"`);
    },
  };
}

const gets = () => s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key);

describe('banks and term lists in S3', () => {
  beforeEach(() => s3.reset());

  const objects = () => ({
    [bankConfigKey('removals')]: '{"kind":"deny","pdqDistance":20}',
    [bankImportKey('removals')]: `signal_type,signal,bank,label\nmd5,${MD5},removals,spam\n`,
    [termListKey('balanced', 'blocklist')]: 'idiot\n',
    [termListKey('strict', 'blocklist')]: 'not this policy\n',
  });

  it('loads the banks and the policy’s lists at the first call, then keeps them for the TTL', async () => {
    bucket(objects());
    let now = 0;
    const loads: unknown[] = [];
    const source = createS3MatchLists({
      s3: client,
      bucket: 'lists',
      policyName: 'balanced',
      ttlMs: 60_000,
      now: () => now,
      onLoad: (stats) => loads.push(stats),
    });

    const [a, b] = await Promise.all([source.current(), source.current()]);

    expect(a).toBe(b);
    expect(a.banks.banks).toEqual([{ name: 'removals', kind: 'deny', pdqDistance: 20 }]);
    expect(a.banks.match([{ signalType: 'md5', signal: MD5, source: 's' }])[0]).toMatchObject({
      label: 'spam',
    });
    expect(a.terms.match('you idiot')).toHaveLength(1);
    expect(a.terms.match('not this policy')).toEqual([]);
    expect(loads).toEqual([
      expect.objectContaining({ banks: 1, signals: 1, terms: 1, fetched: 3, objects: 3 }),
    ]);
    now = 59_000;
    await source.current();
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2); // banks/ and terms/balanced/, once
  });

  it('after the TTL, fetches only the objects that changed', async () => {
    const store = bucket(objects());
    let now = 0;
    const source = createS3MatchLists({
      s3: client,
      bucket: 'lists',
      policyName: 'balanced',
      ttlMs: 1000,
      now: () => now,
    });
    await source.current();
    now = 2000;
    const unchanged = await source.current();
    store.set(bankImportKey('removals'), `signal_type,signal,bank,label\nmd5,${OTHER},removals,spam\n`);
    now = 4000;
    s3.resetHistory();

    const reloaded = await source.current();

    expect(reloaded).not.toBe(unchanged);
    expect(gets()).toEqual([bankImportKey('removals')]);
    expect(reloaded.banks.match([{ signalType: 'md5', signal: MD5, source: 's' }])).toEqual([]);
    expect(reloaded.banks.match([{ signalType: 'md5', signal: OTHER, source: 's' }])).toHaveLength(1);
  });

  it('fails the first load on a malformed bank, and keeps the loaded lists when a reload fails', async () => {
    const store = bucket({
      ...objects(),
      [bankImportKey('removals')]: `signal_type,signal,bank,label\nmd5,xyz,removals,l\n`,
    });
    let now = 0;
    const errors: unknown[] = [];
    const source = createS3MatchLists({
      s3: client,
      bucket: 'lists',
      policyName: 'balanced',
      ttlMs: 1000,
      now: () => now,
      onError: (e) => errors.push(e),
    });
    await expect(source.current()).rejects.toThrow(/import\.csv line 2: md5 signal "xyz" is not hexadecimal/);

    store.set(bankImportKey('removals'), `signal_type,signal,bank,label\nmd5,${MD5},removals,spam\n`);
    const good = await source.current();
    store.set(bankImportKey('removals'), 'garbage\n');
    now = 5000;

    expect(await source.current()).toBe(good);
    expect(errors).toHaveLength(1);
  });

  it('imports a bank as its settings and its signals', async () => {
    s3.on(PutObjectCommand).resolves({});
    const [bank] = parseBankFile(`md5,${MD5},x.png\n`, { kind: 'allow', file: 'fp.txt', pdqDistance: 12 });

    await writeBank(client, 'lists', bank!);

    const puts = Object.fromEntries(
      s3.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.Key, c.args[0].input.Body]),
    );
    expect(JSON.parse(puts[bankConfigKey('fp')] as string)).toEqual({ kind: 'allow', pdqDistance: 12 });
    expect(puts[bankImportKey('fp')]).toBe(`signal_type,signal,bank,label\nmd5,${MD5},fp,fp\n`);
  });

  it('adds an item’s signals to a bank as one object named by its content (retries write the same)', async () => {
    s3.on(HeadObjectCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const signals = [
      { signalType: 'md5' as const, signal: MD5.toUpperCase() },
      { signalType: 'md5' as const, signal: MD5 },
    ];

    const first = await addSignalsToBank(client, 'lists', {
      bank: 'removals',
      label: 'reviewer: spam',
      signals,
    });
    const again = await addSignalsToBank(client, 'lists', {
      bank: 'removals',
      label: 'reviewer: spam',
      signals,
    });

    expect(first).toBe(again);
    expect(first).toMatch(/^banks\/removals\/signals\/added\/[0-9a-f]{32}\.csv$/);
    const body = s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body;
    expect(body).toBe(`signal_type,signal,bank,label\nmd5,${MD5},removals,reviewer: spam\n`);
  });

  it('refuses to add to a bank that does not exist unless asked to create it', async () => {
    s3.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound' }));
    s3.on(PutObjectCommand).resolves({});
    const signals = [{ signalType: 'md5' as const, signal: MD5 }];
    await expect(addSignalsToBank(client, 'lists', { bank: 'new', label: 'l', signals })).rejects.toThrow(
      /bank new does not exist/,
    );
    await addSignalsToBank(client, 'lists', { bank: 'new', label: 'l', signals, createAs: 'deny' });
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toContain(bankConfigKey('new'));
  });
});
