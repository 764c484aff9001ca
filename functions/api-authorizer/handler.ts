import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { authenticateBearer, createCognitoAuthenticator, type TokenResult } from '#shared/api/cognito.ts';
import { authorizerContext, type Keyring, presentedKey, secretKeyring } from '#shared/api/keys.ts';
import { readAuthorizerEnv } from '#shared/contracts/env.ts';

/**
 * API Gateway's Lambda authorizer (simple responses): it looks the presented key up in the key
 * table, or verifies a reviewer's Cognito ID token (shared/api/cognito.ts), and hands the API
 * function who is calling. It never refuses: a request with no valid credential reaches the
 * function marked unauthenticated (with the reason, for a token) and gets the API's 401 JSON.
 */
export function createAuthorizer(
  keyring: () => Promise<Keyring>,
  verifyToken?: (token: string) => Promise<TokenResult>,
) {
  return async (event: APIGatewayRequestAuthorizerEventV2) => {
    const presented = presentedKey(event.headers?.authorization, event.queryStringParameters?.key);
    const result = await authenticateBearer(presented, await keyring(), verifyToken);
    return {
      isAuthorized: true,
      context:
        result && 'caller' in result
          ? authorizerContext(result.caller)
          : authorizerContext(undefined, result?.refused),
    };
  };
}

const env = readAuthorizerEnv();
export const handler = createAuthorizer(
  secretKeyring(env.keysSecretArn),
  env.cognito && createCognitoAuthenticator(env.cognito),
);
