import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { KeyCounts } from '../../contract/keys.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { AccountParams } from '../../contract/accounts.js';
import { problems } from '../schemas.js';

/**
 * How many keys an account holds per environment, next to its limit: the portal says "3 of 25 keys
 * used in sandbox" before the limit is hit, without paging through the whole list.
 */
export const keyCountRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { keys, accounts, auth } = services;

  app.get(
    '/v1/accounts/:account/keys/counts',
    {
      schema: {
        tags: ['keys'],
        summary: 'Keys held per environment, and the limit per environment',
        params: AccountParams,
        response: {
          200: KeyCounts,
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.counts(await accounts.get(request.params.account));
    },
  );
};
