import type { Catalog } from '../domain/catalog.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { issuerOf } from './issuer.js';

/**
 * Authorization server metadata (RFC 8414 2). The base document describes the base URL; each
 * environment is its own issuer with its own document (`/.well-known/oauth-authorization-server/
 * <environment>`, RFC 8414 3.1), the `iss` of that environment's tokens. All share the endpoints.
 */
export function authorizationServerMetadata(baseUrl: string, catalog: Catalog, environment?: Environment) {
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  return {
    issuer: environment === undefined ? baseUrl : issuerOf(baseUrl, environment),
    token_endpoint: `${baseUrl}/oauth/token`,
    jwks_uri: `${baseUrl}/.well-known/jwks.json`,
    introspection_endpoint: `${baseUrl}/oauth/introspect`,
    revocation_endpoint: `${baseUrl}/oauth/revoke`,
    grant_types_supported: ['client_credentials'],
    // No authorization endpoint: client credentials only.
    response_types_supported: [] as string[],
    token_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    scopes_supported: catalog.allScopes,
    service_documentation: `${baseUrl}/docs`,
    /** Keyport: the issuer of each environment's tokens. */
    environment_issuers: Object.fromEntries(ENVIRONMENTS.map((e) => [e, issuerOf(baseUrl, e)])) as Record<Environment, string>,
  };
}
