import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hostIssuerRefused, publicBaseUrl } from '../public-origin.js';
import type { Config } from '../../config.js';
import { AppError, STORE_RETRY_AFTER_SECONDS } from '../../domain/errors.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import { InvalidRequest, OAuthError, ServerError, TemporarilyUnavailable } from '../../oauth/errors.js';
import { FormParams, type OAuthRequest } from '../../oauth/form.js';
import type { Services } from '../../services/index.js';
import { isStoreUnavailable } from '../../storage/database.js';
import { CREDENTIAL_NAME, type Logging } from '../logging.js';
import { logServerError } from '../problem.js';
import { inSpan } from '../../services/tracing.js';
import { clientAddress } from '../client-address.js';

const FORM = 'application/x-www-form-urlencoded';

const oauthError = {
  type: 'object',
  description: 'An RFC 6749 section 5.2 error.',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
} as const;

const formBody = (properties: Record<string, { type: 'string'; description: string; enum?: string[] }>, required: string[] = []) => ({
  content: { [FORM]: { schema: { type: 'object', properties, required } } },
});

/** Turns anything thrown under /oauth into an RFC 6749 error; internals never reach the client. */
function toOAuthError(error: FastifyError | Error): OAuthError {
  if (error instanceof OAuthError) return error;
  // An outage (the store unreachable or too slow, or this node unable to vouch for its caches) is
  // temporarily_unavailable, never server_error: clients and gateways retry it.
  if ((error instanceof AppError && error.code === 'store_unavailable') || isStoreUnavailable(error))
    return new TemporarilyUnavailable(STORE_RETRY_AFTER_SECONDS);
  const fe = error as FastifyError;
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new InvalidRequest(`Send the parameters as ${FORM} (RFC 6749).`);
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new OAuthError('invalid_request', 413, 'The request body is too large.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new InvalidRequest(fe.message);
  return new ServerError();
}

/** Query parameters that carry (or look like they carry) a credential. */
const CREDENTIAL_PARAMETER = CREDENTIAL_NAME;

/**
 * The OAuth 2.0 endpoints: token (RFC 6749 4.4), introspection (RFC 7662) and revocation
 * (RFC 7009). Form-encoded requests, RFC 6749 error bodies instead of problem+json, and
 * `Cache-Control: no-store` on every answer, errors included (RFC 6749 5.1).
 */
export const oauthRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config>; logging: Logging }> = async (app, { services, config, logging }) => {
  const { token, introspection, revocation } = services.tokens.oauth;

  // Credentials never travel in the URL (RFC 6749 2.3.1, RFC 7009, RFC 7662): URLs end up in
  // logs, proxies and browser histories. Such a request is refused before anything is checked.
  app.addHook('onRequest', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    const found = query ? Object.keys(query).filter((name) => CREDENTIAL_PARAMETER.test(name)) : [];
    if (found.length > 0)
      throw new InvalidRequest(`Credentials must not be sent in the URL (${found.join(', ')}): send them in the form body or the Authorization header (RFC 6749 2.3.1).`);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const oauth = toOAuthError(error);
    logServerError(logging, request, error, { status: oauth.status, code: oauth.error === 'temporarily_unavailable' ? 'store_unavailable' : oauth.error }, services.metrics);
    return reply.status(oauth.status).headers(oauth.headers).header('x-request-id', request.id).send(oauth.toJSON());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).header('x-request-id', request.id).send({ error: 'invalid_request', error_description: `There is no ${request.method} ${request.url.split('?')[0]} endpoint.` }),
  );

  const read = (request: FastifyRequest): OAuthRequest => ({
    params: FormParams.parse(request.body as string | undefined),
    authorization: request.headers.authorization,
    // The client's address (the forwarded one behind a trusted proxy): throttling and IP allowlists use it.
    sourceAddress: clientAddress(request, config.trustedProxies),
    baseUrl: publicBaseUrl(config, request),
  });
  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.status(405).header('allow', 'POST').send({ error: 'invalid_request', error_description: 'Use POST.' });
  for (const url of ['/token', '/introspect', '/revoke'])
    app.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url, schema: { hide: true }, handler: methodNotAllowed });

  app.post(
    '/token',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Client credentials grant (RFC 6749 4.4): trade a client id and secret for a JWT access token (RFC 9068)',
        description:
          "Authenticate with HTTP Basic (client_secret_basic) or client_id and client_secret in the body (client_secret_post). A key with an IP allowlist is refused from other addresses (403 access_denied; behind a proxy listed in KEYPORT_TRUSTED_PROXIES the forwarded address counts); a key with credits spends one per token, and without any left is refused with 429 usage_exceeded.",
        security: [],
        body: formBody(
          {
            grant_type: { type: 'string', enum: ['client_credentials'], description: 'client_credentials' },
            scope: { type: 'string', description: "Space-separated scopes; narrows the key's scopes (default: all of them)." },
            resource: {
              type: 'string',
              description:
                "RFC 8707 resource indicator: the audience of the token (may repeat). `urn:keyport:account:<account id>` asks for a token FOR that account (alone): with another account than the key's, the key needs an active grant there, and the token carries that account, the grant's roles and scopes only, `grant_id` and `key_account`; no active grant is invalid_target.",
            },
            client_id: { type: 'string', description: 'client_secret_post only.' },
            client_secret: { type: 'string', description: 'client_secret_post only.' },
          },
          ['grant_type'],
        ),
        response: {
          200: {
            type: 'object',
            properties: {
              access_token: { type: 'string' },
              token_type: { type: 'string' },
              expires_in: { type: 'integer' },
              scope: { type: 'string' },
            },
          },
          400: oauthError,
          401: oauthError,
          403: oauthError,
          429: oauthError,
          503: oauthError,
        },
      },
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      if (hostIssuerRefused(config))
        throw new OAuthError('server_error', 500, 'This server has no public URL configured, so it issues no tokens: its operator must set KEYPORT_PUBLIC_URL.');
      const metrics = services.metrics;
      let answer;
      try {
        answer = await inSpan('keyport.oauth.token', request.headers, { 'http.route': '/oauth/token' }, () => token.handle(read(request)), () => 'issued');
      } catch (err) {
        metrics?.verified('/oauth/token', toOAuthError(err as FastifyError).error);
        throw err;
      }
      metrics?.verified('/oauth/token', 'issued');
      if (answer.rateLimit) reply.headers(rateLimitHeaders(answer.rateLimit));
      return answer.body;
    },
  );

  app.post(
    '/introspect',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Token introspection (RFC 7662), for access tokens and token keys',
        description:
          "Authenticate as the client the token was issued to, or with a management bearer token holding 'keys.verify' on the token's account. Keyport adds an optional `environment` parameter: a token of the other environment is inactive.",
        body: formBody(
          {
            token: { type: 'string', description: 'The access token or token key.' },
            token_type_hint: { type: 'string', description: 'Ignored: the token says what it is.' },
            environment: { type: 'string', enum: ['sandbox', 'production'], description: 'Keyport extension.' },
          },
          ['token'],
        ),
        response: { 200: { type: 'object', additionalProperties: true, properties: { active: { type: 'boolean' } } }, 400: oauthError, 401: oauthError, 503: oauthError },
      },
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const answer = await inSpan('keyport.oauth.introspect', request.headers, { 'http.route': '/oauth/introspect' }, () => introspection.handle(read(request)), (a) =>
        a.active ? 'active' : 'inactive',
      );
      services.metrics?.verified('/oauth/introspect', answer.active ? 'active' : 'inactive');
      return answer;
    },
  );

  app.post(
    '/revoke',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Token revocation (RFC 7009): the access token stops at once, on every node',
        description: "Authenticate as the client the token was issued to, or with a management bearer token holding 'keys.edit' on its account.",
        body: formBody({ token: { type: 'string', description: 'The access token.' }, token_type_hint: { type: 'string', description: 'Ignored.' } }, ['token']),
        response: { 200: { type: 'null' }, 400: oauthError, 401: oauthError, 403: oauthError, 503: oauthError },
      },
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      await revocation.handle(read(request));
      return reply.status(200).send();
    },
  );
};
