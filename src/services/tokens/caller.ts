import type { Principal } from '../../domain/principal.js';
import type { AuthService } from '../auth-service.js';
import { readClientCredentials } from '../../oauth/client-credentials.js';
import type { ClientAuthenticator, OAuthClient } from './client-auth.js';
import { InvalidClient, InvalidRequest, InvalidToken, REALM } from '../../oauth/errors.js';
import type { OAuthRequest } from '../../oauth/form.js';

/** Who calls introspection or revocation: an OAuth client, or a management principal (a gateway). */
export type Caller = { client: OAuthClient; principal?: undefined } | { principal: Principal; client?: undefined };

/**
 * Authenticates the caller of introspection (RFC 7662 2.1) and revocation (RFC 7009 2.1): a client
 * with its id and secret (Basic or in the body), or a resource server with a management bearer
 * token, such as a gateway's service token.
 */
export async function authenticateCaller(request: OAuthRequest, auth: AuthService, clients: ClientAuthenticator): Promise<Caller> {
  const bearer = /^Bearer +(\S+) *$/i.exec(request.authorization ?? '');
  if (bearer) {
    if (request.params.get('client_secret') !== undefined)
      throw new InvalidRequest('Use one authentication method: a bearer token or client credentials, not both.');
    const principal = await auth.authenticate(bearer[1]!);
    if (!principal) throw new InvalidToken('The bearer token is unknown, expired or revoked.');
    return { principal };
  }
  const credentials = readClientCredentials(request.params, request.authorization);
  if (credentials === null) {
    const error = new InvalidClient('Authenticate with client credentials (HTTP Basic or in the body), or with a management bearer token.');
    error.headers['www-authenticate'] = `Basic realm="${REALM}", Bearer realm="${REALM}"`;
    throw error;
  }
  return { client: await clients.authenticate(credentials, request.sourceAddress) };
}
