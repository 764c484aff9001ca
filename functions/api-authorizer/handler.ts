import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { authorizerContext, type Keyring, presentedKey, secretKeyring } from '#shared/api/keys.ts';
import { readAuthorizerEnv } from '#shared/contracts/env.ts';

/**
 * API Gateway's Lambda authorizer (simple responses): it looks the presented key up in the key
 * table and hands the API function who is calling. It never refuses: a request with no valid key
 * reaches the function marked unauthenticated and gets the API's 401 JSON (shared/api/keys.ts).
 */
export function createAuthorizer(keyring: () => Promise<Keyring>) {
  return async (event: APIGatewayRequestAuthorizerEventV2) => {
    const ring = await keyring();
    const key = presentedKey(event.headers?.authorization, event.queryStringParameters?.key);
    return { isAuthorized: true, context: authorizerContext(ring.authenticate(key)) };
  };
}

export const handler = createAuthorizer(secretKeyring(readAuthorizerEnv().keysSecretArn));
