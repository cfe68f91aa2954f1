import type { FastifyPluginAsync } from 'fastify';
import type { CreateAccountInput, SettingsPatch } from '../../services/accounts-service.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { accountParams, problems, settingsPatchSchema } from '../schemas.js';
import { accountView } from '../views.js';

export const accountRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { accounts, auth } = services;

  app.post<{ Body: CreateAccountInput }>(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (platform owner only)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
            eligible: { type: 'boolean', default: true, description: 'Non-eligible accounts cannot create keys.' },
            provisionDefaultKeys: { type: 'boolean', default: true, description: 'Provision an admin and a storefront key in each environment.' },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              eligible: { type: 'boolean' },
              settings: { $ref: 'Settings#' },
              createdAt: { type: 'string' },
              updatedAt: { type: 'string' },
              provisionedKeys: { type: 'array', items: { $ref: 'Key#' } },
            },
          },
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
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'Account#' } } } }, ...problems(401) },
      },
    },
    async (request) => {
      const { principal } = await guard(auth, request, {});
      const visible = await principal.accounts();
      const items = await accounts.list(visible === 'all' ? undefined : visible);
      return { items: items.map(accountView) };
    },
  );

  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account',
    {
      schema: {
        tags: ['accounts'],
        summary: 'An account, with its settings',
        params: accountParams,
        response: { 200: { $ref: 'Account#' }, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return accountView(await accounts.get(request.params.account));
    },
  );

  app.patch<{ Params: { account: string }; Body: SettingsPatch }>(
    '/v1/accounts/:account/settings',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Change account settings',
        params: accountParams,
        body: settingsPatchSchema,
        response: { 200: { $ref: 'Account#' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'settings.edit' });
      const { after } = await accounts.updateSettings(request.params.account, request.body, actor);
      return accountView(after);
    },
  );
};
