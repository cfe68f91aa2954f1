import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ACCESS_LEVELS } from '../../domain/catalog.js';
import { ENVIRONMENTS, type Environment } from '../../domain/environment.js';
import { AppError, fieldError, forbidden } from '../../domain/errors.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import type { Principal } from '../../domain/principal.js';
import type { Services } from '../../services/index.js';
import type { Credential, Verification } from '../../services/verification-service.js';
import { bearerToken, guard } from '../auth.js';
import { CREDENTIAL_MAX, REFUSAL_REASONS } from '../credentials.js';
import { problems } from '../schemas.js';

type VerifyBody = { key?: string; token?: string; environment?: Environment; scopes?: string[] };

export const VERIFY_CODES = ['valid', 'unknown', 'malformed', 'inactive', 'expired', 'revoked', 'wrong_environment', 'insufficient_scope', 'rate_limited'] as const;

/** The answer of /v1/verify; every field but `valid` and `code` only when the credential is valid. */
const verifyAnswer = {
  type: 'object',
  properties: {
    valid: { type: 'boolean' },
    code: { type: 'string', enum: VERIFY_CODES, description: 'Why not valid (stable), or `valid`.' },
    keyId: { type: 'string' },
    account: { type: 'string' },
    environment: { type: 'string', enum: ENVIRONMENTS },
    scopes: { type: 'array', items: { type: 'string' } },
    roles: {
      type: 'array',
      items: { type: 'object', properties: { definition: { type: 'string' }, level: { type: 'string', enum: ACCESS_LEVELS } } },
    },
    channel: { type: ['string', 'null'] },
    expiresAt: { type: ['string', 'null'], format: 'date-time', description: 'When the key or token expires; null for a key without expiry.' },
    grantId: { type: 'string', description: 'Tokens for another account (external keys) only: the grant they were issued under.' },
    keyAccount: { type: 'string', description: 'Tokens for another account only: the account owning the key (`account` is the granting one).' },
  },
} as const;

/** The answers for invalid credentials, serialised once. */
const REFUSALS = Object.fromEntries(VERIFY_CODES.map((code) => [code, JSON.stringify({ valid: false, code })]));

/**
 * The answer for a valid credential never changes while the credential is cached, so it is
 * serialised once per credential. It lists exactly the fields of `verifyAnswer`, like the schema's
 * serialiser would.
 */
const VALID_ANSWERS = new WeakMap<Credential, string>();

function toAnswer(result: Verification): string {
  const c = result.credential;
  if (!result.valid || c === null) return REFUSALS[result.code]!;
  let json = VALID_ANSWERS.get(c);
  if (json === undefined) {
    json = JSON.stringify({
      valid: true,
      code: 'valid',
      keyId: c.keyId,
      account: c.accountId,
      environment: c.environment,
      scopes: c.scopes,
      roles: c.roles.map((r) => ({ definition: r.definition, level: r.level })),
      channel: c.channel,
      expiresAt: c.expiresAtIso,
      ...(c.token?.grant ? { grantId: c.token.grant.id, keyAccount: c.token.grant.keyAccountId } : {}),
    });
    VALID_ANSWERS.set(c, json);
  }
  return json;
}

/** Marks a serialised body as JSON and returns it (Fastify sends strings as they are). */
function json(reply: FastifyReply, body: string): string {
  reply.type('application/json; charset=utf-8');
  return body;
}

/** The headers and the body of a /v1/verify answer. */
function answer(reply: FastifyReply, result: Verification): string {
  setRateLimit(reply, result);
  return json(reply, toAnswer(result));
}

function setRateLimit(reply: FastifyReply, result: Verification): void {
  if (result.rateLimit !== null) {
    reply.headers(rateLimitHeaders(result.rateLimit));
    if (!result.rateLimit.allowed) reply.header('retry-after', String(result.rateLimit.resetSeconds));
  }
}

/**
 * The verification hot path for resource servers and gateways (`POST /v1/verify`), and
 * `GET /v1/whoami` for integrations checking their own credential.
 */
export const verifyRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { verification } = services.tokens;

  app.post<{ Body: VerifyBody }>(
    '/v1/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Is this token key or access token valid, for which account, environment and scopes?',
        description:
          "Send the credential as `key` or as `token` (either field takes a token key or an access token: Keyport tells them apart). An invalid credential is a normal 200 answer with `valid: false` and a stable `code`. A key's rate limit is counted here; its state is in the RateLimit-* headers. The caller needs 'keys.verify' on the credential's account.",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            key: { type: 'string', description: `A token key or an access token, 1 to ${CREDENTIAL_MAX} characters.` },
            token: { type: 'string', description: `An access token or a token key, 1 to ${CREDENTIAL_MAX} characters.` },
            environment: { type: 'string', enum: ENVIRONMENTS, description: 'The environment the caller serves: a credential of the other one is refused.' },
            scopes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 }, description: 'Scopes the credential must all hold.' },
          },
        },
        response: { 200: verifyAnswer, ...problems(400, 401, 403) },
      },
    },
    (request, reply) => {
      // Synchronous while the caller's token and the credential are cached: no promise per request.
      const actor = guard(services.auth, request, {});
      return actor instanceof Promise ? actor.then(({ principal }) => verify(principal, request.body, reply)) : verify(actor.principal, request.body, reply);
    },
  );

  function verify(principal: Principal, body: VerifyBody, reply: FastifyReply): string | Promise<string> {
    const { key, token, environment, scopes } = body;
    if ((key === undefined) === (token === undefined))
      throw fieldError(key === undefined ? '/key' : '/token', 'Send exactly one of "key" (a token key) or "token" (an access token).');
    const credential = (key ?? token)!;
    if (credential.length === 0 || credential.length > CREDENTIAL_MAX)
      throw fieldError(key === undefined ? '/token' : '/key', `must be 1 to ${CREDENTIAL_MAX} characters long`);
    const pending = verification.verify(credential, { environment, scopes }, (accountId) => {
      if (!principal.permissionsOn(accountId).has('keys.verify'))
        throw forbidden(`Verifying credentials of account '${accountId}' needs the 'keys.verify' permission on it.`);
    });
    return pending instanceof Promise ? pending.then((result) => answer(reply, result)) : answer(reply, pending);
  }

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['verification'],
        summary: 'What the calling token key or access token stands for (what /v1/verify would answer)',
        description: 'Send your token key or access token as "Authorization: Bearer ...". 401 when it is not valid.',
        security: [{ bearer: [] }],
        response: { 200: verifyAnswer, ...problems(401, 429) },
      },
    },
    async (request, reply) => {
      const credential = bearerToken(request);
      if (credential === null)
        throw new AppError('unauthenticated', 401, 'Authentication required', 'Send your token key or access token as "Authorization: Bearer <credential>".');
      const result = await verification.verify(credential);
      setRateLimit(reply, result);
      if (result.code === 'rate_limited')
        throw new AppError('rate_limited', 429, 'Rate limit reached', `The key's rate limit is used up; try again in ${result.rateLimit!.resetSeconds} seconds.`);
      if (!result.valid) {
        reply.header('www-authenticate', `Bearer realm="keyport", error="invalid_token"`);
        throw new AppError('unauthenticated', 401, 'Authentication required', `The credential ${REFUSAL_REASONS[result.code] ?? result.code} (${result.code}).`);
      }
      return json(reply, toAnswer(result));
    },
  );
};
