import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CopyObjectCommand,
  GetObjectTaggingCommand,
  NoSuchKey,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  applyVerdictActions,
  DECISION_TAG,
  POLICY_TAG,
  VERDICT_EVENT,
  VerdictActionError,
  type VerdictEventDetail,
} from '#shared/actions/verdict-actions.ts';
import type { Verdict } from '#shared/domain/verdict.ts';

const s3Mock = mockClient(S3Client);
const ebMock = mockClient(EventBridgeClient);
const deps = {
  s3: new S3Client({ region: 'us-east-1' }),
  eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
  quarantineBucket: 'quarantine',
  eventBusName: 'verdicts-bus',
};

function verdict(overrides: Partial<Verdict> = {}): Verdict {
  return {
    object: 's3://uploads/uploads/user 1/cat.png',
    objectVersion: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    decision: 'allow',
    score: 0.12,
    categories: { sexual: 0.12, hate: 0.01 },
    unscoredCategories: ['violence'],
    reasons: [],
    modalities: { image: { scores: { sexual: 0.12 }, evidence: [{ source: 's3://uploads/x', scores: {} }] } },
    modelVersions: { 'image-nsfw': '1' },
    policyVersion: 'balanced@1.0.0',
    timings: { totalMs: 12 },
    createdAt: '2026-11-22T10:00:00.000Z',
    ...overrides,
  };
}

describe('applyVerdictActions', () => {
  beforeEach(() => {
    s3Mock.reset();
    ebMock.reset();
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'owner', Value: 'u1' }] });
    s3Mock.on(PutObjectTaggingCommand).resolves({});
    s3Mock.on(CopyObjectCommand).resolves({});
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
  });

  it('tags the exact object version with the decision and policy, keeping its other tags', async () => {
    const result = await applyVerdictActions(verdict(), deps);

    expect(result.tagged).toBe(true);
    const input = s3Mock.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'uploads',
      Key: 'uploads/user 1/cat.png',
      VersionId: verdict().objectVersion,
    });
    expect(input.Tagging?.TagSet).toEqual([
      { Key: 'owner', Value: 'u1' },
      { Key: DECISION_TAG, Value: 'allow' },
      { Key: POLICY_TAG, Value: 'balanced@1.0.0' },
    ]);
  });

  it('replaces earlier verdict tags instead of duplicating them', async () => {
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: DECISION_TAG, Value: 'review' }] });

    await applyVerdictActions(verdict({ decision: 'block' }), deps);

    const tags = s3Mock.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input.Tagging?.TagSet;
    expect(tags?.filter((t) => t.Key === DECISION_TAG)).toEqual([{ Key: DECISION_TAG, Value: 'block' }]);
  });

  it('writes only the verdict tags, without reading the upload’s, when the moderation found it untagged', async () => {
    await applyVerdictActions(verdict(), deps, { untagged: true });

    expect(s3Mock.commandCalls(GetObjectTaggingCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input.Tagging?.TagSet).toEqual([
      { Key: DECISION_TAG, Value: 'allow' },
      { Key: POLICY_TAG, Value: 'balanced@1.0.0' },
    ]);
  });

  it('does not pass an ETag as a version id', async () => {
    await applyVerdictActions(verdict({ objectVersion: '"9b2cf535f27731c974343645a3985328"' }), deps);

    expect(s3Mock.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input.VersionId).toBeUndefined();
  });

  it('copies a blocked upload, that exact version, to the quarantine bucket with verdict tags', async () => {
    const result = await applyVerdictActions(verdict({ decision: 'block', score: 0.97 }), deps);

    expect(result.quarantined).toEqual({ bucket: 'quarantine', key: 'uploads/uploads/user 1/cat.png' });
    const copy = s3Mock.commandCalls(CopyObjectCommand)[0]!.args[0].input;
    expect(copy).toMatchObject({
      Bucket: 'quarantine',
      Key: 'uploads/uploads/user 1/cat.png',
      CopySource: `uploads/uploads/user%201/cat.png?versionId=${encodeURIComponent(verdict().objectVersion!)}`,
      TaggingDirective: 'REPLACE',
      Tagging: 'moderation-decision=block&moderation-policy=balanced%401.0.0',
    });
  });

  it('does not quarantine allow, review or error verdicts, nor when no quarantine bucket is configured', async () => {
    for (const decision of ['allow', 'review', 'error'] as const)
      await applyVerdictActions(verdict({ decision }), deps);
    await applyVerdictActions(verdict({ decision: 'block' }), { ...deps, quarantineBucket: '' });

    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('publishes a Moderation Verdict event without the evidence', async () => {
    const result = await applyVerdictActions(verdict({ decision: 'block' }), deps);

    expect(result.eventId).toBe('evt-1');
    const entry = ebMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({
      EventBusName: 'verdicts-bus',
      Source: VERDICT_EVENT.source,
      DetailType: VERDICT_EVENT.detailType,
    });
    expect(VERDICT_EVENT).toEqual({ source: 'moderation.pipeline', detailType: 'Moderation Verdict' });
    const detail = JSON.parse(entry.Detail!) as VerdictEventDetail & { modalities?: unknown };
    expect(detail).toMatchObject({
      verdictKey: `uploads/uploads/user 1/cat.png#${verdict().objectVersion}`,
      decision: 'block',
      score: 0.12,
      policyVersion: 'balanced@1.0.0',
      quarantine: 's3://quarantine/uploads/uploads/user 1/cat.png',
    });
    expect(detail.modalities).toBeUndefined();
  });

  it('skips the event when no bus is configured', async () => {
    const result = await applyVerdictActions(verdict(), { ...deps, eventBusName: '' });

    expect(result.eventId).toBeUndefined();
    expect(ebMock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('still publishes when the upload was deleted before the actions ran', async () => {
    s3Mock
      .on(GetObjectTaggingCommand)
      .rejects(new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } }));

    const result = await applyVerdictActions(verdict({ decision: 'block' }), deps);

    expect(result).toEqual({ tagged: false, eventId: 'evt-1' });
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('throws when S3 fails for another reason, so the message is retried', async () => {
    s3Mock.on(PutObjectTaggingCommand).rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));

    await expect(applyVerdictActions(verdict(), deps)).rejects.toThrow('slow down');
  });

  it('throws when EventBridge rejects the entry', async () => {
    ebMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'rate' }],
    });

    await expect(applyVerdictActions(verdict(), deps)).rejects.toThrow(VerdictActionError);
  });

  it('only publishes for objects that are not in S3 (local paths)', async () => {
    const result = await applyVerdictActions(
      verdict({ object: '/tmp/cat.png', objectVersion: undefined }),
      deps,
    );

    expect(result).toEqual({ tagged: false, eventId: 'evt-1' });
    expect(s3Mock.calls()).toHaveLength(0);
  });
});
