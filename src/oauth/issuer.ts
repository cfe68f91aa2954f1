import type { Environment } from '../domain/environment.js';

/**
 * Each environment is its own issuer (RFC 8414), so the wall between sandbox and production holds
 * for resource servers that verify tokens offline: a resource server trusting
 * `https://keys.example.com/production` refuses a sandbox token by its `iss` claim, which every JWT
 * library checks (RFC 9068 4 requires it). Both issuers share the endpoints and the JWKS of the base
 * URL; each has its metadata at `/.well-known/oauth-authorization-server/<environment>` (RFC 8414 3.1).
 */
export const issuerOf = (baseUrl: string, environment: Environment) => `${baseUrl}/${environment}`;
