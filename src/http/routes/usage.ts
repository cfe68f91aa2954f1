import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AccountParams } from '../../contract/accounts.js';
import { Usage, UsageQuery } from '../../contract/usage.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';

/** Usage analytics: verifications and token requests per key, by outcome, over time. */
export const usageRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/accounts/:account/usage',
    {
      schema: {
        tags: ['usage'],
        summary: "Verifications and token requests by outcome over time: one key's, or the account's with its most used keys",
        description:
          'Hourly buckets are kept 90 days, daily ones 2 years. Counts are written every few seconds by each node, so the last seconds may not show yet. A range spans at most 31 days of hours or 731 days of days.',
        params: AccountParams,
        querystring: UsageQuery,
        response: { 200: Usage, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await guard(services.auth, request, { account: request.params.account, permission: 'keys.view' });
      return services.usage.query(request.params.account, request.query);
    },
  );
};
