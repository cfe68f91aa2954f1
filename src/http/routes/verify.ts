import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CREDENTIAL_MAX, VERIFIED_FIELDS, VerifyAnswer, VerifyBody, type VerifiedFields } from '../../contract/verify.js';
import { AppError, fieldError, forbidden, unauthenticated } from '../../domain/errors.js';
import { andThen, type MaybePromise } from '../../domain/maybe-promise.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import type { Principal } from '../../domain/principal.js';
import { VERIFY_CODES } from '../../domain/verification.js';
import type { Services } from '../../services/index.js';
import type { Credential, KeyPolicy, Verification } from '../../services/verification-service.js';
import { isIP } from 'node:net';
import type { Config } from '../../config.js';
import { bearerToken, guard } from '../auth.js';
import { clientAddress } from '../client-address.js';
import { REFUSAL_REASONS } from '../credentials.js';
import { problems } from '../schemas.js';
import { inSpan } from '../../services/tracing.js';

const VERIFY_SPAN = { 'http.route': '/v1/verify' };

/**
 * How each field of the answer for a valid credential is read from it: one entry per field of
 * `VERIFIED_FIELDS` (the compiler holds the two together), written in the schema's order.
 */
const READ: { [F in keyof VerifiedFields]-?: (c: Credential, p: KeyPolicy | null) => VerifiedFields[F] } = {
  keyId: (c) => c.keyId,
  account: (c) => c.accountId,
  environment: (c) => c.environment,
  scopes: (c) => [...c.scopes],
  roles: (c) => c.roles.map((r) => ({ definition: r.definition, level: r.level })),
  channel: (c) => c.channel,
  expiresAt: (c) => c.expiresAtIso,
  grantId: (c) => c.token?.grant?.id,
  keyAccount: (c) => c.token?.grant?.keyAccountId,
  // Like the channel, a key's metadata and owner are its own account's business, not a granting one's.
  meta: (c, p) => (c.token?.grant ? null : (p?.meta ?? null)),
  externalId: (c, p) => (c.token?.grant ? null : (p?.externalId ?? null)),
  // Changes with every use: written per answer, after the rest (see toAnswer).
  credits: () => undefined,
};
const FIELDS = Object.keys(VERIFIED_FIELDS) as (keyof VerifiedFields)[];

/** The answers for invalid credentials, serialised once. */
const REFUSALS = Object.fromEntries(VERIFY_CODES.map((code) => [code, JSON.stringify({ valid: false, code })]));

/**
 * The answer for a valid credential never changes while the credential and its key's policy are
 * cached, so it is serialised once per credential (again when the policy was reloaded), with
 * exactly the fields of the schema (absent ones left out). Only the credits left, the last field,
 * change per use; they are appended for keys that have credits.
 */
const VALID_ANSWERS = new WeakMap<Credential, { policy: KeyPolicy | null; json: string }>();

export function toAnswer(result: Verification): string {
  const c = result.credential;
  if (!result.valid || c === null) return REFUSALS[result.code]!;
  let cached = VALID_ANSWERS.get(c);
  if (cached === undefined || cached.policy !== result.policy) {
    const answer: Record<string, unknown> = { valid: true, code: 'valid' };
    for (const field of FIELDS) {
      const value = READ[field](c, result.policy);
      if (value !== undefined) answer[field] = value;
    }
    cached = { policy: result.policy, json: JSON.stringify(answer) };
    VALID_ANSWERS.set(c, cached);
  }
  return result.credits === null ? cached.json : `${cached.json.slice(0, -1)},"credits":{"remaining":${result.credits}}}`;
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
/** The credential of a /v1/verify body (and of the SDK's lookup), checked beyond what its schema can say. */
export function credentialOf({ key, token, clientIp }: VerifyBody): string {
  if ((key === undefined) === (token === undefined))
    throw fieldError(key === undefined ? '/key' : '/token', 'Send exactly one of "key" (a token key) or "token" (an access token).');
  const credential = (key ?? token)!;
  if (credential.length === 0 || credential.length > CREDENTIAL_MAX)
    throw fieldError(key === undefined ? '/token' : '/key', `must be 1 to ${CREDENTIAL_MAX} characters long`);
  if (clientIp !== undefined && isIP(clientIp) === 0) throw fieldError('/clientIp', `'${clientIp}' is not an IPv4 or IPv6 address`);
  return credential;
}

/** Whether the caller may verify credentials of an account: `keys.verify` there. */
export function mayVerify(principal: Principal): (accountId: string) => void {
  return (accountId) => {
    if (!principal.permissionsOn(accountId).has('keys.verify'))
      // Which account the credential belongs to is not told: a caller may not learn it by asking.
      throw forbidden("Verifying this credential needs the 'keys.verify' permission on the account it belongs to.");
  };
}

export const verifyRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (plugin, { services, config }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { verification } = services.tokens;

  app.post(
    '/v1/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Is this token key or access token valid, for which account, environment and scopes?',
        description:
          "Send the credential as `key` or as `token` (either field takes a token key or an access token: Keyport tells them apart). An invalid credential is a normal 200 answer with `valid: false` and a stable `code`. A key's rate limit is counted here; its state is in the RateLimit-* headers. A key with an IP allowlist needs `clientIp` (`ip_not_allowed` without it or from elsewhere); a key with credits spends `cost` of them (`usage_exceeded` when too few are left) and the answer says how many are left. The caller needs 'keys.verify' on the credential's account.",
        body: VerifyBody,
        response: { 200: VerifyAnswer, ...problems(400, 401, 403) },
      },
    },
    (request, reply) => {
      // Synchronous while the caller's token and the credential are cached: no promise per request.
      return andThen(guard(services.auth, request, {}), ({ principal }) =>
        inSpan('keyport.verify', request.headers, VERIFY_SPAN, () => verify(principal, request.body, reply), outcome),
      );
    },
  );

  function verify(principal: Principal, body: VerifyBody, reply: FastifyReply): MaybePromise<VerifyAnswer> {
    const { environment, scopes, clientIp, cost } = body;
    const pending = verification.verify(credentialOf(body), { environment, scopes, clientIp, cost }, mayVerify(principal));
    const metrics = services.metrics;
    return andThen(pending, (result) => {
      metrics?.verified('/v1/verify', result.code);
      return answer(reply, result);
    });
  }
  // The span's outcome: the code of the serialised answer (read only while a trace records).
  const outcome = (body: VerifyAnswer) => /"code":"([a-z_]+)"/.exec(body as unknown as string)?.[1] ?? 'unknown';

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['verification'],
        summary: 'What the calling token key or access token stands for (what /v1/verify would answer)',
        description: 'Send your token key or access token as "Authorization: Bearer ...". 401 when it is not valid.',
        security: [{ bearer: [] }],
        response: { 200: VerifyAnswer, ...problems(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const credential = bearerToken(request);
      if (credential === null)
        throw unauthenticated('Send your token key or access token as "Authorization: Bearer <credential>".');
      // The integration calls itself: its address is the connection's (or the forwarded one behind a
      // trusted proxy). Asking who it is spends no credits, and tells when none are left.
      const result = await verification.verify(credential, { clientIp: clientAddress(request, config.trustedProxies), cost: 0 });
      services.metrics?.verified('/v1/whoami', result.code);
      setRateLimit(reply, result);
      if (result.code === 'rate_limited')
        throw new AppError('rate_limited', `The key's rate limit is used up; try again in ${result.rateLimit!.resetSeconds} seconds.`);
      if (result.code === 'ip_not_allowed')
        throw new AppError('ip_not_allowed', `This key may only be used from the networks in its IP allowlist; ${clientAddress(request, config.trustedProxies)} is not one of them.`);
      if (result.code === 'usage_exceeded') throw new AppError('usage_exceeded', "The key's credits are used up; they come back at its next refill, or when an operator tops them up.");
      if (!result.valid) {
        reply.header('www-authenticate', `Bearer realm="keyport", error="invalid_token"`);
        throw unauthenticated(`The credential ${REFUSAL_REASONS[result.code as Exclude<typeof result.code, 'valid'>]} (${result.code}).`);
      }
      return json(reply, toAnswer(result));
    },
  );
};
