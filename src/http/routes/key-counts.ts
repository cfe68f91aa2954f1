import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { accountParams, problems } from '../schemas.js';

/**
 * How many keys an account holds per environment, next to its limit: the portal says "3 of 25 keys
 * used in sandbox" before the limit is hit, without paging through the whole list.
 */
export const keyCountRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { keys, accounts, auth } = services;

  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/keys/counts',
    {
      schema: {
        tags: ['keys'],
        summary: 'Keys held per environment, and the limit per environment',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: {
              limit: { type: 'integer', description: 'The account setting keyLimitPerEnvironment.' },
              counts: {
                type: 'object',
                properties: { sandbox: { type: 'integer' }, production: { type: 'integer' } },
              },
            },
          },
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
