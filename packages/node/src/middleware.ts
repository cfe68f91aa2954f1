import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeyportError } from './errors.js';
import type { Environment, Verifier, VerifyCode, VerifyResult } from './verifier.js';

/** What a protected route needs. */
export interface ProtectOptions {
  /** Scopes the credential must all hold. */
  scopes?: readonly string[];
  /** The environment the route serves (default: the verifier's). */
  environment?: Environment;
  /** Credits a request spends, for keys with credits (default 1). */
  cost?: number;
}

/** A refusal, as the middleware answers it: an RFC 9457 problem, like Keyport's /v1/authz. */
export interface Refusal {
  status: 401 | 403 | 429 | 500 | 503;
  headers: Record<string, string>;
  body: { type: string; code: string; title: string; status: number; detail: string };
}

const STATUS: Record<Exclude<VerifyCode, 'valid'> | 'missing', 401 | 403 | 429> = {
  missing: 401,
  malformed: 401,
  unknown: 401,
  inactive: 401,
  expired: 401,
  revoked: 401,
  wrong_environment: 403,
  insufficient_scope: 403,
  ip_not_allowed: 403,
  rate_limited: 429,
  usage_exceeded: 429,
};

const DETAILS: Record<Exclude<VerifyCode, 'valid'> | 'missing', string> = {
  missing: 'Send your token key or access token as "Authorization: Bearer <credential>", or a token key as "X-API-Key: <key>".',
  malformed: 'The credential is not a Keyport credential (mistyped or truncated).',
  unknown: 'The credential is not known.',
  inactive: 'The key is switched off.',
  expired: 'The credential has expired.',
  revoked: 'The credential was revoked.',
  wrong_environment: 'The credential belongs to another environment than this route serves.',
  insufficient_scope: 'The credential lacks a scope this route needs.',
  ip_not_allowed: "The request comes from outside the key's IP allowlist.",
  rate_limited: "The key's rate limit is used up; try again after Retry-After seconds.",
  usage_exceeded: "The key's credits are used up.",
};

const problem = (status: Refusal['status'], code: string, title: string, detail: string, headers: Record<string, string> = {}): Refusal => ({
  status,
  headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-keyport-code': code, ...headers },
  body: { type: `urn:keyport:problem:${code}`, code, title, status, detail },
});

/** The answer for a credential that is not valid here (401, 403 or 429). */
export function refusalOf(code: Exclude<VerifyCode, 'valid'> | 'missing', result?: VerifyResult): Refusal {
  const status = STATUS[code];
  const headers: Record<string, string> = {};
  // RFC 6750 3; no RFC 6750 error fits a request from the wrong network.
  if (status === 401) headers['www-authenticate'] = 'Bearer error="invalid_token"';
  else if (status === 403 && code !== 'ip_not_allowed') headers['www-authenticate'] = 'Bearer error="insufficient_scope"';
  if (status === 429) headers['retry-after'] = String(result?.rateLimit?.resetSeconds ?? 1);
  const title = code === 'missing' ? 'Authentication required' : status === 401 ? 'Invalid credential' : status === 403 ? 'Not allowed here' : code === 'usage_exceeded' ? 'Credits used up' : 'Rate limit reached';
  return problem(status, code, title, DETAILS[code], headers);
}

/** The answer when no decision could be made: 503 (Keyport unreachable or answering garbage) or 500 (misconfiguration). */
export function failureOf(err: unknown): Refusal {
  if (err instanceof KeyportError && err.code === 'keyport_unavailable')
    return problem(503, 'keyport_unavailable', 'Verification unavailable', 'The credential cannot be verified right now; try again shortly.', { 'retry-after': '1' });
  return problem(500, 'internal_error', 'Internal error', 'The credential could not be verified.');
}

/** The client's credential from its headers (Authorization: Bearer, or X-API-Key), or why there is none. */
export function credentialOf(authorization: string | null | undefined, apiKey: string | null | undefined): string | 'missing' | 'malformed' {
  let bearer: string | undefined;
  // RFC 6750 2.1; the scheme is case-insensitive (RFC 9110 11.1).
  if (typeof authorization === 'string' && /^bearer(\s|$)/i.test(authorization)) {
    bearer = authorization.slice(6).trim();
    if (bearer.length === 0) return 'malformed';
  }
  const key = typeof apiKey === 'string' && apiKey.trim().length > 0 ? apiKey.trim() : undefined;
  if (bearer !== undefined && key !== undefined && bearer !== key) return 'malformed';
  return bearer ?? key ?? 'missing';
}

/** Verifies a request's credential; the identity, or the answer to send instead. */
export function decide(
  verifier: Verifier,
  credential: string | 'missing' | 'malformed',
  options: ProtectOptions,
  clientIp: string | undefined,
): Outcome | Promise<Outcome> {
  if (credential === 'missing' || credential === 'malformed') return { refusal: refusalOf(credential) };
  // The hot path: a cached answer, without a promise (answered here only for keys without an IP
  // allowlist or credits, so the client's address and the cost do not matter to it).
  const cached = verifier.cached(credential, cachedOptions(verifier, options));
  if (cached !== undefined) return cached.valid ? { identity: cached } : { refusal: refusalOf(cached.code as Exclude<VerifyCode, 'valid'>, cached) };
  return decideRemotely(verifier, credential, options, clientIp);
}

type Outcome = { identity: VerifyResult } | { refusal: Refusal };

/** The options of the cache lookup, made once per middleware options object. */
const CACHED_OPTIONS = new WeakMap<ProtectOptions, { scopes: readonly string[]; environment: Environment | undefined }>();
function cachedOptions(verifier: Verifier, options: ProtectOptions) {
  let made = CACHED_OPTIONS.get(options);
  if (made === undefined) CACHED_OPTIONS.set(options, (made = Object.freeze({ scopes: options.scopes ?? [], environment: options.environment ?? verifier.environment })));
  return made;
}

async function decideRemotely(verifier: Verifier, credential: string, options: ProtectOptions, clientIp: string | undefined): Promise<Outcome> {
  try {
    const result = await verifier.verify(credential, { scopes: options.scopes ?? [], environment: options.environment, clientIp, cost: options.cost });
    if (result.valid) return { identity: result };
    return { refusal: refusalOf(result.code as Exclude<VerifyCode, 'valid'>, result) };
  } catch (err) {
    return { refusal: failureOf(err) };
  }
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

// -- Express / Connect -------------------------------------------------------------------------

/** What the Express/Connect middleware adds to the request. */
export interface KeyportRequest extends IncomingMessage {
  keyport?: VerifyResult;
  ip?: string;
}

/**
 * Express/Connect middleware: `app.use(keyportExpress(verifier, { scopes: ['order.read'] }))`.
 * A valid credential puts its identity on `req.keyport` and calls `next()`; anything else is
 * answered 401/403/429 (503 when Keyport cannot be asked) with an RFC 9457 body.
 */
export function keyportExpress(verifier: Verifier, options: ProtectOptions = {}) {
  return (req: KeyportRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    const credential = credentialOf(header(req.headers.authorization), header(req.headers['x-api-key']));
    const settle = (outcome: Outcome) => {
      if ('identity' in outcome) {
        req.keyport = outcome.identity;
        next();
        return;
      }
      const { status, headers, body } = outcome.refusal;
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    const outcome = decide(verifier, credential, options, req.ip ?? req.socket.remoteAddress);
    if (outcome instanceof Promise) outcome.then(settle, next);
    else settle(outcome);
  };
}

// -- Fastify -----------------------------------------------------------------------------------

/** The parts of Fastify the plugin uses (structural: the SDK does not depend on Fastify). */
interface FastifyLike {
  decorateRequest(name: string, value: unknown): unknown;
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => void): unknown;
}
interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  keyport?: VerifyResult;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: string): unknown;
}

export interface FastifyPluginOptions extends ProtectOptions {
  verifier: Verifier;
}

/**
 * Fastify plugin: `app.register(keyportFastify, { verifier, scopes: ['order.read'] })` protects
 * every route of the context it is registered in (register it inside a child context to protect
 * some routes only). The identity is on `request.keyport`.
 */
export const keyportFastify = Object.assign(
  async function keyportFastify(app: FastifyLike, options: FastifyPluginOptions): Promise<void> {
    const { verifier, ...protect } = options;
    if (verifier === undefined || typeof verifier.verify !== 'function') throw new TypeError('keyportFastify: pass the verifier from createVerifier() as the `verifier` option');
    app.decorateRequest('keyport', null);
    // A callback hook, not an async one: a cached answer goes on without a promise.
    app.addHook('onRequest', (request, reply, done) => {
      const settle = (outcome: Outcome) => {
        if ('identity' in outcome) {
          request.keyport = outcome.identity;
          return done();
        }
        const { status, headers, body } = outcome.refusal;
        reply.code(status).headers(headers).send(JSON.stringify(body));
      };
      const credential = credentialOf(header(request.headers.authorization), header(request.headers['x-api-key']));
      const outcome = decide(verifier, credential, protect, request.ip);
      if (outcome instanceof Promise) outcome.then(settle, (err: Error) => done(err));
      else settle(outcome);
    });
  },
  // Not encapsulated (fastify-plugin's marker): the hook applies to the context registering it.
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'keyport' },
);

// -- fetch-style servers (Hono, Next.js route handlers, Deno-style handlers) -------------------

export type FetchCheck = (request: Request, clientIp?: string) => Promise<{ ok: true; identity: VerifyResult } | { ok: false; response: Response }>;

/**
 * For fetch-style servers: `const check = keyportFetch(verifier, { scopes: ['order.read'] })`,
 * then in a handler `const auth = await check(request); if (!auth.ok) return auth.response;`.
 */
export function keyportFetch(verifier: Verifier, options: ProtectOptions = {}): FetchCheck {
  return async (request, clientIp) => {
    const credential = credentialOf(request.headers.get('authorization'), request.headers.get('x-api-key'));
    const outcome = await decide(verifier, credential, options, clientIp);
    if ('identity' in outcome) return { ok: true, identity: outcome.identity };
    const { status, headers, body } = outcome.refusal;
    return { ok: false, response: new Response(JSON.stringify(body), { status, headers }) };
  };
}
