import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPipeline, logicalId, type TestPipeline } from './helpers.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Services whose actions here support no resource-level permissions (so `*` is the only choice). */
const RESOURCELESS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'ecr:GetAuthorizationToken'];

function statementsOfRole(p: TestPipeline, role: IConstruct): Statement[] {
  const roleId = logicalId(p, role);
  const policies = Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[];
  return policies
    .filter((pol) => pol.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((pol) => pol.Properties.PolicyDocument.Statement);
}

describe('IAM: grants only', () => {
  for (const envName of ['dev', 'prod']) {
    describe(envName, () => {
      let p: TestPipeline;
      let moderate: Statement[];
      beforeAll(() => {
        p = buildPipeline(envName);
        moderate = statementsOfRole(p, p.stack.moderateFunction.role);
      });

      it('lets the moderate function invoke exactly the pipeline endpoints (and their inference components)', () => {
        const invoke = moderate.filter((s) => actionsOf(s).includes('sagemaker:InvokeEndpoint'));
        expect(invoke).toHaveLength(1);
        expect(actionsOf(invoke[0]!)).toEqual(['sagemaker:InvokeEndpoint']);
        const expected = Object.values(p.stack.endpoints).flatMap((e) => [
          { 'Fn::GetAtt': [logicalId(p, e.endpoint), 'EndpointArn'] },
          ...(e.inferenceComponent
            ? [{ 'Fn::GetAtt': [logicalId(p, e.inferenceComponent), 'InferenceComponentArn'] }]
            : []),
        ]);
        expect(resourcesOf(invoke[0]!)).toEqual(expect.arrayContaining(expected));
        expect(resourcesOf(invoke[0]!)).toHaveLength(expected.length);
        for (const s of moderate) {
          if (actionsOf(s).some((a) => a.startsWith('sagemaker:'))) expect(resourcesOf(s)).not.toContain('*');
        }
      });

      it('has no wildcard resource on any action that supports resource-level permissions', () => {
        const policies = Object.values(p.template.findResources('AWS::IAM::Policy')) as Policy[];
        for (const s of policies.flatMap((pol) => pol.Properties.PolicyDocument.Statement)) {
          if (!resourcesOf(s).includes('*')) continue;
          for (const action of actionsOf(s)) expect(RESOURCELESS, `${action} on *`).toContain(action);
        }
      });

      it('lets the moderate function write verdicts (get/put only), tag uploads and put quarantine copies, no deletes', () => {
        const actions = moderate.flatMap(actionsOf);
        const dynamo = actions.filter((a) => a.startsWith('dynamodb:')).sort();
        expect(dynamo).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
        expect(actions).toEqual(
          expect.arrayContaining(['s3:PutObjectTagging', 's3:PutObject', 'events:PutEvents']),
        );
        expect(actions.filter((a) => /^(s3|dynamodb|events):.*Delete/.test(a))).toEqual([]);
        const put = moderate.find((s) => actionsOf(s).includes('events:PutEvents'))!;
        expect(resourcesOf(put)).toEqual([
          {
            'Fn::GetAtt': [logicalId(p, p.stack.eventBus), 'Arn'],
          },
        ]);
      });

      it('gives the dead-letter function nothing but its queue, its logs, tracing and the verdicts table', () => {
        const actions = statementsOfRole(p, p.stack.deadLetterFunction.role).flatMap(actionsOf);
        const services = new Set(actions.map((a) => a.split(':')[0]));
        expect([...services].sort()).toEqual(['dynamodb', 'kms', 'logs', 'sqs', 'xray']);
      });
    });
  }
});

describe('IAM: kept model inputs (keepInputs)', () => {
  const inputsArn = (p: TestPipeline) => ({
    'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(p, p.stack.ingest.bucket), 'Arn'] }, '/inputs/*']],
  });
  const roles = (p: TestPipeline) => [
    p.stack.moderateFunction.role,
    p.stack.longMediaFunction.role,
    p.stack.api.handler.role,
  ];
  const onInputs = (p: TestPipeline, role: IConstruct) =>
    statementsOfRole(p, role).filter((s) =>
      resourcesOf(s).some((r) => JSON.stringify(r) === JSON.stringify(inputsArn(p))),
    );

  it('lets the three functions that moderate put under inputs/ only: no read, list or delete there', () => {
    const p = buildPipeline('dev', (c) => ({ ...c, keepInputs: { mode: 'all', expirationDays: 30 } }));
    for (const role of roles(p)) {
      const statements = onInputs(p, role);
      expect(statements, role.node.path).toHaveLength(1);
      const actions = actionsOf(statements[0]!);
      expect(actions).toContain('s3:PutObject');
      expect(actions.filter((a) => /^s3:(Get|List|Delete)/.test(a))).toEqual([]);
      // Of the uploads bucket, that prefix alone: not the bucket, not uploads/ (the quarantine
      // bucket's put may share the statement, merged by minimizePolicies).
      const bucketId = logicalId(p, p.stack.ingest.bucket);
      const ofUploadsBucket = resourcesOf(statements[0]!).filter((r) => JSON.stringify(r).includes(bucketId));
      expect(ofUploadsBucket).toEqual([inputsArn(p)]);
    }
    // Encrypted with the uploads bucket's key, as the uploads are.
    const encrypt = statementsOfRole(p, p.stack.api.handler.role).find((s) =>
      actionsOf(s).includes('kms:GenerateDataKey*'),
    );
    expect(resourcesOf(encrypt!)).toContainEqual({
      'Fn::GetAtt': [logicalId(p, p.stack.ingest.bucketKey), 'Arn'],
    });
  });

  it('grants nothing under inputs/ while nothing is kept (the default)', () => {
    const p = buildPipeline('dev');
    for (const role of roles(p)) expect(onInputs(p, role), role.node.path).toEqual([]);
  });
});
