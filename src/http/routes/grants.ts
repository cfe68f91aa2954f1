import type { FastifyPluginAsync } from 'fastify';
import type { RoleAssignment } from '../../domain/catalog.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { accountParams, problems, roleSchema } from '../schemas.js';

const externalKey = {
  type: 'object',
  properties: {
    grantId: { type: 'string' },
    active: { type: 'boolean' },
    roles: { type: 'array', items: roleSchema },
    grantedScopes: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    createdBy: { type: 'string' },
    key: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        accountId: { type: 'string' },
        name: { type: 'string' },
        environment: { type: 'string' },
        credentialType: { type: 'string' },
        clientId: { type: ['string', 'null'] },
        active: { type: 'boolean' },
      },
    },
  },
} as const;
const grantParams = {
  type: 'object',
  required: ['account', 'grant'],
  properties: { account: { type: 'string', minLength: 1, maxLength: 100 }, grant: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

/** External keys: grants of this account's resources to keys of other accounts. */
export const grantRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { grants, auth } = services;

  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/external-keys',
    {
      schema: {
        tags: ['external keys'],
        summary: 'Keys of other accounts granted roles here (never their secrets)',
        params: accountParams,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: externalKey } } }, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return { items: await grants.list(request.params.account) };
    },
  );

  app.post<{ Params: { account: string }; Body: { key: string; roles: RoleAssignment[] } }>(
    '/v1/accounts/:account/grants',
    {
      schema: {
        tags: ['external keys'],
        summary: "Grant another account's key roles in this account's resources",
        params: accountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['key', 'roles'],
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 100, description: "The other account's key id or client id." },
            roles: { type: 'array', minItems: 1, maxItems: 50, items: roleSchema },
          },
        },
        response: { 201: externalKey, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      return reply.status(201).send(await grants.create(request.params.account, request.body, actor));
    },
  );

  app.patch<{ Params: { account: string; grant: string }; Body: { active?: boolean; roles?: RoleAssignment[] } }>(
    '/v1/accounts/:account/grants/:grant',
    {
      schema: {
        tags: ['external keys'],
        summary: 'Switch a grant on or off, or change its roles (tokens for this account stop at once)',
        params: grantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { active: { type: 'boolean' }, roles: { type: 'array', minItems: 1, maxItems: 50, items: roleSchema } },
        },
        response: { 200: externalKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      return grants.update(request.params.account, request.params.grant, request.body, actor);
    },
  );

  app.delete<{ Params: { account: string; grant: string } }>(
    '/v1/accounts/:account/grants/:grant',
    { schema: { tags: ['external keys'], summary: 'Remove a grant', params: grantParams, response: { 204: { type: 'null' }, ...problems(401, 403, 404) } } },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      await grants.delete(request.params.account, request.params.grant, actor);
      return reply.status(204).send();
    },
  );
};
