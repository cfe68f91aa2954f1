import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AccountParams } from '../../contract/accounts.js';
import { CreateGrantBody, ExternalKey, GrantParams, UpdateGrantBody } from '../../contract/grants.js';
import { Type } from '../../contract/schema.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { NoContent } from '../../contract/schema.js';
import { problems } from '../schemas.js';

/** External keys: grants of this account's resources to keys of other accounts. */
export const grantRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { grants, auth } = services;

  app.get(
    '/v1/accounts/:account/external-keys',
    {
      schema: {
        tags: ['external keys'],
        summary: 'Keys of other accounts granted roles here (never their secrets)',
        params: AccountParams,
        response: { 200: Type.Object({ items: Type.Array(ExternalKey) }), ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return { items: await grants.list(request.params.account) };
    },
  );

  app.post(
    '/v1/accounts/:account/grants',
    {
      schema: {
        tags: ['external keys'],
        summary: "Grant another account's key roles in this account's resources",
        params: AccountParams,
        body: CreateGrantBody,
        response: { 201: ExternalKey, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      return reply.status(201).send(await grants.create(request.params.account, request.body, actor));
    },
  );

  app.patch(
    '/v1/accounts/:account/grants/:grant',
    {
      schema: {
        tags: ['external keys'],
        summary: 'Switch a grant on or off, or change its roles (tokens for this account stop at once)',
        params: GrantParams,
        body: UpdateGrantBody,
        response: { 200: ExternalKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      return grants.update(request.params.account, request.params.grant, request.body, actor);
    },
  );

  app.delete(
    '/v1/accounts/:account/grants/:grant',
    { schema: { tags: ['external keys'], summary: 'Remove a grant', params: GrantParams, response: { 204: NoContent, ...problems(401, 403, 404) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      await grants.delete(request.params.account, request.params.grant, actor);
      return reply.status(204).send(null);
    },
  );
};
