import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CopyObjectCommand,
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import { parseS3Uri, s3Uri } from '#shared/contracts/s3-uri.ts';
import type { Verdict } from '#shared/domain/verdict.ts';

/** The EventBridge event every verdict produces (the contract for downstream consumers). */
export const VERDICT_EVENT = { source: 'moderation.pipeline', detailType: 'Moderation Verdict' } as const;

/** Object tags the pipeline sets on each moderated upload (and on quarantine copies). */
export const DECISION_TAG = 'moderation-decision';
export const POLICY_TAG = 'moderation-policy';

export interface VerdictActionsDeps {
  s3: S3Client;
  eventBridge: EventBridgeClient;
  /** Where `block` uploads are copied; empty string disables the copy. */
  quarantineBucket: string;
  /** The bus the verdict event goes to; empty string disables the event. */
  eventBusName: string;
}

export interface VerdictActionsResult {
  /** The upload got the verdict tags (false when it is not in S3 or is gone). */
  tagged: boolean;
  /** Where the quarantine copy went, for `block` verdicts. */
  quarantined?: { bucket: string; key: string };
  /** The EventBridge event id, when one was published. */
  eventId?: string;
}

/** The detail of a `Moderation Verdict` event: the verdict without its evidence (size, privacy). */
export interface VerdictEventDetail {
  verdictKey: string;
  object: string;
  objectVersion?: string;
  decision: Verdict['decision'];
  score: number;
  categories: Verdict['categories'];
  unscoredCategories: Verdict['unscoredCategories'];
  reasons: string[];
  error?: Verdict['error'];
  modelVersions: Record<string, string>;
  policyVersion: string;
  createdAt: string;
  quarantine?: string;
}

/** An action the pipeline must retry (the message goes back to the queue). */
export class VerdictActionError extends Error {
  override name = 'VerdictActionError';
}

/** S3 ETags (MD5 hex, `-N` for multipart), which a verdict carries when the bucket is unversioned. */
const ETAG = /^"?[0-9a-f]{32}(-\d+)?"?$/;
/** Characters S3 accepts in tag values. */
const TAG_UNSAFE = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

/** The S3 version id named by the verdict, if it is one (not an ETag, not the `null` version). */
function versionIdOf(verdict: Verdict): string | undefined {
  const v = verdict.objectVersion;
  if (!v || v === 'null' || ETAG.test(v)) return undefined;
  return v;
}

function tagValue(value: string): string {
  return value.replace(TAG_UNSAFE, '_').slice(0, 256);
}

function isGone(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NoSuchVersion' || e?.$metadata?.httpStatusCode === 404;
}

/** CopySource is `bucket/key?versionId=v`, URL-encoded except for the key's slashes. */
function copySource(bucket: string, key: string, versionId: string | undefined): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

/**
 * Acts on a stored verdict: tags the upload (`moderation-decision`, `moderation-policy`, other tags
 * kept), copies `block` uploads to the quarantine bucket (exactly the moderated version, tagged,
 * under `<source bucket>/<key>`), and publishes a `Moderation Verdict` event. Every step is
 * idempotent except the event, which consumers dedupe on `verdictKey`. Failures throw.
 * `upload.untagged` (the moderation's read just found no tags on it) skips reading the tags to keep.
 */
export async function applyVerdictActions(
  verdict: Verdict,
  deps: VerdictActionsDeps,
  upload: { untagged?: boolean } = {},
): Promise<VerdictActionsResult> {
  const location = parseS3Uri(verdict.object);
  const versionId = versionIdOf(verdict);
  const ours: Tag[] = [
    { Key: DECISION_TAG, Value: tagValue(verdict.decision) },
    { Key: POLICY_TAG, Value: tagValue(verdict.policyVersion) },
  ];
  const result: VerdictActionsResult = { tagged: false };

  if (location) {
    try {
      const { TagSet = [] } = upload.untagged
        ? {}
        : await deps.s3.send(
            new GetObjectTaggingCommand({ Bucket: location.bucket, Key: location.key, VersionId: versionId }),
          );
      const kept = TagSet.filter((t) => t.Key !== DECISION_TAG && t.Key !== POLICY_TAG);
      await deps.s3.send(
        new PutObjectTaggingCommand({
          Bucket: location.bucket,
          Key: location.key,
          VersionId: versionId,
          Tagging: { TagSet: [...kept, ...ours] },
        }),
      );
      result.tagged = true;
    } catch (err) {
      // Deleted since it was moderated: nothing left to tag or quarantine; the event still goes out.
      if (!isGone(err)) throw err;
    }

    if (result.tagged && verdict.decision === 'block' && deps.quarantineBucket) {
      const key = `${location.bucket}/${location.key}`;
      await deps.s3.send(
        new CopyObjectCommand({
          Bucket: deps.quarantineBucket,
          Key: key,
          CopySource: copySource(location.bucket, location.key, versionId),
          MetadataDirective: 'COPY',
          TaggingDirective: 'REPLACE',
          Tagging: new URLSearchParams(
            ours.map((t): [string, string] => [t.Key ?? '', t.Value ?? '']),
          ).toString(),
        }),
      );
      result.quarantined = { bucket: deps.quarantineBucket, key };
    }
  }

  if (deps.eventBusName) {
    const detail: VerdictEventDetail = {
      verdictKey: `${location ? `${location.bucket}/${location.key}` : verdict.object}#${verdict.objectVersion ?? 'unversioned'}`,
      object: verdict.object,
      objectVersion: verdict.objectVersion,
      decision: verdict.decision,
      score: verdict.score,
      categories: verdict.categories,
      unscoredCategories: verdict.unscoredCategories,
      reasons: verdict.reasons,
      error: verdict.error,
      modelVersions: verdict.modelVersions,
      policyVersion: verdict.policyVersion,
      createdAt: verdict.createdAt,
      quarantine: result.quarantined ? s3Uri(result.quarantined) : undefined,
    };
    const out = await deps.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: deps.eventBusName,
            Source: VERDICT_EVENT.source,
            DetailType: VERDICT_EVENT.detailType,
            Detail: JSON.stringify(detail),
            Time: new Date(verdict.createdAt),
          },
        ],
      }),
    );
    const entry = out.Entries?.[0];
    if ((out.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
      throw new VerdictActionError(
        `publishing the verdict event failed: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
    result.eventId = entry.EventId;
  }
  return result;
}
