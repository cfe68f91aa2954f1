import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AccountList, AccountParams, AccountRef, CreateAccountBody, CreatedAccount, SettingsPatch } from '../../contract/accounts.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';
import { accountView } from '../views.js';

export const accountRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, auth } = services;

  app.post(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (platform owner only)',
        body: CreateAccountBody,
        response: {
          201: CreatedAccount,
          ...problems(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { platformOwner: true });
      const { account, provisionedKeys } = await accounts.create(request.body, actor);
      return reply.status(201).send({ ...accountView(account), provisionedKeys });
    },
  );

  app.get(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'The accounts the caller may work on',
        response: { 200: AccountList, ...problems(401) },
      },
    },
    async (request) => {
      const { principal } = await guard(auth, request, {});
      const visible = await principal.accounts();
      // Reading an account (its name and settings) needs keys.view on it, as GET /v1/accounts/{account} does:
      // a service token, or a role with keys.verify alone, lists none.
      const items = await accounts.list(visible === 'all' ? undefined : visible.filter((id) => principal.permissionsOn(id).has('keys.view')));
      return { items: items.map(accountView) };
    },
  );

  app.get(
    '/v1/accounts/:account',
    {
      schema: {
        tags: ['accounts'],
        summary: 'An account, with its settings',
        params: AccountParams,
        response: { 200: AccountRef, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return accountView(await accounts.get(request.params.account));
    },
  );

  app.patch(
    '/v1/accounts/:account/settings',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Change account settings',
        params: AccountParams,
        body: SettingsPatch,
        response: { 200: AccountRef, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'settings.edit' });
      const { after } = await accounts.updateSettings(request.params.account, request.body, actor);
      return accountView(after);
    },
  );
};
