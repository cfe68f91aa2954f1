import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type LoggerOptions } from 'pino';
import { ErrorDigest } from './error-digest.js';

/**
 * Keyport's log (JSON lines on stdout) and how the HTTP app writes to it.
 *
 * Fastify logs every request ("incoming request", "request completed", through a child logger
 * carrying the request id) only at level info or below. At warn and above those lines are never
 * written, yet the child logger and the response listeners behind them would still cost every
 * request (a few per cent of a cached verification): so at those levels Fastify gets no logger,
 * and errors are logged here with the request id all the same.
 */
export interface Logging {
  log: FastifyBaseLogger;
  /** Fastify logs each request (level info or below). */
  perRequest: boolean;
  /** Errors of one cause, logged once per interval with a count (see ErrorDigest). */
  errors: ErrorDigest;
}

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

/** Fastify's request fields in the log, with credential-looking query values redacted. */
const serializers = {
  req: (req: FastifyRequest) => ({
    method: req.method,
    url: redactQuery(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  }),
};

/** Never written to the log, whatever the level. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["keyport-service-token"]'];

/**
 * A log at `options.level` on stdout (or `destination`), or a silent one (`false`); errors of one
 * cause are logged once per `repeatIntervalMs`.
 */
export function createLogging(options: Pick<LoggerOptions, 'level'> | false, destination?: DestinationStream, repeatIntervalMs = 10_000): Logging {
  const settings = options === false ? { level: 'silent' } : { ...options, redact: REDACT, serializers };
  const log = destination === undefined ? pino(settings) : pino(settings, destination);
  return { log, perRequest: log.isLevelEnabled('info'), errors: new ErrorDigest(log, repeatIntervalMs) };
}

/** The log for something about one request (an error), with the request's id. */
export function requestLog(logging: Logging, request: FastifyRequest): FastifyBaseLogger {
  return logging.perRequest ? request.log : logging.log.child({ reqId: request.id });
}
