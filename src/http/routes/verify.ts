import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CREDENTIAL_MAX, VERIFIED_FIELDS, VerifyAnswer, VerifyBody, type VerifiedFields } from '../../contract/verify.js';
import { AppError, fieldError, forbidden, unauthenticated } from '../../domain/errors.js';
import { andThen, type MaybePromise } from '../../domain/maybe-promise.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import type { Principal } from '../../domain/principal.js';
import { VERIFY_CODES } from '../../domain/verification.js';
import type { Services } from '../../services/index.js';
import type { Credential, Verification } from '../../services/verification-service.js';
import { bearerToken, guard } from '../auth.js';
import { REFUSAL_REASONS } from '../credentials.js';
import { problems } from '../schemas.js';

/**
 * How each field of the answer for a valid credential is read from it: one entry per field of
 * `VERIFIED_FIELDS` (the compiler holds the two together), written in the schema's order.
 */
const READ: { [F in keyof VerifiedFields]-?: (c: Credential) => VerifiedFields[F] } = {
  keyId: (c) => c.keyId,
  account: (c) => c.accountId,
  environment: (c) => c.environment,
  scopes: (c) => [...c.scopes],
  roles: (c) => c.roles.map((r) => ({ definition: r.definition, level: r.level })),
  channel: (c) => c.channel,
  expiresAt: (c) => c.expiresAtIso,
  grantId: (c) => c.token?.grant?.id,
  keyAccount: (c) => c.token?.grant?.keyAccountId,
};
const FIELDS = Object.keys(VERIFIED_FIELDS) as (keyof VerifiedFields)[];

/** The answers for invalid credentials, serialised once. */
const REFUSALS = Object.fromEntries(VERIFY_CODES.map((code) => [code, JSON.stringify({ valid: false, code })]));

/**
 * The answer for a valid credential never changes while the credential is cached, so it is
 * serialised once per credential, with exactly the fields of the schema (absent ones left out).
 */
const VALID_ANSWERS = new WeakMap<Credential, string>();

function toAnswer(result: Verification): string {
  const c = result.credential;
  if (!result.valid || c === null) return REFUSALS[result.code]!;
  let json = VALID_ANSWERS.get(c);
  if (json === undefined) {
    const answer: Record<string, unknown> = { valid: true, code: 'valid' };
    for (const field of FIELDS) {
      const value = READ[field](c);
      if (value !== undefined) answer[field] = value;
    }
    json = JSON.stringify(answer);
    VALID_ANSWERS.set(c, json);
  }
  return json;
}

/**
 * Marks a serialised answer as JSON and returns it: Fastify sends strings as they are. It is typed
 * as the answer it holds, which `toAnswer` wrote from the schema's own field list.
 */
function json(reply: FastifyReply, body: string): VerifyAnswer {
  reply.type('application/json; charset=utf-8');
  return body as unknown as VerifyAnswer;
}

/** The headers and the body of a /v1/verify answer. */
function answer(reply: FastifyReply, result: Verification): VerifyAnswer {
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
export const verifyRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { verification } = services.tokens;

  app.post(
    '/v1/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Is this token key or access token valid, for which account, environment and scopes?',
        description:
          "Send the credential as `key` or as `token` (either field takes a token key or an access token: Keyport tells them apart). An invalid credential is a normal 200 answer with `valid: false` and a stable `code`. A key's rate limit is counted here; its state is in the RateLimit-* headers. The caller needs 'keys.verify' on the credential's account.",
        body: VerifyBody,
        response: { 200: VerifyAnswer, ...problems(400, 401, 403) },
      },
    },
    (request, reply) => {
      // Synchronous while the caller's token and the credential are cached: no promise per request.
      return andThen(guard(services.auth, request, {}), ({ principal }) => verify(principal, request.body, reply));
    },
  );

  function verify(principal: Principal, body: VerifyBody, reply: FastifyReply): MaybePromise<VerifyAnswer> {
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
    return andThen(pending, (result) => answer(reply, result));
  }

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['verification'],
        summary: 'What the calling token key or access token stands for (what /v1/verify would answer)',
        description: 'Send your token key or access token as "Authorization: Bearer ...". 401 when it is not valid.',
        security: [{ bearer: [] }],
        response: { 200: VerifyAnswer, ...problems(401, 429) },
      },
    },
    async (request, reply) => {
      const credential = bearerToken(request);
      if (credential === null)
        throw unauthenticated('Send your token key or access token as "Authorization: Bearer <credential>".');
      const result = await verification.verify(credential);
      setRateLimit(reply, result);
      if (result.code === 'rate_limited')
        throw new AppError('rate_limited', `The key's rate limit is used up; try again in ${result.rateLimit!.resetSeconds} seconds.`);
      if (!result.valid) {
        reply.header('www-authenticate', `Bearer realm="keyport", error="invalid_token"`);
        throw unauthenticated(`The credential ${REFUSAL_REASONS[result.code as Exclude<typeof result.code, 'valid'>]} (${result.code}).`);
      }
      return json(reply, toAnswer(result));
    },
  );
};
