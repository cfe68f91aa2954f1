import { timingSafeEqual, createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { HistogramCell, Metrics } from '../services/metrics.js';
import { arrivedAt } from './request-id.js';

/**
 * Times every route's requests into the metrics. Installed before the routes: each route gets an
 * onSend hook of its own that knows its route pattern, so a request costs one clock read, a lookup
 * of its cell by method and status in a small map, and a histogram bucket increment. The label is
 * the pattern (`/v1/accounts/:account/keys`), never the URL.
 */
export function timeRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRoute', (route) => {
    if (route.url === '/metrics') return;
    const pattern = route.url ?? route.path;
    const cells = new Map<string, Map<number, HistogramCell>>();
    const hook: onSendHookHandler = (request, reply, payload, done) => {
      observe(metrics, cells, pattern, request, reply);
      done(null, payload);
    };
    const existing = route.onSend;
    route.onSend = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
  });
}

function observe(metrics: Metrics, cells: Map<string, Map<number, HistogramCell>>, pattern: string, request: FastifyRequest, reply: FastifyReply): void {
  const method = request.method;
  let byStatus = cells.get(method);
  if (byStatus === undefined) cells.set(method, (byStatus = new Map()));
  const status = reply.statusCode;
  let cell = byStatus.get(status);
  if (cell === undefined) byStatus.set(status, (cell = metrics.httpCell(pattern, method, status)));
  cell.observe((performance.now() - arrivedAt(request.raw)) / 1000);
}

/** Times requests that match no route (404), under the route label `unmatched`. */
export function timeUnmatched(metrics: Metrics): (request: FastifyRequest, reply: FastifyReply) => void {
  const cells = new Map<string, Map<number, HistogramCell>>();
  return (request, reply) => observe(metrics, cells, 'unmatched', request, reply);
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `GET /metrics`, the Prometheus text format. With a token, it asks for `Authorization: Bearer
 * <token>` (compared in constant time) and answers 401 without it.
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null): void {
  const expected = token === null ? null : digest(token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected !== null) {
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!timingSafeEqual(digest(given), expected)) {
        reply.header('www-authenticate', 'Bearer realm="keyport-metrics"');
        return reply.status(401).type('text/plain; charset=utf-8').send('Send the metrics token (KEYPORT_METRICS_TOKEN) as "Authorization: Bearer <token>".\n');
      }
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
}
