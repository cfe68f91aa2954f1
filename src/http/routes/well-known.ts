import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { publicBaseUrl } from '../public-origin.js';
import type { Config } from '../../config.js';
import { ENVIRONMENTS, type Environment } from '../../domain/environment.js';
import { authorizationServerMetadata } from '../../oauth/metadata.js';
import type { Services } from '../../services/index.js';

const metadataSchema = {
  type: 'object',
  additionalProperties: true,
  properties: { issuer: { type: 'string' }, token_endpoint: { type: 'string' }, jwks_uri: { type: 'string' } },
} as const;

/**
 * Discovery for OAuth clients and resource servers: authorization server metadata (RFC 8414) for
 * the base URL and for each environment's issuer, and the JWK Set of the token signing keys.
 * Public, cacheable for a minute (a new signing key is published well before it signs).
 */
export const wellKnownRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (app, { services, config }) => {
  const baseUrl = (request: FastifyRequest) => publicBaseUrl(config, request);

  app.get(
    '/.well-known/oauth-authorization-server',
    { schema: { tags: ['oauth'], summary: 'Authorization server metadata (RFC 8414)', security: [], response: { 200: metadataSchema } } },
    async (request, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return authorizationServerMetadata(baseUrl(request), services.catalog);
    },
  );

  app.get<{ Params: { environment: string } }>(
    '/.well-known/oauth-authorization-server/:environment',
    {
      schema: {
        tags: ['oauth'],
        summary: "Metadata of one environment's issuer (RFC 8414 3.1): the `iss` of its access tokens",
        security: [],
        params: { type: 'object', properties: { environment: { type: 'string', enum: ENVIRONMENTS } } },
        response: { 200: metadataSchema },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return authorizationServerMetadata(baseUrl(request), services.catalog, request.params.environment as Environment);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['oauth'],
        summary: 'The public keys that sign access tokens (RFC 7517), current, next and still-needed ones',
        security: [],
        response: {
          200: {
            type: 'object',
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { kty: { type: 'string' }, crv: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return services.tokens.oauth.signingKeys.jwks();
    },
  );
};
