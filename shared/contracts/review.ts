/**
 * The review loop's contract with infra/ (docs/REVIEW.md): the decision event the bus carries to the
 * webhook queue's rule, and the Cognito attribute a reviewer's tenant is kept in.
 */

/** A final decision on the bus (the verdict events' source: shared/actions/verdict-actions.ts). */
export const DECISION_EVENT = { source: 'moderation.pipeline', detailType: 'Moderation Decision' } as const;

/** The user pool's custom attribute holding a reviewer's tenant (`custom:tenant` in the ID token). */
export const TENANT_ATTRIBUTE = 'tenant';
