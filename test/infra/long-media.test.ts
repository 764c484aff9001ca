/**
 * The media path (docs/MEDIA.md, "Where media is decoded"): its queue and DLQ, the media function
 * (the moderate handler in long mode, as a container image with ffmpeg), the moderate function that
 * forwards every upload needing ffmpeg to it, the event sources, the grants and the alarms.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LONG_MEDIA_FUNCTION } from '#infra/stacks/moderation-pipeline-stack.ts';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };
type Fn = {
  Properties: {
    Environment: { Variables: Record<string, unknown> };
    Timeout: number;
    PackageType?: string;
    Code: Record<string, unknown>;
    Runtime?: string;
    Handler?: string;
    Layers?: unknown;
    Architectures?: string[];
    EphemeralStorage?: { Size: number };
  };
};

describe('long media: asynchronous path', () => {
  let p: TestPipeline;
  const idOf = (c: IConstruct) => logicalId(p, c);
  const statementsOf = (role: IConstruct) =>
    (Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[])
      .filter((pol) => pol.Properties.Roles.some((r) => r.Ref === idOf(role)))
      .flatMap((pol) => pol.Properties.PolicyDocument.Statement);
  const allows = (role: IConstruct, action: string, resource?: unknown) =>
    statementsOf(role).some(
      (s) =>
        s.Effect === 'Allow' &&
        (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action) &&
        (resource === undefined || JSON.stringify(s.Resource).includes(JSON.stringify(resource))),
    );
  const fn = (c: IConstruct) => p.template.toJSON().Resources[idOf(c)] as Fn;

  beforeAll(() => {
    p = buildPipeline('dev');
  });

  it('has a KMS-encrypted queue with its own key, a DLQ after 5 receives and visibility ≥ 6 × the timeout', () => {
    const { queue, deadLetterQueue, key } = p.stack.longMedia;
    expect(idOf(key)).not.toBe(idOf(p.stack.ingest.queueKey));
    const props = p.template.toJSON().Resources[idOf(queue)].Properties;
    expect(props.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [idOf(key), 'Arn'] });
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * LONG_MEDIA_FUNCTION.timeout.toSeconds());
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [idOf(deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    // enforceSSL on both queues: a deny without TLS.
    for (const q of [queue, deadLetterQueue]) {
      p.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: idOf(q) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('runs the same handler in long mode, with a longer timeout, more memory and a small reservation', () => {
    const long = fn(p.stack.longMediaFunction.function);
    const moderate = fn(p.stack.moderateFunction.function);
    p.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MEDIA_MODE: 'long', MEDIA_DECODING: 'local' }) },
      Timeout: LONG_MEDIA_FUNCTION.timeout.toSeconds(),
      MemorySize: LONG_MEDIA_FUNCTION.memorySizeMb,
      ReservedConcurrentExecutions: LONG_MEDIA_FUNCTION.reservedConcurrency,
      EphemeralStorage: { Size: LONG_MEDIA_FUNCTION.ephemeralStorageMiB },
    });
    expect(long.Properties.Environment.Variables.MEDIA_MODE).toBe('long');
    expect(long.Properties.Environment.Variables.LONG_MEDIA_QUEUE_URL).toBeUndefined();
    expect(long.Properties.Environment.Variables.TABLE_NAME).toEqual(
      moderate.Properties.Environment.Variables.TABLE_NAME,
    );
    // The synchronous function knows where to forward, and forwards everything that needs ffmpeg.
    expect(moderate.Properties.Environment.Variables).toMatchObject({
      MEDIA_MODE: 'sync',
      MEDIA_DECODING: 'forward',
      LONG_MEDIA_QUEUE_URL: { Ref: idOf(p.stack.longMedia.queue) },
    });
  });

  it('deploys the media function as a container image, the moderate function as a zip without ffmpeg', () => {
    const media = fn(p.stack.longMediaFunction.function).Properties;
    const moderate = fn(p.stack.moderateFunction.function).Properties;
    // An image from the CDK assets repository, for the configured architecture; no managed runtime.
    expect(media.PackageType).toBe('Image');
    expect(JSON.stringify(media.Code.ImageUri)).toContain('container-assets');
    expect(media.Runtime).toBeUndefined();
    expect(media.Handler).toBeUndefined();
    expect(media.Architectures).toEqual(['arm64']);
    // Built from the media Dockerfile (the asset manifest `cdk deploy` builds and pushes from).
    const assembly = p.app.synth();
    const manifest = JSON.parse(
      readFileSync(join(assembly.directory, `${p.stack.artifactId}.assets.json`), 'utf8'),
    ) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages).filter(
      (image) => image.source.dockerFile === LONG_MEDIA_FUNCTION.dockerfile,
    );
    expect(images).toHaveLength(1);
    expect(images[0]?.source.platform).toBe('linux/arm64');
    // The synchronous function stays a zip on the managed Node runtime, with no layer: no ffmpeg.
    expect(moderate.PackageType).toBeUndefined();
    expect(moderate.Runtime).toBe('nodejs22.x');
    expect(moderate.Layers).toBeUndefined();
  });

  it('consumes the long-media queue one message at a time, reporting item failures', () => {
    p.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf(p.stack.longMedia.queue), 'Arn'] },
      FunctionName: { Ref: idOf(p.stack.longMediaFunction.function) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Pollers never exceed the reservation, so messages are not throttled into the DLQ.
      ScalingConfig: { MaximumConcurrency: LONG_MEDIA_FUNCTION.reservedConcurrency },
    });
  });

  it('drains the long-media DLQ with the dead-letter function, so nothing is lost', () => {
    p.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf(p.stack.longMedia.deadLetterQueue), 'Arn'] },
      FunctionName: { Ref: idOf(p.stack.deadLetterFunction.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the moderate function send to the queue, and the long-media function do what moderation needs', () => {
    const queueArn = { 'Fn::GetAtt': [idOf(p.stack.longMedia.queue), 'Arn'] };
    const keyArn = { 'Fn::GetAtt': [idOf(p.stack.longMedia.key), 'Arn'] };
    const moderateRole = p.stack.moderateFunction.role;
    const longRole = p.stack.longMediaFunction.role;
    expect(allows(moderateRole, 'sqs:SendMessage', queueArn)).toBe(true);
    expect(allows(moderateRole, 'kms:GenerateDataKey*', keyArn)).toBe(true);
    expect(allows(longRole, 'sqs:ReceiveMessage', queueArn)).toBe(true);
    expect(allows(longRole, 'sqs:SendMessage')).toBe(false);
    expect(allows(longRole, 'dynamodb:PutItem')).toBe(true);
    expect(allows(longRole, 's3:GetObject*')).toBe(true);
    expect(allows(longRole, 'sagemaker:InvokeEndpoint')).toBe(true);
    // Everything the moderate function may do, the long-media function may do, except forwarding.
    const actions = (role: IConstruct) =>
      new Set(statementsOf(role).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    const longActions = actions(longRole);
    const missing = [...actions(moderateRole)].filter((a) => !longActions.has(a) && !a.startsWith('sqs:'));
    expect(missing).toEqual([]);
  });

  it('alarms on the long-media DLQ depth and arrivals, the oldest message age and function errors', () => {
    const alarms = Object.values(p.template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { MetricName: string; Dimensions?: unknown };
    }[];
    const on = (metric: string, queue: IConstruct) =>
      alarms.filter(
        (a) =>
          a.Properties.MetricName === metric &&
          JSON.stringify(a.Properties.Dimensions).includes(
            JSON.stringify({ 'Fn::GetAtt': [idOf(queue), 'QueueName'] }),
          ),
      );
    expect(on('ApproximateNumberOfMessagesVisible', p.stack.longMedia.deadLetterQueue)).toHaveLength(1);
    expect(on('NumberOfMessagesReceived', p.stack.longMedia.deadLetterQueue)).toHaveLength(1);
    expect(on('ApproximateAgeOfOldestMessage', p.stack.longMedia.queue)).toHaveLength(1);
    const errors = alarms.filter(
      (a) =>
        a.Properties.MetricName === 'Errors' &&
        JSON.stringify(a.Properties.Dimensions).includes(idOf(p.stack.longMediaFunction.function)),
    );
    expect(errors).toHaveLength(1);
  });
});
