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

/** Never written to the log, whatever the level. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["keyport-service-token"]'];

/**
 * A log at `options.level` on stdout (or `destination`), or a silent one (`false`); errors of one
 * cause are logged once per `repeatIntervalMs`.
 */
export function createLogging(options: Pick<LoggerOptions, 'level'> | false, destination?: DestinationStream, repeatIntervalMs = 10_000): Logging {
  const settings = options === false ? { level: 'silent' } : { ...options, redact: REDACT };
  const log = destination === undefined ? pino(settings) : pino(settings, destination);
  return { log, perRequest: log.isLevelEnabled('info'), errors: new ErrorDigest(log, repeatIntervalMs) };
}

/** The log for something about one request (an error), with the request's id. */
export function requestLog(logging: Logging, request: FastifyRequest): FastifyBaseLogger {
  return logging.perRequest ? request.log : logging.log.child({ reqId: request.id });
}
