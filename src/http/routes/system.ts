import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SystemNodes } from '../../contract/system.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';

/** The cluster as the platform owner sees it: its nodes, from their heartbeats (the portal's System page). */
export const systemRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/system/nodes',
    {
      schema: {
        tags: ['system'],
        summary: 'The Keyport nodes sharing this store: version, when they started and were last seen, sync lag, last error',
        description: 'Each node writes a heartbeat every few seconds; nodes silent for a day are no longer listed. Platform owner only.',
        response: { 200: SystemNodes, ...problems(401, 403) },
      },
    },
    async (request) => {
      await guard(services.auth, request, { platformOwner: true });
      return services.nodes.list();
    },
  );
};
