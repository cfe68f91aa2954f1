import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { storeUnavailable } from '../domain/errors.js';

/**
 * Gives every request a deadline. Each wait is bounded already (statement, lock and pool timeouts,
 * the Redis command timeout), but a request may wait several times; past the deadline it is
 * answered 503 store_unavailable (under /oauth, temporarily_unavailable: each route group's error
 * handler words it) and whatever it was still waiting for is dropped.
 *
 * The deadline wraps each handler when the route is added, and only a handler that returns a
 * promise gets a timer: the verification hot path, which answers synchronously from its caches,
 * pays nothing. A route declared with `config: { deadline: false }` (a long-lived stream) has none.
 */
export function applyRequestDeadline(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('onRoute', (route) => {
    if ((route.config as { deadline?: boolean } | undefined)?.deadline === false) return;
    const handler = route.handler as (...args: Parameters<RouteHandlerMethod>) => unknown;
    route.handler = function (this: FastifyInstance, request, reply) {
      const result = handler.call(this, request, reply);
      return result instanceof Promise ? withDeadline(result, timeoutMs) : result;
    } as RouteHandlerMethod;
  });
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(storeUnavailable(`The request could not be completed within its deadline of ${timeoutMs} ms: the store is slow or unreachable. Try again shortly.`)),
      timeoutMs,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
