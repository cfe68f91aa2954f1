import { InvalidClient, InvalidRequest } from './errors.js';
import type { FormParams } from './form.js';

/** Client credentials as presented (RFC 6749 2.3.1). */
export interface ClientCredentials {
  clientId: string;
  secret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/** Form decoding of one half of Basic credentials (RFC 6749 2.3.1 encodes them before base64). */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Reads the client credentials of a request: HTTP Basic (client_secret_basic) or `client_id` and
 * `client_secret` in the body (client_secret_post). Null when there are none; using both methods at
 * once is an invalid_request (RFC 6749 2.3).
 */
export function readClientCredentials(params: FormParams, authorization: string | undefined): ClientCredentials | null {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined && authorization !== '') {
    const match = /^Basic +([A-Za-z0-9+/=._~-]+) *$/i.exec(authorization);
    if (!match) throw new InvalidClient('Authenticate with HTTP Basic (client id and secret) or with client_id and client_secret in the body.');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    let clientId: string;
    let secret: string;
    try {
      if (colon < 0) throw new Error();
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new InvalidClient('The Authorization header does not hold valid HTTP Basic credentials (client_id:client_secret, form-encoded, then base64).');
    }
    if (bodySecret !== undefined) throw new InvalidRequest('Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
    if (bodyId !== undefined && bodyId !== clientId) throw new InvalidRequest('The client_id in the body differs from the one in the Authorization header.');
    return { clientId, secret, method: 'client_secret_basic' };
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) throw new InvalidRequest("client_secret was sent without client_id.");
    return { clientId: bodyId, secret: bodySecret, method: 'client_secret_post' };
  }
  return null;
}
