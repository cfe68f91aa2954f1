import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, STORE_RETRY_AFTER_SECONDS, storeUnavailable, type FieldError } from '../domain/errors.js';
import { isStoreUnavailable, storeFailureCause } from '../storage/database.js';
import { requestLog, type Logging } from './logging.js';

/** RFC 9457 problem type URIs: stable, one per error code. */
export const problemType = (code: string) => `urn:keyport:problem:${code}`;

export interface Problem {
  type: string;
  code: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const body: Problem = {
    type: problemType(error.code),
    code: error.code,
    title: error.title,
    status: error.status,
    detail: error.message,
    instance: request.url.split('?')[0],
  };
  if (error.errors?.length) body.errors = error.errors;
  // An outage, not a fault of the request: say when to try again (RFC 9110 10.2.3).
  if (error.code === 'store_unavailable') reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
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
    return new AppError('validation_failed', 400, 'Invalid request',
      `The ${where} is invalid${first ? `: ${first.pointer || '(root)'} ${first.detail}` : ''}.`, errors);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('malformed_json', 400, 'Malformed JSON', `The request body is not valid JSON: ${fe.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 413, 'Payload too large', 'The request body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 415, 'Unsupported media type', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', 400, 'Invalid request', 'The Content-Length header does not match the body.');
  }
  if (error instanceof SyntaxError && fe.statusCode === 400)
    return new AppError('malformed_json', 400, 'Malformed JSON', `The request body is not valid JSON: ${error.message}`);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return new AppError('validation_failed', fe.statusCode, 'Invalid request', fe.message);
  return new AppError('internal_error', 500, 'Internal server error', 'Something went wrong on our side. It has been logged; try again later.');
}

/**
 * Logs an error answered 5xx: once per interval and cause, with a count (the store failing fails
 * every request the same way). Shared by the problem+json and the OAuth error handlers.
 */
export function logServerError(logging: Logging, request: FastifyRequest, error: Error, appError: { status: number; code?: string }): void {
  if (appError.status < 500) return;
  if (appError.code === 'store_unavailable' || isStoreUnavailable(error)) {
    const cause = error instanceof AppError ? error.message : storeFailureCause(error);
    logging.errors.report(`store:${cause}`, 'error', 'store unavailable', { err: error }, requestLog(logging, request));
  } else {
    logging.errors.report(`error:${error.name}:${error.message}`, 'error', 'unhandled error', { err: error }, requestLog(logging, request));
  }
}

/** Installs the error and not-found handlers that speak problem+json. */
export function installProblemHandlers(app: FastifyInstance, logging: Logging): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    logServerError(logging, request, error, appError);
    return sendProblem(reply, request, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new AppError('not_found', 404, 'Not found', `There is no ${request.method} ${request.url.split('?')[0]} endpoint.`)),
  );
}
