import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { performance } from 'node:perf_hooks';

/**
 * Request ids (README, Operations): every request gets one, returned in `X-Request-Id`, written in
 * every log line about the request (`reqId`) and in problem documents (`instance`), so a gateway's
 * log line can be matched to Keyport's.
 *
 * The id is, in this order: the caller's `X-Request-Id`, when it is 1 to 128 characters of
 * letters, digits and `-._~:@+=/`; else the trace and parent ids of a valid W3C `traceparent`
 * (`<32 hex>-<16 hex>`); else a new UUID. Anything else a caller sends is ignored, never echoed.
 */
const REQUEST_ID = /^[A-Za-z0-9\-._~:@+=/]{1,128}$/;
/** W3C Trace Context, traceparent: version-traceid-parentid-flags, lower-case hex (version ff is invalid). */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;

/** Where the request's arrival time is kept on the raw request (for the latency histogram). */
export const ARRIVED = Symbol('keyport.arrived');

/** The request's id from its headers (see above), for Fastify's genReqId; also notes its arrival. */
export function requestIdOf(req: IncomingMessage): string {
  (req as IncomingMessage & { [ARRIVED]?: number })[ARRIVED] = performance.now();
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  const parent = req.headers.traceparent;
  if (typeof parent === 'string') {
    const m = TRACEPARENT.exec(parent);
    if (m !== null) return `${m[1]}-${m[2]}`;
  }
  return randomUUID();
}

/** When the request arrived (performance.now()), as noted by requestIdOf. */
export const arrivedAt = (req: IncomingMessage): number => (req as IncomingMessage & { [ARRIVED]?: number })[ARRIVED] ?? performance.now();

/**
 * Returns the request id in `X-Request-Id` from every route: set as the handler starts (a wrapper
 * added with the route, cheaper on the hot path than an onRequest hook for every request). Answers
 * given before a handler runs (validation, 404, framework errors) are problem documents or OAuth
 * errors, whose senders set it themselves.
 */
export function returnRequestIds(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (...args: Parameters<RouteHandlerMethod>) => unknown;
    route.handler = function (this: FastifyInstance, request, reply) {
      reply.header('x-request-id', request.id);
      return handler.call(this, request, reply);
    } as RouteHandlerMethod;
  });
}

/** The problem document's `instance` for a request: `urn:keyport:request:<request id>`. */
export const requestInstance = (id: string) => `urn:keyport:request:${id}`;
