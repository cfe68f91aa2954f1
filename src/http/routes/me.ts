import type { FastifyPluginAsync } from 'fastify';
import { Me } from '../../contract/accounts.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';

/** Who the caller is and what it may do on each account: the portal shows and hides pages by this. */
export const meRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/v1/me',
    {
      schema: {
        tags: ['operators'],
        summary: 'The caller: kind, and the permissions it holds on each account it may work on',
        response: {
          200: Me,
          ...problems(401),
        },
      },
    },
    async (request): Promise<Me> => {
      const { principal: actor } = await guard(services.auth, request, {});
      const visible = await actor.accounts();
      const accounts = await services.accounts.list(visible === 'all' ? undefined : visible);
      const operator = actor.operatorId ? await services.operators.getOperator(actor.operatorId) : undefined;
      return {
        ...(operator ? { email: operator.email, name: operator.name } : {}),
        kind: actor.kind,
        id: actor.id,
        isPlatformOwner: actor.isPlatformOwner,
        accounts: accounts.map((a) => ({ id: a.id, name: a.name, eligible: a.eligible, permissions: [...actor.permissionsOn(a.id)] })),
      };
    },
  );
};
