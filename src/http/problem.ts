import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { NAME_PATTERN, NAME_RULE, type Problem } from '../contract/schema.js';
import { AppError, STORE_RETRY_AFTER_SECONDS, storeUnavailable, type FieldError } from '../domain/errors.js';
import { isStoreUnavailable, storeFailureCause } from '../storage/database.js';
import type { Metrics } from '../services/metrics.js';
import { requestLog, type Logging } from './logging.js';
import { requestInstance } from './request-id.js';

/** The longest path segment (an id) the router takes; longer ones are refused with 414 before any route. */
export const MAX_PARAM_LENGTH = 1000;

/** RFC 9457 problem type URIs: stable, one per error code. */
export const problemType = (code: string) => `urn:keyport:problem:${code}`;

/** The parts of a request a service's input can come from, other than the body. */
const PARTS = ['querystring', 'params'] as const;

/**
 * Where a field a service named lives in the request: services point into their input (`/cursor`,
 * `/scopes/0`), and only here is that input placed in the request. One convention for every
 * pointer: a field of the JSON body is pointed at as it is (`/scopes/0`), a field of another part
 * with the part first (`/querystring/cursor`), as Fastify's validation reports them. The route's
 * schema says which part declares the field; the body wins when both do.
 */
function inRequest(request: FastifyRequest, pointer: string): string {
  const field = pointer.split('/')[1];
  if (!field) return pointer;
  const schema = request.routeOptions.schema as Record<string, { properties?: Record<string, unknown> } | undefined> | undefined;
  if (schema?.body?.properties?.[field] !== undefined) return pointer;
  const part = PARTS.find((p) => schema?.[p]?.properties?.[field] !== undefined);
  return part === undefined ? pointer : `/${part}${pointer}`;
}

/** Under /oauth/* errors are RFC 6749 bodies (section 5.2) with `Cache-Control: no-store`, not problem documents. */
export const isOAuthPath = (url: string | undefined): boolean => url !== undefined && /^\/oauth(?:[/?#]|$)/.test(url);

/**
 * The RFC 6749 error an AppError is answered with under /oauth/*, for the answers no OAuth route
 * gives itself (an unknown endpoint, a broken URL, a request the HTTP parser refused).
 */
export function oauthBody(error: AppError): { error: string; error_description: string } {
  const code = error.code === 'store_unavailable' ? 'temporarily_unavailable' : error.status >= 500 ? 'server_error' : 'invalid_request';
  return { error: code, error_description: error.message };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  if (isOAuthPath(request.url)) {
    if (error.code === 'store_unavailable') reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
    return reply
      .status(error.status)
      .headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
      .type('application/json; charset=utf-8')
      .send(oauthBody(error));
  }
  const body: Problem = {
    type: problemType(error.code),
    code: error.code,
    title: error.title,
    status: error.status,
    detail: error.message,
    // This occurrence: the request's id, as in X-Request-Id and the log (RFC 9457 3.1.5).
    instance: requestInstance(request.id),
  };
  if (error.errors?.length) body.errors = error.errors.map((e) => ({ pointer: inRequest(request, e.pointer), detail: e.detail }));
  reply.header('x-request-id', request.id);
  // An outage, not a fault of the request: say when to try again (RFC 9110 10.2.3).
  if (error.code === 'store_unavailable') reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.status(error.status).type('application/problem+json').send(body);
}

/** Ajv's instancePath is already a JSON pointer; missing properties point at the field itself. */
function toFieldErrors(error: FastifyError): FieldError[] {
  const part = error.validationContext === 'body' ? '' : `/${error.validationContext ?? ''}`;
  return (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    let pointer = v.instancePath;
    let detail = v.message ?? 'is invalid';
    if (v.keyword === 'required') {
      pointer += `/${String(params.missingProperty)}`;
      detail = 'is required';
    }
    if (v.keyword === 'additionalProperties') {
      pointer += `/${String(params.additionalProperty)}`;
      detail = 'is not a known field';
    }
    if (v.keyword === 'pattern' && params.pattern === NAME_PATTERN) detail = NAME_RULE;
    if (v.keyword === 'format' && (params.format === 'date-time' || params.format === 'date'))
      detail = `must be an RFC 3339 ${params.format === 'date' ? 'date, such as 2030-12-31' : 'date-time, such as 2030-12-31T23:59:59Z (seconds 00 to 59)'}`;
    if (v.keyword === 'enum') detail = `must be one of ${(params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
    return { pointer: `${part}${pointer}`, detail };
  });
}

/** Turns any error into an RFC 9457 answer; nothing internal ever reaches the client. */
export function toAppError(error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error;
  // The store unreachable, too slow or not serving is an outage (503), not a bug (500).
  if (isStoreUnavailable(error)) return storeUnavailable();
  const fe = error as FastifyError;
  if (fe.validation) {
    const errors = toFieldErrors(fe);
    const where = fe.validationContext === 'body' ? 'request body' : fe.validationContext === 'querystring' ? 'query string' : fe.validationContext ?? 'request';
    const first = errors[0];
    return new AppError('validation_failed', `The ${where} is invalid${first ? `: ${first.pointer || '(root)'} ${first.detail}` : ''}.`, errors);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('malformed_json', `The request body is not valid JSON: ${fe.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'The request body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the request body as application/json.');
    case 'FST_ERR_BAD_URL':
      return new AppError('malformed_request', 'The URL is not valid: a percent-encoded character in its path is broken.');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('uri_too_long', `A path segment of the URL is longer than ${MAX_PARAM_LENGTH} characters.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', 'The Content-Length header does not match the body.');
  }
  if (error instanceof SyntaxError && fe.statusCode === 400)
    return new AppError('malformed_json', `The request body is not valid JSON: ${error.message}`);
  if (fe.statusCode === 413) return new AppError('payload_too_large', 'The request body is larger than this endpoint accepts.');
  if (fe.statusCode === 415) return new AppError('unsupported_media_type', 'Send the request body as application/json.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError('validation_failed', fe.message);
  return new AppError('internal_error', 'Something went wrong on our side. It has been logged; try again later.');
}

/**
 * Logs an error answered 5xx: once per interval and cause, with a count (the store failing fails
 * every request the same way). Shared by the problem+json and the OAuth error handlers.
 */
export function logServerError(logging: Logging, request: FastifyRequest, error: Error, appError: { status: number; code?: string }, metrics?: Metrics | null): void {
  if (appError.status < 500) return;
  if (appError.code === 'store_unavailable' || isStoreUnavailable(error)) {
    metrics?.storeWasUnavailable();
    const cause = error instanceof AppError ? error.message : storeFailureCause(error);
    logging.errors.report(`store:${cause}`, 'error', 'store unavailable', { err: error }, requestLog(logging, request));
  } else {
    logging.errors.report(`error:${error.name}:${error.message}`, 'error', 'unhandled error', { err: error }, requestLog(logging, request));
  }
}

/** Installs the error and not-found handlers that speak problem+json. */
export function installProblemHandlers(
  app: FastifyInstance,
  logging: Logging,
  onUnmatched?: (request: FastifyRequest, reply: FastifyReply) => void,
  metrics?: Metrics | null,
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    logServerError(logging, request, error, appError, metrics);
    return sendProblem(reply, request, appError);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // The router matches no route when a path segment is longer than it takes: say so, not "no such endpoint".
    const tooLong = path.split('/').some((segment) => segment.length > MAX_PARAM_LENGTH);
    const sent = tooLong
      ? sendProblem(reply, request, toAppError(Object.assign(new Error('too long'), { code: 'FST_ERR_MAX_PARAM_LENGTH' })))
      : sendProblem(reply, request, new AppError('not_found', `There is no ${request.method} ${path} endpoint.`));
    onUnmatched?.(request, reply);
    return sent;
  });
}

/**
 * The answer to a request the router cannot take (a broken percent-encoding in the path): a problem
 * document, with its code in X-Keyport-Code as well, since no route (and so no gateway-facing
 * handler) has seen it. Fastify's `frameworkErrors`.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error);
  reply.header('x-keyport-code', appError.code);
  return sendProblem(reply, request, appError);
}

/** The start of what the client sent, when Node's parser kept it (`rawPacket`), as text. */
function rawRequest(error: Error): string {
  const raw = (error as { rawPacket?: unknown }).rawPacket;
  return Buffer.isBuffer(raw) ? raw.subarray(0, 2048).toString('latin1') : '';
}

/**
 * The answer to a request Node's HTTP parser refuses before any route sees it (oversized headers,
 * broken framing, a request that took too long to arrive): a problem document like every other
 * error, written to the socket, which is then closed. Fastify's `clientErrorHandler`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('headers_too_large', 'The request headers are larger than Keyport accepts (16 KB in all).')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('request_timeout', 'The request did not arrive in time.')
        : new AppError('malformed_request', 'The request is not well-formed HTTP/1.1.');
  // The request line, when the parser got that far, says whether the request was meant for /oauth/*.
  const target = /^[A-Z]+ (\S+)/.exec(rawRequest(error))?.[1];
  const oauth = isOAuthPath(target);
  const body = JSON.stringify(
    oauth ? oauthBody(problem) : { type: problemType(problem.code), code: problem.code, title: problem.title, status: problem.status, detail: problem.message },
  );
  const headers = oauth ? 'Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nPragma: no-cache' : 'Content-Type: application/problem+json';
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${headers}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Keyport-Code: ${problem.code}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
