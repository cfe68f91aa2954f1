import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type LoggerOptions } from 'pino';
import { ErrorDigest } from './error-digest.js';

/**
 * Keyport's log (JSON lines on stdout, written asynchronously) and how the HTTP app writes to it.
 *
 * Request lines, at level info or below, come in one of two ways (KEYPORT_REQUEST_LOG):
 *
 * - `sampled` (the default): one "request completed" line per request of the management API and
 *   the portal; on the hot routes (verification, forward-auth, the token endpoint, introspection),
 *   only for a request that failed (status 400 or above), that was slow (KEYPORT_SLOW_REQUEST_MS),
 *   or that was picked by the sample rate (KEYPORT_REQUEST_LOG_SAMPLE). Fastify itself gets no
 *   logger: a child logger per request and two lines each would cost a cached verification about
 *   as much as the verification itself.
 * - `all`: Fastify logs every request of every route ("incoming request", "request completed").
 *
 * At warn and above no request lines are written at all. Errors are logged with the request id
 * either way (see `requestLog`).
 */
export interface Logging {
  log: FastifyBaseLogger;
  /** Fastify logs each request itself (level info or below, KEYPORT_REQUEST_LOG=all). */
  perRequest: boolean;
  /** Keyport writes the request lines (level info or below, KEYPORT_REQUEST_LOG=sampled); null: none. */
  access: RequestLogSettings | null;
  /** Errors of one cause, logged once per interval with a count (see ErrorDigest). */
  errors: ErrorDigest;
}

/** What is logged of each request at level info (see Logging). */
export interface RequestLogSettings {
  mode: 'sampled' | 'all';
  /** The fraction (0 to 1) of the hot routes' successful, fast requests that are logged anyway. */
  sampleRate: number;
  /** A request of a hot route taking at least this long (milliseconds) is logged. */
  slowMs: number;
}

export const DEFAULT_REQUEST_LOG: Readonly<RequestLogSettings> = Object.freeze({ mode: 'sampled', sampleRate: 0.01, slowMs: 500 });

/**
 * The routes every gateway request reaches, logged only when failing, slow or sampled (as routed:
 * Fastify's route URL, prefix included).
 */
export const HOT_ROUTES: ReadonlySet<string> = new Set(['/v1/verify', '/v1/authz', '/v1/authz/*', '/oauth/token', '/oauth/introspect']);

/**
 * Names of query parameters whose values look like credentials (client_secret, token, password,
 * api_key, ...): their values are never logged (`[redacted]`).
 */
export const CREDENTIAL_NAME = /secret|passw|token|assertion|credential|signature|session|authorization|^code$|^key$|api[-_]?key/i;

/** The URL with the values of credential-looking query parameters replaced by `[redacted]`. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const raw = eq === -1 ? part : part.slice(0, eq);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        /* a broken name is checked as it is */
      }
      return CREDENTIAL_NAME.test(name) ? `${raw}=[redacted]` : part;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/**
 * The request in a log line, with credential-looking query values redacted: Fastify's request (its
 * own per-request lines) or the fields of Keyport's request lines.
 */
const serializers = {
  req: (req: FastifyRequest | { method: string; url: string }) =>
    'socket' in req
      ? { method: req.method, url: redactQuery(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket ? req.socket.remotePort : undefined }
      : { ...req, url: redactQuery(req.url) },
};

/** Never written to the log, whatever the level. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["keyport-service-token"]'];

/**
 * A log at `options.level` on stdout (or `destination`), or a silent one (`false`); errors of one
 * cause are logged once per `repeatIntervalMs`. Stdout is written asynchronously (lines are
 * buffered in process and flushed on exit), so a request never waits for the log.
 */
export function createLogging(
  options: Pick<LoggerOptions, 'level'> | false,
  destination?: DestinationStream,
  repeatIntervalMs = 10_000,
  requests: Readonly<RequestLogSettings> = DEFAULT_REQUEST_LOG,
): Logging {
  const settings = options === false ? { level: 'silent' } : { ...options, redact: REDACT, serializers };
  const log = destination === undefined ? pino(settings, options === false ? undefined : pino.destination({ sync: false })) : pino(settings, destination);
  const info = log.isLevelEnabled('info');
  return {
    log,
    perRequest: info && requests.mode === 'all',
    access: info && requests.mode === 'sampled' ? requests : null,
    errors: new ErrorDigest(log, repeatIntervalMs),
  };
}

/** The log for something about one request (an error), with the request's id. */
export function requestLog(logging: Logging, request: FastifyRequest): FastifyBaseLogger {
  return logging.perRequest ? request.log : logging.log.child({ reqId: request.id });
}

/** Has the app write the request lines of the `sampled` mode (see Logging); nothing in other modes. */
export function installRequestLog(app: FastifyInstance, logging: Logging): void {
  const settings = logging.access;
  if (settings === null) return;
  const { log } = logging;
  const { sampleRate, slowMs } = settings;
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const status = reply.statusCode;
    if (HOT_ROUTES.has(request.routeOptions.url ?? '')) {
      const elapsed = reply.elapsedTime;
      const why = status >= 400 ? 'failed' : elapsed >= slowMs ? 'slow' : sampleRate > 0 && Math.random() < sampleRate ? 'sampled' : null;
      if (why !== null) log.info({ reqId: request.id, req: { method: request.method, url: request.url }, res: { statusCode: status }, responseTime: elapsed, logged: why }, 'request completed');
    } else {
      log.info({ reqId: request.id, req: { method: request.method, url: request.url, remoteAddress: request.ip }, res: { statusCode: status }, responseTime: reply.elapsedTime }, 'request completed');
    }
    done();
  });
}
