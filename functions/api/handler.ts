import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'hono';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { DEFAULT_PACK_MANIFESTS } from '#model-artifacts/models/default-pack.ts';
import { type ApiDeps, type Authenticated, createApiApp } from '#shared/api/app.ts';
import { authenticateBearer, type CognitoSettings, createCognitoAuthenticator } from '#shared/api/cognito.ts';
import {
  callerFromAuthorizer,
  type Keyring,
  presentedKey,
  refusalFromAuthorizer,
  secretKeyring,
} from '#shared/api/keys.ts';
import type { FetchPolicy } from '#shared/api/media.ts';
import { createRateLimiter, type RateLimiter } from '#shared/api/rate-limit.ts';
import { type AwsClients, createAwsClients } from '#shared/clients/aws.ts';
import { logger, metrics } from '#shared/clients/powertools.ts';
import { type ApiEnv, type PipelineEnv, readApiEnv, readPipelineEnv } from '#shared/contracts/env.ts';
import { decisionMetric } from '#shared/contracts/metrics.ts';
import { createEngines, type Engines } from '#shared/engines/engines.ts';
import { pseudonym } from '#shared/logging/redact.ts';
import { addSignalsToBank } from '#shared/matching/store.ts';
import type { ContentModeratorDeps } from '#shared/moderation/moderate-content.ts';
import { inputsKeeperFromEnv, matchListsFromEnv, modelsFromEnv } from '#shared/moderation/wiring.ts';
import { loadPolicy } from '#shared/policy/policy.ts';
import { type DecisionEvents, eventBridgeDecisions, NO_DECISION_EVENTS } from '#shared/review/events.ts';
import { createReviewStore } from '#shared/review/store.ts';
import { createVerdictStore } from '#shared/verdict/store.ts';

export interface ApiFunctionDeps {
  clients: AwsClients;
  engines: Engines;
  /**
   * Checks presented keys (API_AUTH=keys). The tenants' webhooks are the webhook sender's.
   * @default the API_KEYS_SECRET_ARN secret's table
   */
  keyring: Keyring | (() => Promise<Keyring>);
  rateLimiter: RateLimiter;
  /** Where decision events go. @default EventBridge (EVENT_BUS_NAME), or nowhere when unset */
  decisionEvents: DecisionEvents;
  /** How long a reviewer's claim lasts. @default 5 minutes */
  reviewLeaseMs: number;
  /**
   * Reviewers' Cognito sign-in, with API_AUTH=keys (the authorizer verifies tokens otherwise).
   * @default COGNITO_USER_POOL_ID / COGNITO_CLIENT_ID, or none (keys only)
   */
  cognito: CognitoSettings;
}

type Bindings = { event?: LambdaEvent };

/** The caller API Gateway's authorizer identified (functions/api-authorizer), from the Lambda event. */
function authorizerCaller(c: Context): Authenticated {
  const event = (c.env as Bindings | undefined)?.event as
    | { requestContext?: { authorizer?: { lambda?: unknown } } }
    | undefined;
  const context = event?.requestContext?.authorizer?.lambda;
  const refused = refusalFromAuthorizer(context);
  return refused ? { refused } : callerFromAuthorizer(context);
}

/**
 * The API for one configuration: the moderation deps of each policy a key names are built on first
 * use and kept (policy, its term lists; the models and engines are shared by all).
 */
export function createApiFunctionApp(env: PipelineEnv, api: ApiEnv, deps: Partial<ApiFunctionDeps> = {}) {
  const { s3, doc, sagemaker, eventBridge } = deps.clients ?? createAwsClients(env);
  const engines = deps.engines ?? createEngines(env.engines, 'sync');
  // A caller is waiting on each request: batch only what arrives in the same turn of the event
  // loop, instead of holding every model call for the queue consumers' 2 ms window.
  const models = modelsFromEnv(env, sagemaker, DEFAULT_PACK_MANIFESTS, { coalesceWindowMs: 0 });
  const store = createVerdictStore(doc, env.tableName);
  const inputs = inputsKeeperFromEnv(env, s3, logger, metrics);
  const byPolicy = new Map<string, ContentModeratorDeps>();
  const moderatorFor = (policyName: string) => {
    let moderator = byPolicy.get(policyName);
    if (!moderator) {
      moderator = {
        store,
        models,
        engines,
        inputs,
        deferMediaDecoding: env.mediaDecoding === 'none',
        policy: loadPolicy(policyName),
        matchLists: matchListsFromEnv({ ...env, policyName }, s3, logger),
      };
      byPolicy.set(policyName, moderator);
    }
    return moderator;
  };
  const keyring = deps.keyring ?? secretKeyring(api.keysSecretArn);
  const currentKeyring = async () => (typeof keyring === 'function' ? keyring() : keyring);
  const cognito = deps.cognito ?? api.cognito;
  const verifyToken = cognito && createCognitoAuthenticator(cognito);
  const authenticate: ApiDeps['authenticate'] =
    api.auth === 'authorizer'
      ? authorizerCaller
      : async (c) => {
          const presented = presentedKey(c.req.header('authorization'), c.req.query('key'));
          const result = await authenticateBearer(presented, await currentKeyring(), verifyToken);
          return result && 'caller' in result ? result.caller : result;
        };
  const fetch: FetchPolicy = {
    allowedHosts: new Set(api.fetch.allowedHosts),
    maxBytes: api.fetch.maxBytes,
    timeoutMs: api.fetch.timeoutMs,
  };
  return createApiApp({
    moderatorFor,
    store,
    authenticate,
    rateLimiter:
      deps.rateLimiter ??
      createRateLimiter({ doc, tableName: api.rateLimitTableName, defaultPerMinute: api.rateLimitPerMinute }),
    fetch,
    modelName: `moderation-pipeline/${models.pack.text.name}-${models.pack.text.version}`,
    onModerated(verdict, outcome, caller) {
      // Pseudonyms only: request content never reaches the logs.
      logger.info('moderated', {
        object: pseudonym(verdict.object),
        key: caller.keyId,
        decision: verdict.decision,
        outcome,
        totalMs: verdict.timings.totalMs,
      });
      if (outcome === 'written') metrics.addMetric(decisionMetric(verdict.decision), MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
    onServerError: (err) => logger.error('request failed', { error: String(err) }),
    ...(api.auditTableName && {
      review: {
        store: createReviewStore({
          doc,
          tableName: env.tableName,
          auditTableName: api.auditTableName,
          ...(deps.reviewLeaseMs !== undefined && { leaseMs: deps.reviewLeaseMs }),
        }),
        verdicts: store,
        events:
          deps.decisionEvents ??
          (env.eventBusName ? eventBridgeDecisions(eventBridge, env.eventBusName) : NO_DECISION_EVENTS),
        addToBank: (bank, kind, label, signals) =>
          addSignalsToBank(s3, env.matchLists.bucket, { bank, label, signals, createAs: kind }),
        onAfterDecisionError: (what, err) =>
          logger.warn(`${what} failed after a decision`, { error: String(err) }),
      },
    }),
  });
}

export const handler = handle(createApiFunctionApp(readPipelineEnv(), readApiEnv()));
