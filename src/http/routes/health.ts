import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services/index.js';

/** Liveness and readiness, for load balancers and orchestrators. No authentication. */
export const healthRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const status = { type: 'object', properties: { status: { type: 'string' } } } as const;
  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: status } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Readiness: the store answers', response: { 200: status, 503: status } } },
    async (_request, reply) => {
      const ok = await services.store.storage.ping();
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'storage unreachable' });
    },
  );
};
