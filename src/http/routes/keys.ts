import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { noStore } from '../no-store.js';
import { publicBaseUrl } from '../public-origin.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../../config.js';
import { AccountParams } from '../../contract/accounts.js';
import {
  BatchDeleteAnswer,
  BatchDeleteBody,
  CreateKeyBody,
  DeleteKeyQuery,
  IssuedKey,
  KeyPage,
  KeyParams,
  KeyRef,
  ListKeysQuery,
  Quickstart,
  RegenerateBody,
  ResetSecretBody,
  RevealAnswer,
  UpdateKeyBody,
  VerifySecretAnswer,
  VerifySecretBody,
} from '../../contract/keys.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { NoContent } from '../../contract/schema.js';
import { problems } from '../schemas.js';

export const keyRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (plugin, { services, config }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { keys, accounts, auth } = services;
  const baseUrl = (request: FastifyRequest) => publicBaseUrl(config, request);

  app.post(
    '/v1/accounts/:account/keys',
    {
      ...noStore,
      schema: {
        tags: ['keys'],
        summary: 'Create a key; the answer holds its secret, shown this once',
        params: AccountParams,
        body: CreateKeyBody,
        response: { 201: IssuedKey, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const account = await accounts.get(request.params.account);
      return reply.status(201).send(await keys.create(account, request.body, actor));
    },
  );

  app.get(
    '/v1/accounts/:account/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List keys: filter, search, sort and page',
        params: AccountParams,
        querystring: ListKeysQuery,
        response: { 200: KeyPage, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.list(request.params.account, request.query);
    },
  );

  app.get(
    '/v1/accounts/:account/keys/:key',
    {
      schema: { tags: ['keys'], summary: 'One key', params: KeyParams, response: { 200: KeyRef, ...problems(401, 403, 404) } },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.get(request.params.account, request.params.key);
    },
  );

  app.patch(
    '/v1/accounts/:account/keys/:key',
    {
      schema: {
        tags: ['keys'],
        summary: 'Rename, switch on or off, change channel, scopes, roles or expiry',
        params: KeyParams,
        body: UpdateKeyBody,
        response: { 200: KeyRef, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const { after } = await keys.update(request.params.account, request.params.key, request.body, actor);
      return after;
    },
  );

  app.delete(
    '/v1/accounts/:account/keys/:key',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete a key',
        params: KeyParams,
        querystring: DeleteKeyQuery,
        response: { 204: NoContent, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      await keys.delete(request.params.account, request.params.key, request.query.revokeTokens ?? false, actor);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/accounts/:account/keys/batch-delete',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete several keys at once, all or nothing',
        params: AccountParams,
        body: BatchDeleteBody,
        response: { 200: BatchDeleteAnswer, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.edit' });
      const { ids, revokeTokens } = request.body;
      const deleted = await keys.batchDelete(request.params.account, ids, request.body.confirm, revokeTokens ?? false, actor);
      return { deleted: deleted.map((k) => k.id) };
    },
  );

  app.post(
    '/v1/accounts/:account/keys/:key/reset-secret',
    {
      ...noStore,
      schema: {
        tags: ['keys'],
        summary: 'A new secret for the key, shown once; the old one stops now or after a grace period',
        params: KeyParams,
        body: ResetSecretBody,
        response: { 200: IssuedKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.renew' });
      const account = await accounts.get(request.params.account);
      return keys.resetSecret(account, request.params.key, request.body.confirm, request.body.previousSecretValidFor ?? 0, actor);
    },
  );

  app.post(
    '/v1/accounts/:account/keys/:key/regenerate',
    {
      ...noStore,
      schema: {
        tags: ['keys'],
        summary: 'A new client id and secret; the old pair stops working at once',
        params: KeyParams,
        body: RegenerateBody,
        response: { 200: IssuedKey, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.renew' });
      const account = await accounts.get(request.params.account);
      return keys.regenerate(account, request.params.key, request.body.confirm, request.body.revokeTokens ?? false, actor);
    },
  );

  app.post(
    '/v1/accounts/:account/keys/:key/verify-secret',
    {
      schema: {
        tags: ['keys'],
        summary: 'Does a candidate secret match the key?',
        params: KeyParams,
        body: VerifySecretBody,
        response: { 200: VerifySecretAnswer, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return { matches: await keys.verifySecret(request.params.account, request.params.key, request.body.secret, actor) };
    },
  );

  app.post(
    '/v1/accounts/:account/keys/:key/reveal',
    {
      ...noStore,
      schema: {
        tags: ['keys'],
        summary: 'Reveal a secret (account secretReveal "permitted" and the keys.reveal permission); audited',
        params: KeyParams,
        response: { 200: RevealAnswer, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const actor = await guard(auth, request, { account: request.params.account, permission: 'keys.reveal' });
      const account = await accounts.get(request.params.account);
      const { secret } = await keys.reveal(account, request.params.key, actor);
      return { secret };
    },
  );

  app.get(
    '/v1/accounts/:account/keys/:key/quickstart',
    {
      schema: {
        tags: ['keys'],
        summary: 'Ready-to-run samples (curl, JavaScript, Python) for the key',
        params: KeyParams,
        response: { 200: Quickstart, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await guard(auth, request, { account: request.params.account, permission: 'keys.view' });
      return keys.quickstart(request.params.account, request.params.key, baseUrl(request));
    },
  );
};
