import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services/index.js';

/**
 * Liveness and readiness, for load balancers and orchestrators. No authentication.
 *
 * `/healthz` answers while the process runs, whatever the store does: restarting a node does not
 * mend a database. `/readyz` answers 503 while the node should get no traffic: its view of the
 * cluster event log is older than the staleness bound (it cannot vouch for its cached answers), or
 * the store does not answer (within the statement timeout).
 */
export const healthRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const status = {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ok', 'ready', 'behind', 'storage unreachable'] },
      detail: { type: 'string' },
      keyFilter: {
        type: 'string',
        enum: ['loading', 'ready'],
        description:
          "/readyz only. The filter of existing keys' secret hashes: `loading` while the node builds it after its start (a made-up key then costs a store read), `ready` once made-up keys are refused without one.",
      },
    },
  } as const;
  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: status } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: the store answers and this node is up to date with the cluster event log',
        response: { 200: status, 503: status },
      },
    },
    async (_request, reply) => {
      // Behind for a moment (just started, or a long pause of the event loop) but reading the log
      // fine: catch up before answering, so readiness does not flap.
      if (!services.tokens.sync.isFresh() && !services.tokens.sync.isFailing) await services.tokens.sync.catchUp().catch(() => {});
      const sync = services.tokens.sync.status();
      const keyFilter = services.tokens.verification.existingKeys.state;
      if (!sync.fresh)
        return reply.status(503).send({
          status: 'behind',
          keyFilter,
          detail: sync.failing
            ? 'The cluster event log cannot be read: the store is unreachable or too slow.'
            : `The last read of the cluster event log started ${Math.round(sync.behindMs)} ms ago, more than the bound of ${services.tokens.sync.maxStalenessMs} ms.`,
        });
      const ok = await services.store.storage.ping();
      return reply.status(ok ? 200 : 503).send(ok ? { status: 'ready', keyFilter } : { status: 'storage unreachable', keyFilter, detail: 'The store did not answer a trivial query in time.' });
    },
  );
};
