/**
 * The synchronous API on the local stack: the API function's own app (functions/api/handler.ts),
 * served over HTTP by @hono/node-server on 127.0.0.1, against the stack's emulators. Keys are
 * checked by the app itself (`API_AUTH=keys`), as API Gateway's authorizer does on AWS.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { authenticateBearer, type CognitoSettings, createCognitoAuthenticator } from '#shared/api/cognito.ts';
import { type ApiKeyTable, generateKey, localKeyring, type TenantSettings } from '#shared/api/keys.ts';
import { CONSOLE_PATH } from '#shared/contracts/console.ts';
import { readApiEnv, readPipelineEnv } from '#shared/contracts/env.ts';
import { createConsoleApp, withConsole } from './console.ts';
import { localEventLog } from './event-log.ts';
import type { LocalStack } from './stack.ts';
import { type LocalWebhookRetry, startLocalWebhookQueue } from './webhook-queue.ts';

export interface LocalApiOptions {
  /** @default an ephemeral port */
  port?: number;
  /** The one API key (MODERATION_API_KEY). @default that variable, or a generated key */
  key?: string;
  /** The key's policy preset. @default POLICY_NAME (the stack's) */
  policyName?: string;
  /** The key's requests per minute. @default API_RATE_LIMIT_PER_MINUTE, or 600 */
  ratePerMinute?: number;
  /** Hosts whose image URLs may be fetched. @default API_FETCH_ALLOWED_HOSTS, or none */
  fetchAllowedHosts?: string[];
  /** The reviewer key (MODERATION_REVIEWER_KEY). @default that variable, or a generated key */
  reviewerKey?: string;
  /** The local tenant's webhook, called on every final decision. @default none */
  webhook?: TenantSettings['webhook'];
  /** More keys, as key-table entries (a second reviewer, a lead). */
  extraKeys?: ApiKeyTable['keys'];
  /** How long a claim lasts. @default 5 minutes */
  reviewLeaseMs?: number;
  /** The webhook queue's backoff and receives before its DLQ. @default LOCAL_WEBHOOK_RETRY */
  webhookRetry?: LocalWebhookRetry;
  /** A failure in the webhook sender's polling (not a failed delivery: those are retried). */
  onError?: (err: unknown) => void;
  /**
   * Reviewers sign in to the console with a Cognito user pool's hosted UI, and the API accepts the
   * pool's ID tokens beside the keys. @default COGNITO_USER_POOL_ID / COGNITO_CLIENT_ID's pool for
   * tokens (when set), and the reviewer-key form in the console
   */
  cognito?: LocalCognitoSignIn;
}

/** A user pool whose ID tokens the local API accepts, and its hosted UI, where the console signs in. */
export interface LocalCognitoSignIn extends CognitoSettings {
  /** The hosted UI's base URL: `https://<prefix>.auth.<region>.amazoncognito.com`. */
  signInUrl: string;
  /** @default openid, email, profile */
  scopes?: string[];
}

export interface LocalApi {
  url: string;
  /** The review console (docs/CONSOLE.md), served by the same server. */
  consoleUrl: string;
  port: number;
  key: string;
  reviewerKey: string;
  /** Whether `key` / `reviewerKey` were generated (the caller prints them). */
  generatedKey: boolean;
  generatedReviewerKey: boolean;
  close(): Promise<void>;
}

export const LOCAL_TENANT = 'local';

/** Starts the API on a running local stack (which set the environment it reads). */
export async function startLocalApi(stack: LocalStack, options: LocalApiOptions = {}): Promise<LocalApi> {
  const env = readPipelineEnv();
  const apiEnv = readApiEnv();
  const key = options.key ?? (apiEnv.localKey || generateKey('mod_local'));
  const policy = options.policyName ?? env.policyName;
  const { createApiFunctionApp } = await import('#functions/api/handler.ts');
  const reviewerKey = options.reviewerKey ?? (apiEnv.localReviewerKey || generateKey('mod_review'));
  const keyring = localKeyring(
    { api: key, reviewer: reviewerKey, tenant: LOCAL_TENANT, policy },
    options.webhook ? { webhook: options.webhook } : {},
    options.extraKeys,
  );
  // Decision events: the data folder's event log (EventBridge on AWS), then the webhook queue and
  // its sender, as the stack's rule → SQS → webhook-sender function on AWS.
  const webhooks = await startLocalWebhookQueue({
    sqs: stack.queues.sqs,
    doc: stack.doc,
    auditTableName: apiEnv.auditTableName,
    tenant: (name) => keyring.tenant(name),
    ...(options.webhookRetry && { retry: options.webhookRetry }),
    ...(options.onError && { onError: options.onError }),
  });
  const signIn = options.cognito;
  const cognito: CognitoSettings | undefined = signIn
    ? { userPoolId: signIn.userPoolId, clientId: signIn.clientId, ...(signIn.jwks && { jwks: signIn.jwks }) }
    : apiEnv.cognito;
  const app = createApiFunctionApp(
    env,
    {
      ...apiEnv,
      auth: 'keys',
      rateLimitPerMinute: options.ratePerMinute ?? apiEnv.rateLimitPerMinute,
      fetch: { ...apiEnv.fetch, allowedHosts: options.fetchAllowedHosts ?? apiEnv.fetch.allowedHosts },
    },
    {
      keyring,
      ...(cognito && { cognito }),
      decisionEvents: localEventLog(stack.dataDir, webhooks.send),
      ...(options.reviewLeaseMs !== undefined && { reviewLeaseMs: options.reviewLeaseMs }),
    },
  );
  // The media route accepts the bearers the API does: keys, and the pool's ID tokens.
  const verifyToken = cognito && createCognitoAuthenticator(cognito);
  const consoleApp = await createConsoleApp({
    authenticate: async (presented) => {
      const result = await authenticateBearer(presented, keyring, verifyToken);
      return result && 'caller' in result ? result.caller : undefined;
    },
    ...(signIn && {
      cognito: {
        signInUrl: signIn.signInUrl,
        userPoolClientId: signIn.clientId,
        ...(signIn.scopes && { scopes: signIn.scopes }),
      },
    }),
    doc: stack.doc,
    tableName: stack.tableName,
    s3: stack.s3,
    bucket: stack.bucket,
  });
  const fetch = withConsole(app.fetch, consoleApp);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    consoleUrl: `http://127.0.0.1:${port}${CONSOLE_PATH}`,
    port,
    key,
    reviewerKey,
    generatedKey: options.key === undefined && !apiEnv.localKey,
    generatedReviewerKey: options.reviewerKey === undefined && !apiEnv.localReviewerKey,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await webhooks.stop();
    },
  };
}
