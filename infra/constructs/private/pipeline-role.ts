import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Actions that support no resource-level permissions, so `Resource: *` is the only way to allow
 * them, each with the reason it is needed. Nothing else may be granted on `*`.
 */
export const ACTIONS_WITHOUT_RESOURCES: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments': 'X-Ray tracing (Tracing.ACTIVE) sends trace segments',
  'xray:PutTelemetryRecords': 'X-Ray tracing (Tracing.ACTIVE) sends telemetry',
  'ecr:GetAuthorizationToken': 'grantPull: the registry login before a pull scoped to one repository',
};

/** The cdk-nag finding for a statement on every resource. */
const WILDCARD_RESOURCE_FINDING = 'AwsSolutions-IAM5[Resource::*]';

/**
 * A role that keeps statements on `Resource: *` apart: those whose every action is in
 * `ACTIONS_WITHOUT_RESOURCES` go to a policy of their own (`ResourcelessActions`), and cdk-nag's
 * `Resource::*` finding is acknowledged on that policy only. cdk-nag names the finding by resource
 * alone (`Resource::*`, whatever the action), so an acknowledgement on the role would also pass a
 * new `sagemaker:InvokeEndpoint` on `*`; here such a statement lands in the default policy, where
 * nothing acknowledges it, and fails synth.
 */
export class PipelineRole extends iam.Role {
  private resourceless: iam.Policy | undefined;

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (!isResourcelessStatement(statement)) return super.addToPrincipalPolicy(statement);
    if (!this.resourceless) {
      this.resourceless = new iam.Policy(this, 'ResourcelessActions', { roles: [this] });
      Validations.of(this.resourceless).acknowledge({
        id: WILDCARD_RESOURCE_FINDING,
        reason: `Only actions without resource-level permissions: ${Object.entries(ACTIONS_WITHOUT_RESOURCES)
          .map(([action, why]) => `${action} (${why})`)
          .join('; ')}.`,
      });
    }
    this.resourceless.addStatements(statement);
    return { statementAdded: true, policyDependable: this.resourceless };
  }
}

/** An Allow of only resource-less actions on `*`, with no conditions, principals or negations. */
function isResourcelessStatement(statement: iam.PolicyStatement): boolean {
  return (
    statement.effect === iam.Effect.ALLOW &&
    statement.resources.length === 1 &&
    statement.resources[0] === '*' &&
    statement.actions.length > 0 &&
    statement.actions.every((action) => action in ACTIONS_WITHOUT_RESOURCES) &&
    statement.notActions.length === 0 &&
    statement.notResources.length === 0 &&
    !statement.hasPrincipal
  );
}
