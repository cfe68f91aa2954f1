import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { CREDENTIAL_TYPES, ENVIRONMENTS, KINDS } from '../../domain/environment.js';
import { validationError } from '../../domain/errors.js';
import type { Services } from '../../services/index.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PREVIOUS_SECRET_VALID_FOR, type CreateKeyInput, type ListKeysInput, type UpdateKeyInput } from '../../services/keys-service.js';
import { guard } from '../auth.js';
import { accountParams, channelSchema, keyNameSchema, keyParams, problems, rateLimitSchema, roleSchema, scopeListSchema } from '../schemas.js';

type KeyParams = { account: string; key: string };

const issuedKey = {
  type: 'object',
  properties: {
    key: { $ref: 'Key#' },
    secret: { type: ['string', 'null'], description: 'Shown in this answer only; store it now.' },
  },
} as const;

const confirm = { type: 'boolean', description: 'Must be true: the action cannot be undone.' } as const;

/** Query-string dates: ISO 8601 date-times, or plain dates (whole UTC days). */
const dateFilter = { type: 'string', anyOf: [{ format: 'date-time' }, { format: 'date' }] } as const;

export const keyRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (app, { services, config }) => {
  const { keys, accounts, auth } = services;
  const baseUrl = (request: FastifyRequest) => config.publicUrl ?? `${request.protocol}://${request.host}`;

  app.post<{ Params: { account: string }; Body: CreateKeyInput }>(
    '/v1/accounts/:account/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create a key; the answer holds its secret, shown this once',
        params: accountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'environment', 'kind', 'credentialType'],
          properties: {
            name: keyNameSchema,
            environment: { type: 'string', enum: ENVIRONMENTS },
            kind: { type: 'string', enum: KINDS },
            credentialType: { type: 'string', enum: CREDENTIAL_TYPES },
            scopes: scopeListSchema,
            roles: { type: 'array', maxItems: 50, items: roleSchema },
            channel: channelSchema,
            active: { type: 'boolean' },
            expiresAt: { type: ['string', 'null'], format: 'date-time' },
            rateLimit: rateLimitSchema,
          },
        },
        response: { 201: issuedKey, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const account = await accounts.get(request.params.account);
      return reply.status(201).send(await keys.create(account, request.body, actor));
    },
  );

  app.get<{ Params: { account: string }; Querystring: Record<string, string | number | boolean | undefined> }>(
    '/v1/accounts/:account/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List keys: filter, search, sort and page',
        params: accountParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            environment: { type: 'string', enum: ENVIRONMENTS },
            kind: { type: 'string', enum: KINDS },
            credentialType: { type: 'string', enum: CREDENTIAL_TYPES },
            active: { type: 'boolean' },
            channel: { type: 'string', minLength: 1, maxLength: 100 },
            q: { type: 'string', minLength: 1, maxLength: 100, description: 'Case-insensitive part of the name.' },
            createdFrom: dateFilter,
            createdTo: dateFilter,
            updatedFrom: dateFilter,
            updatedTo: dateFilter,
            sort: {
              type: 'string',
              pattern: '^-?(name|active|channel|createdAt|updatedAt|lastUsedAt)$',
              description: "name, active, channel, createdAt, updatedAt or lastUsedAt; a leading '-' sorts descending; keys without a channel or never used sort first ascending, last descending. Default -createdAt.",
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
            cursor: { type: 'string', minLength: 1, maxLength: 1000 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: { $ref: 'Key#' } }, nextCursor: { type: ['string', 'null'] } },
          },
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      const q = request.query;
      const input: ListKeysInput = { ...(q as ListKeysInput) };
      // A plain date as upper bound means "through the end of that day".
      for (const [field, endOfDay] of [['createdFrom', false], ['createdTo', true], ['updatedFrom', false], ['updatedTo', true]] as const) {
        const value = q[field];
        if (value === undefined) continue;
        const ms = Date.parse(String(value)) + (endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? 86_399_999 : 0);
        (input as Record<string, unknown>)[field] = ms;
      }
      if (input.createdFrom !== undefined && input.createdTo !== undefined && input.createdFrom > input.createdTo)
        throw validationError('createdFrom is after createdTo: the range is empty.', [{ pointer: '/querystring/createdFrom', detail: 'must not be after createdTo' }]);
      if (input.updatedFrom !== undefined && input.updatedTo !== undefined && input.updatedFrom > input.updatedTo)
        throw validationError('updatedFrom is after updatedTo: the range is empty.', [{ pointer: '/querystring/updatedFrom', detail: 'must not be after updatedTo' }]);
      return keys.list(request.params.account, input);
    },
  );

  app.get<{ Params: KeyParams }>(
    '/v1/accounts/:account/keys/:key',
    {
      schema: { tags: ['keys'], summary: 'One key', params: keyParams, response: { 200: { $ref: 'Key#' }, ...problems(401, 403, 404) } },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.get(request.params.account, request.params.key);
    },
  );

  app.patch<{ Params: KeyParams; Body: UpdateKeyInput }>(
    '/v1/accounts/:account/keys/:key',
    {
      schema: {
        tags: ['keys'],
        summary: 'Rename, switch on or off, change channel, scopes, roles or expiry',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: keyNameSchema,
            active: { type: 'boolean' },
            channel: channelSchema,
            scopes: scopeListSchema,
            roles: { type: 'array', maxItems: 50, items: roleSchema },
            expiresAt: { type: ['string', 'null'], format: 'date-time' },
            rateLimit: rateLimitSchema,
          },
        },
        response: { 200: { $ref: 'Key#' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const { after } = await keys.update(request.params.account, request.params.key, request.body, actor);
      return after;
    },
  );

  app.delete<{ Params: KeyParams; Querystring: { revokeTokens?: boolean } }>(
    '/v1/accounts/:account/keys/:key',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete a key',
        params: keyParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { revokeTokens: { type: 'boolean', default: false, description: 'Also stop access tokens already issued with it.' } },
        },
        response: { 204: { type: 'null' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      await keys.delete(request.params.account, request.params.key, request.query.revokeTokens ?? false, actor);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { account: string }; Body: { ids: string[]; confirm: boolean; revokeTokens?: boolean } }>(
    '/v1/accounts/:account/keys/batch-delete',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete several keys at once, all or nothing',
        params: accountParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ids', 'confirm'],
          properties: {
            ids: { type: 'array', minItems: 1, maxItems: 500, items: { type: 'string', minLength: 1, maxLength: 100 } },
            confirm,
            revokeTokens: { type: 'boolean', default: false },
          },
        },
        response: {
          200: { type: 'object', properties: { deleted: { type: 'array', items: { type: 'string' } } } },
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const { ids, revokeTokens } = request.body;
      const deleted = await keys.batchDelete(request.params.account, ids, request.body.confirm, revokeTokens ?? false, actor);
      return { deleted: deleted.map((k) => k.id) };
    },
  );

  app.post<{ Params: KeyParams; Body: { confirm: boolean; previousSecretValidFor?: number } }>(
    '/v1/accounts/:account/keys/:key/reset-secret',
    {
      schema: {
        tags: ['keys'],
        summary: 'A new secret for the key, shown once; the old one stops now or after a grace period',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['confirm'],
          properties: {
            confirm,
            previousSecretValidFor: {
              type: 'integer',
              minimum: 0,
              maximum: MAX_PREVIOUS_SECRET_VALID_FOR,
              description: 'Seconds the old secret keeps working (default 0: it stops at once).',
            },
          },
        },
        response: { 200: issuedKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.renew' });
      const account = await accounts.get(request.params.account);
      return keys.resetSecret(account, request.params.key, request.body.confirm, request.body.previousSecretValidFor ?? 0, actor);
    },
  );

  app.post<{ Params: KeyParams; Body: { confirm: boolean; revokeTokens?: boolean } }>(
    '/v1/accounts/:account/keys/:key/regenerate',
    {
      schema: {
        tags: ['keys'],
        summary: 'A new client id and secret; the old pair stops working at once',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['confirm'],
          properties: { confirm, revokeTokens: { type: 'boolean', default: false, description: 'Also stop access tokens already issued.' } },
        },
        response: { 200: issuedKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.renew' });
      const account = await accounts.get(request.params.account);
      return keys.regenerate(account, request.params.key, request.body.confirm, request.body.revokeTokens ?? false, actor);
    },
  );

  app.post<{ Params: KeyParams; Body: { secret: string } }>(
    '/v1/accounts/:account/keys/:key/verify-secret',
    {
      schema: {
        tags: ['keys'],
        summary: 'Does a candidate secret match the key?',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['secret'],
          properties: { secret: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 200: { type: 'object', properties: { matches: { type: 'boolean' } } }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return { matches: await keys.verifySecret(request.params.account, request.params.key, request.body.secret, actor) };
    },
  );

  app.post<{ Params: KeyParams }>(
    '/v1/accounts/:account/keys/:key/reveal',
    {
      schema: {
        tags: ['keys'],
        summary: 'Reveal a secret (account secretReveal "permitted" and the keys.reveal permission); audited',
        params: keyParams,
        response: { 200: { type: 'object', properties: { secret: { type: 'string' } } }, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.reveal' });
      const account = await accounts.get(request.params.account);
      const { secret } = await keys.reveal(account, request.params.key, actor);
      return { secret };
    },
  );

  app.get<{ Params: KeyParams }>(
    '/v1/accounts/:account/keys/:key/quickstart',
    {
      schema: {
        tags: ['keys'],
        summary: 'Ready-to-run samples (curl, JavaScript, Python) for the key',
        params: keyParams,
        response: {
          200: {
            type: 'object',
            properties: {
              key: { $ref: 'Key#' },
              samples: {
                type: 'array',
                items: { type: 'object', properties: { language: { type: 'string' }, title: { type: 'string' }, code: { type: 'string' } } },
              },
            },
          },
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.quickstart(request.params.account, request.params.key, baseUrl(request));
    },
  );
};
