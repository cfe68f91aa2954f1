import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Catalog } from '../../domain/catalog.js';
import type { Clock } from '../../domain/clock.js';
import { ENVIRONMENTS, type Environment } from '../../domain/environment.js';
import { AppError, validationError, type FieldError } from '../../domain/errors.js';
import type { Principal } from '../../domain/principal.js';
import { rateLimitHeaders } from '../../domain/rate-limit.js';
import type { Services } from '../../services/index.js';
import type { Credential, Verification, VerifyCode } from '../../services/verification-service.js';
import { CREDENTIAL_MAX } from '../../contract/verify.js';
import { REFUSAL_REASONS } from '../credentials.js';
import { forwardedClientIp } from '../forwarded-address.js';
import { requestLog, type Logging } from '../logging.js';
import { Problem } from '../../contract/schema.js';
import { problemType, sendProblem, toAppError } from '../problem.js';
import { inSpan } from '../../services/tracing.js';

/**
 * Forward-auth for gateways: `/v1/authz` and any path below it, any method. nginx `auth_request`,
 * Caddy `forward_auth`, Traefik `forwardAuth` and Envoy's HTTP `ext_authz` send the client's
 * request here as a sub-request; 2xx lets it through with the identity headers, anything else is
 * the answer the client gets. It runs on the same cached, synchronous path as `/v1/verify`.
 *
 * - The gateway authenticates with `Keyport-Service-Token` (a management token holding
 *   `keys.verify`). A missing or wrong one is the gateway's misconfiguration, not the client's
 *   fault: 400 with `X-Keyport-Code: service_token_missing | service_token_invalid`, never 401 or
 *   403 (those speak of the client's credential), logged at warn.
 * - The client's credential: `Authorization: Bearer <token key | access token>` or
 *   `X-API-Key: <token key>`.
 * - What the route needs: `environment` and `scopes` in the query of the auth URL, each given once,
 *   so that a client's own query (which Envoy appends after its path prefix) can never add to or
 *   change it.
 * - The client's body is never read: no content-type parser under this route consumes it.
 */

/** The identity headers of a valid answer, for the gateway to copy upstream. The contract's names. */
export const IDENTITY_HEADERS = {
  account: 'X-Keyport-Account',
  keyId: 'X-Keyport-Key-Id',
  environment: 'X-Keyport-Environment',
  scopes: 'X-Keyport-Scopes',
  channel: 'X-Keyport-Channel',
  grantId: 'X-Keyport-Grant-Id',
  keyAccount: 'X-Keyport-Key-Account',
} as const;

/** The same names in lower case, as Node sends them (Fastify lower-cases every name it is given, per request). */
const IDENTITY = Object.fromEntries(Object.entries(IDENTITY_HEADERS).map(([field, name]) => [field, name.toLowerCase()])) as {
  [F in keyof typeof IDENTITY_HEADERS]: Lowercase<(typeof IDENTITY_HEADERS)[F]>;
};

export const SERVICE_TOKEN_HEADER = 'keyport-service-token';
const CODE_HEADER = 'x-keyport-code';

/** What a refusal may say in X-Keyport-Code: a /v1/verify code, or `missing` (no credential sent). */
export type RefusalCode = Exclude<VerifyCode, 'valid'> | 'missing';

/**
 * RFC 6750 3: 401 for a credential that is not valid, 403 for one that may not do this. The SDK's
 * middleware answers the same (a unit test holds the two together).
 */
export const REFUSAL_STATUS: Record<RefusalCode, 401 | 403 | 429> = {
  missing: 401,
  malformed: 401,
  unknown: 401,
  inactive: 401,
  expired: 401,
  revoked: 401,
  wrong_environment: 403,
  insufficient_scope: 403,
  // The credential is right, but not from here (RFC 9110 15.5.4).
  ip_not_allowed: 403,
  rate_limited: 429,
  // Like a rate limit: the key may be used again after its next refill or a top-up.
  usage_exceeded: 429,
};
const TITLES = { 401: 'Invalid credential', 403: 'Not allowed here', 429: 'Rate limit reached' } as const;
export const refusalTitle = (code: RefusalCode) => (code === 'missing' ? 'Authentication required' : code === 'usage_exceeded' ? 'Credits used up' : TITLES[REFUSAL_STATUS[code]]);
const CHALLENGES = { 401: 'Bearer error="invalid_token"', 403: 'Bearer error="insufficient_scope"' } as const;
/** The WWW-Authenticate of a refusal; none for a rate limit, and none for the wrong network (no RFC 6750 error fits it). */
export const refusalChallenge = (code: RefusalCode): string | undefined => {
  const status = REFUSAL_STATUS[code];
  return status === 429 || code === 'ip_not_allowed' ? undefined : CHALLENGES[status];
};

const problemBody = (code: RefusalCode, detail: string) =>
  JSON.stringify({ type: problemType(code), code, title: refusalTitle(code), status: REFUSAL_STATUS[code], detail });

/** Refusals whose text never changes, serialised once. */
const FIXED_BODIES = Object.fromEntries(
  (['missing', 'malformed', 'unknown', 'inactive', 'expired', 'revoked'] as const).map((code) => [
    code,
    problemBody(
      code,
      code === 'missing'
        ? 'Send your token key or access token as "Authorization: Bearer <credential>", or a token key as "X-API-Key: <key>".'
        : `The credential ${REFUSAL_REASONS[code]}.`,
    ),
  ]),
) as Partial<Record<RefusalCode, string>>;

/** What a route behind the gateway needs: the query of its auth URL, parsed. */
interface Requirement {
  environment: Environment;
  scopes: readonly string[];
}

/** A refusal found before any lookup: no credential, or one that cannot be one. */
interface Unusable {
  refusal: 'missing' | 'malformed';
}
const MISSING: Unusable = Object.freeze({ refusal: 'missing' });
const MALFORMED: Unusable = Object.freeze({ refusal: 'malformed' });

/** Thrown by the authorize step: the credential belongs to an account the gateway may not verify. */
class ForeignAccount extends Error {
  constructor(readonly accountId: string) {
    super('credential of an account the service token does not serve');
  }
}

const MAX_SCOPES = 100;
/** Distinct auth URLs are few (one per protected route); past this many, the parsed ones are forgotten. */
const REQUIREMENT_CACHE = 1000;

/**
 * This route's query and headers are read by its handler: a repeated parameter must be refused (a
 * schema would see an array), and the parse is kept per auth URL. Their schemas document them only.
 */
const documentedOnly = () => () => true;

const AUTHZ_SPAN = { 'http.route': '/v1/authz' };
/** The span's outcome: the refusal code, or valid. */
const outcome = (reply: FastifyReply) => String(reply.getHeader(CODE_HEADER) ?? 'valid');

export const authzRoutes: FastifyPluginAsync<{ services: Services; logging: Logging }> = async (app, { services, logging }) => {
  const { verification } = services.tokens;
  const { auth, catalog } = services;
  const refusalLog = new RefusalLog(logging, services.clock);
  const requirements = new RequirementCache(catalog);

  // The client's body is none of Keyport's business: never parse it, never wait for it (and so no
  // body limit applies). Node discards what the client sends after the answer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  // Every answer under this prefix that is not 200 names its code in X-Keyport-Code, also
  // framework errors (a bad URL) and failures: when Keyport cannot decide, the answer is a 5xx.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) requestLog(logging, request).error({ err: error }, 'unhandled error');
    reply.header(CODE_HEADER, appError.code).header('cache-control', 'no-store');
    return sendProblem(reply, request, appError);
  });

  function handle(request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    const token = request.headers[SERVICE_TOKEN_HEADER];
    if (typeof token !== 'string' || token.length === 0)
      throw misconfigured(request, 'service_token_missing', 'Send the service token of this gateway as "Keyport-Service-Token: <token>" (a token holding keys.verify).');
    // Synchronous while the service token and the credential are cached: no promise per request.
    const principal = auth.authenticate(token);
    const traced = (p: Principal | null) => inSpan('keyport.authz', request.headers, AUTHZ_SPAN, () => decide(request, reply, p), outcome);
    return principal instanceof Promise ? principal.then(traced) : traced(principal);
  }
  const metrics = services.metrics;
  const counted = (reply: FastifyReply, result: Verification, need: Requirement) => {
    metrics?.verified('/v1/authz', result.code);
    return answer(reply, result, need);
  };

  function decide(request: FastifyRequest, reply: FastifyReply, principal: Principal | null): FastifyReply | Promise<FastifyReply> {
    if (principal === null)
      throw misconfigured(request, 'service_token_invalid', 'The Keyport-Service-Token of this gateway is unknown, expired or revoked; give it a valid service token.');
    const need = requirements.parse(request.query as Record<string, unknown>);
    const credential = clientCredential(request.headers);
    if (typeof credential !== 'string') {
      metrics?.verified('/v1/authz', credential.refusal);
      return refuse(reply, credential.refusal, null, need);
    }
    // Trusted only now that the caller is a gateway Keyport knows.
    const clientIp = forwardedClientIp(request.headers);
    const authorize = (accountId: string) => {
      if (!principal.permissionsOn(accountId).has('keys.verify')) throw new ForeignAccount(accountId);
    };
    let pending: Verification | Promise<Verification>;
    try {
      pending = verification.verify(credential, { environment: need.environment, scopes: need.scopes, clientIp }, authorize);
    } catch (err) {
      return foreign(err, request, reply, principal, need);
    }
    return pending instanceof Promise
      ? pending.then((result) => counted(reply, result, need), (err) => foreign(err, request, reply, principal, need))
      : counted(reply, pending, need);
  }

  /**
   * A credential of an account this gateway's token may not verify is, to this gateway, not a
   * credential it knows: `unknown`, with nothing counted. Logged, for the operator who gave the
   * gateway another account's token.
   */
  function foreign(err: unknown, request: FastifyRequest, reply: FastifyReply, principal: Principal, need: Requirement): FastifyReply {
    if (!(err instanceof ForeignAccount)) throw err;
    metrics?.verified('/v1/authz', 'unknown');
    refusalLog.warn(request, 'foreign_account', { serviceToken: principal.id, serviceTokenName: principal.label, account: err.accountId },
      "forward-auth: a credential of an account this gateway's service token may not verify was answered as unknown");
    return refuse(reply, 'unknown', null, need);
  }

  function misconfigured(request: FastifyRequest, code: 'service_token_missing' | 'service_token_invalid', detail: string): AppError {
    refusalLog.warn(request, code, {}, 'forward-auth: the gateway did not authenticate; its configuration is wrong (answered 400)');
    return new AppError(code, detail);
  }

  const routeOptions = {
    validatorCompiler: documentedOnly,
    schema: {
      tags: ['gateways'],
      summary: 'Forward-auth for gateways: nginx auth_request, Caddy forward_auth, Traefik forwardAuth, Envoy ext_authz',
      description: [
        'Any method, and any path below `/v1/authz/` (for Envoy\'s `path_prefix`). The gateway sends `Keyport-Service-Token`; the client\'s credential comes as `Authorization: Bearer <token key or access token>` or `X-API-Key: <token key>`. The client\'s body is never read.',
        'A valid credential: 200, empty body, and the identity headers to copy upstream (`X-Keyport-Channel`, `-Grant-Id` and `-Key-Account` are sent empty when they do not apply, so a gateway copying them overwrites whatever the client sent). Refusals carry `X-Keyport-Code` with the code /v1/verify gives (or `missing`), and an RFC 9457 body.',
        "Counts against the key's rate limit and `lastUsedAt` exactly as /v1/verify. A problem with the gateway's own request (no or a wrong service token, a bad query) is a 400, never 401/403.",
      ].join('\n\n'),
      security: [{ serviceToken: [] }],
      querystring: {
        type: 'object',
        required: ['environment', 'scopes'],
        properties: {
          environment: { type: 'string', enum: ENVIRONMENTS, description: 'The environment the route serves: a credential of the other one gets 403. Given once.' },
          scopes: { type: 'string', description: 'The scopes the route needs, all of them, separated by commas or spaces (`order.read,order.write`). Given once.' },
        },
      },
      headers: {
        type: 'object',
        properties: {
          authorization: { type: 'string', description: "The client's `Bearer <token key or access token>`." },
          'x-api-key': { type: 'string', description: "Or the client's token key here." },
        },
      },
      response: {
        200: {
          description: 'The credential is valid here: let the request through and copy these headers upstream.',
          type: 'null',
          headers: {
            [IDENTITY_HEADERS.account]: { type: 'string', description: 'The account the credential acts for.' },
            [IDENTITY_HEADERS.keyId]: { type: 'string', description: 'The key (of a token: the key it was issued to).' },
            [IDENTITY_HEADERS.environment]: { type: 'string', enum: ENVIRONMENTS },
            [IDENTITY_HEADERS.scopes]: { type: 'string', description: "Every scope of the credential, space-separated." },
            [IDENTITY_HEADERS.channel]: { type: 'string', description: "The key's sales channel, percent-encoded (encodeURIComponent); empty without one." },
            [IDENTITY_HEADERS.grantId]: { type: 'string', description: 'Tokens of external keys: the grant; empty otherwise.' },
            [IDENTITY_HEADERS.keyAccount]: { type: 'string', description: 'Tokens of external keys: the account owning the key; empty otherwise.' },
            'RateLimit-Limit': { type: 'string', description: 'Keys with a rate limit: their state (also RateLimit-Remaining, RateLimit-Reset).' },
          },
        },
        400: refusalSchema("The gateway's request is wrong: X-Keyport-Code `service_token_missing`, `service_token_invalid` or `validation_failed` (environment or scopes)."),
        401: refusalSchema('A missing, malformed, unknown, inactive, expired or revoked credential. `WWW-Authenticate: Bearer error="invalid_token"`.'),
        403: refusalSchema('`wrong_environment` or `insufficient_scope`. `WWW-Authenticate: Bearer error="insufficient_scope"`.'),
        429: refusalSchema("`rate_limited`: the key's rate limit is used up. Retry-After and RateLimit-* say when it resets."),
      },
    },
  };
  // GET is documented (with HEAD, which Fastify adds); every other method takes the same path.
  const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;
  for (const url of ['/v1/authz', '/v1/authz/*']) {
    const hide = url !== '/v1/authz';
    app.route({ method: 'GET', url, ...routeOptions, schema: { ...routeOptions.schema, hide }, handler: handle });
    app.route({ method: [...OTHER_METHODS], url, ...routeOptions, schema: { ...routeOptions.schema, hide: true }, handler: handle });
  }
};

/** The client's credential from its headers, or why there is none to look up. */
function clientCredential(headers: IncomingHttpHeaders): string | Unusable {
  let bearer: string | undefined;
  const authorization = headers.authorization;
  // RFC 6750 2.1; the scheme is case-insensitive (RFC 9110 11.1). Another scheme is not for Keyport.
  if (authorization !== undefined && (authorization.startsWith('Bearer ') || /^bearer(\s|$)/i.test(authorization))) {
    // Checked by length before anything walks it; a credential with a space in it fails its checksum.
    if (authorization.length > CREDENTIAL_MAX + 64) return MALFORMED;
    bearer = authorization.slice(7).trim();
    if (bearer.length === 0) return MALFORMED;
  }
  const apiKey = headers['x-api-key'];
  const key = typeof apiKey === 'string' && apiKey.length > 0 ? apiKey.trim() : undefined;
  // Two credentials that disagree: which one the API meant cannot be known.
  if (bearer !== undefined && key !== undefined && bearer !== key) return MALFORMED;
  const credential = bearer ?? key;
  if (credential === undefined) return MISSING;
  return credential.length === 0 || credential.length > CREDENTIAL_MAX ? MALFORMED : credential;
}

/** The headers of a valid answer never change while the credential is cached: built once per credential. */
const IDENTITIES = new WeakMap<Credential, Record<string, string>>();

function identityHeaders(c: Credential): Record<string, string> {
  let headers = IDENTITIES.get(c);
  if (headers === undefined) {
    headers = {
      [IDENTITY.account]: c.accountId,
      [IDENTITY.keyId]: c.keyId,
      [IDENTITY.environment]: c.environment,
      [IDENTITY.scopes]: c.scopes.join(' '),
      // A channel is any text; header values are ASCII.
      [IDENTITY.channel]: c.channel === null ? '' : encodeURIComponent(c.channel),
      [IDENTITY.grantId]: c.token?.grant?.id ?? '',
      [IDENTITY.keyAccount]: c.token?.grant?.keyAccountId ?? '',
      'cache-control': 'no-store',
    };
    IDENTITIES.set(c, headers);
  }
  return headers;
}

function answer(reply: FastifyReply, result: Verification, need: Requirement): FastifyReply {
  if (!result.valid) return refuse(reply, result.code as RefusalCode, result, need);
  reply.headers(identityHeaders(result.credential!));
  if (result.rateLimit !== null) reply.headers(rateLimitHeaders(result.rateLimit));
  return reply.send();
}

function refuse(reply: FastifyReply, code: RefusalCode, result: Verification | null, need: Requirement): FastifyReply {
  reply.code(REFUSAL_STATUS[code]).header('content-type', 'application/problem+json').header(CODE_HEADER, code).header('cache-control', 'no-store');
  const challenge = refusalChallenge(code);
  if (challenge !== undefined) reply.header('www-authenticate', challenge);
  const limit = result?.rateLimit ?? null;
  if (limit !== null) {
    reply.headers(rateLimitHeaders(limit));
    if (!limit.allowed) reply.header('retry-after', String(limit.resetSeconds));
  }
  return reply.send(FIXED_BODIES[code] ?? problemBody(code, refusalDetail(code, result, need)));
}

function refusalDetail(code: RefusalCode, result: Verification | null, need: Requirement): string {
  const credential = result?.credential ?? null;
  if (code === 'wrong_environment') return `The credential belongs to ${credential?.environment ?? 'the other environment'}; this route serves ${need.environment}.`;
  if (code === 'insufficient_scope') {
    const lacking = credential === null ? need.scopes : need.scopes.filter((s) => !credential.scopeSet.has(s));
    return `The credential lacks ${lacking.length === 1 ? 'the scope' : 'the scopes'} ${lacking.join(', ')} this route needs.`;
  }
  if (code === 'rate_limited') return `The key's rate limit is used up; try again in ${result?.rateLimit?.resetSeconds ?? 1} seconds.`;
  if (code === 'ip_not_allowed') return "The request comes from outside the key's IP allowlist (the address in X-Forwarded-For, or X-Real-IP).";
  if (code === 'usage_exceeded') return "The key's credits are used up; they come back at its next refill, or when an operator tops them up.";
  return `The credential ${REFUSAL_REASONS[code] ?? code}.`;
}

/** The requirement of an auth URL, parsed once per distinct query and kept. */
class RequirementCache {
  private readonly parsed: Record<Environment, Map<string, Requirement>> = { sandbox: new Map(), production: new Map() };

  constructor(private readonly catalog: Catalog) {}

  parse(query: Record<string, unknown>): Requirement {
    const { environment, scopes } = query;
    if ((environment === 'sandbox' || environment === 'production') && typeof scopes === 'string') {
      const known = this.parsed[environment];
      const hit = known.get(scopes);
      if (hit !== undefined) return hit;
      const requirement = { environment, scopes: Object.freeze(this.scopesOf(scopes)) } as const;
      if (known.size >= REQUIREMENT_CACHE) known.clear();
      known.set(scopes, Object.freeze(requirement));
      return requirement;
    }
    throw invalidQuery([...environmentErrors(environment), ...(typeof scopes === 'string' ? this.scopeErrors(scopes) : scopesErrors(scopes))]);
  }

  private scopesOf(text: string): string[] {
    const errors = this.scopeErrors(text);
    if (errors.length > 0) throw invalidQuery(errors);
    return splitScopes(text);
  }

  private scopeErrors(text: string): FieldError[] {
    const detail = (d: string) => [{ pointer: '/querystring/scopes', detail: d }];
    const scopes = splitScopes(text);
    if (scopes.length === 1 && scopes[0] === '') return detail('names no scope: give the scopes this route needs, separated by commas or spaces');
    if (scopes.includes('')) return detail('has an empty scope: separate scopes by one comma, or by spaces');
    if (scopes.length > MAX_SCOPES) return detail(`names more than ${MAX_SCOPES} scopes`);
    const unknown = scopes.filter((s) => !this.catalog.scopeSet.has(s));
    if (unknown.length > 0) return detail(`names ${unknown.length === 1 ? 'a scope' : 'scopes'} the catalog does not have: ${unknown.map((s) => `'${s.slice(0, 100)}'`).join(', ')}`);
    return [];
  }
}

/** `order.read,order.write`, `order.read order.write` and `order.read, order.write` are the same. */
const splitScopes = (text: string) => text.trim().split(/\s*,\s*|\s+/);

function environmentErrors(value: unknown): FieldError[] {
  const pointer = '/querystring/environment';
  if (value === undefined) return [{ pointer, detail: 'is required: the environment this route serves, sandbox or production' }];
  if (typeof value !== 'string') return [{ pointer, detail: 'must be given once' }];
  if (!ENVIRONMENTS.includes(value as Environment)) return [{ pointer, detail: `must be one of ${ENVIRONMENTS.map((e) => JSON.stringify(e)).join(', ')}` }];
  return [];
}

function scopesErrors(value: unknown): FieldError[] {
  const pointer = '/querystring/scopes';
  if (value === undefined) return [{ pointer, detail: 'is required: the scopes this route needs, separated by commas or spaces' }];
  return [{ pointer, detail: 'must be given once' }];
}

function invalidQuery(errors: FieldError[]): AppError {
  const first = errors[0]!;
  return validationError(`The query string of the auth URL is invalid: ${first.pointer} ${first.detail}.`, errors);
}

/** A refusal answer's schema for the OpenAPI document: a problem, with its headers. */
function refusalSchema(description: string) {
  return {
    description,
    type: 'object',
    properties: Problem.properties,
    headers: {
      'X-Keyport-Code': { type: 'string', description: 'The stable code of the refusal.' },
    },
  };
}

/**
 * Warnings about gateways, at most one line per code every ten seconds (with how many were left
 * out since), so a misconfigured gateway in front of a busy API does not flood the log.
 */
class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logging: Logging,
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
  ) {}

  warn(request: FastifyRequest, code: string, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    const entry = this.last.get(code);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    requestLog(this.logging, request).warn({ code, remoteAddress: request.ip, ...fields, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) }, message);
    this.last.set(code, { at: now, suppressed: 0 });
  }
}
