import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AccountParams } from '../../contract/accounts.js';
import { NoContent, Type } from '../../contract/schema.js';
import {
  CreateWebhookBody,
  DeliveryPage,
  DeliveryParams,
  ListDeliveriesQuery,
  RotateWebhookSecretBody,
  UpdateWebhookBody,
  Webhook,
  WebhookDelivery,
  WebhookParams,
  WebhookWithSecret,
} from '../../contract/webhooks.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';

/** Webhook endpoints of an account, their test pings and their delivery log (permission settings.edit). */
export const webhookRoutes: FastifyPluginAsync<{ services: Services }> = async (plugin, { services }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const { webhooks, auth } = services;
  const tags = ['webhooks'];
  const editor = (request: FastifyRequest & { params: { account: string } }) => guard(auth, request, { account: request.params.account, permission: 'settings.edit' });

  app.post(
    '/v1/accounts/:account/webhooks',
    {
      schema: {
        tags,
        summary: 'Add a webhook endpoint (its signing secret is answered this once)',
        params: AccountParams,
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const actor = await editor(request);
      return reply.status(201).send(await webhooks.create(request.params.account, request.body, actor));
    },
  );

  app.get(
    '/v1/accounts/:account/webhooks',
    { schema: { tags, summary: "The account's webhook endpoints", params: AccountParams, response: { 200: Type.Object({ items: Type.Array(Webhook) }), ...problems(401, 403, 404) } } },
    async (request) => {
      await editor(request);
      return { items: await webhooks.list(request.params.account) };
    },
  );

  app.get(
    '/v1/accounts/:account/webhooks/:webhook',
    { schema: { tags, summary: 'One webhook endpoint', params: WebhookParams, response: { 200: Webhook, ...problems(401, 403, 404) } } },
    async (request) => {
      await editor(request);
      return webhooks.get(request.params.account, request.params.webhook);
    },
  );

  app.patch(
    '/v1/accounts/:account/webhooks/:webhook',
    {
      schema: { tags, summary: "Change an endpoint's URL, events, description, or switch it on or off", params: WebhookParams, body: UpdateWebhookBody, response: { 200: Webhook, ...problems(400, 401, 403, 404) } },
    },
    async (request) => {
      const actor = await editor(request);
      return webhooks.update(request.params.account, request.params.webhook, request.body, actor);
    },
  );

  app.delete(
    '/v1/accounts/:account/webhooks/:webhook',
    { schema: { tags, summary: 'Remove an endpoint and its delivery log', params: WebhookParams, response: { 204: NoContent, ...problems(401, 403, 404) } } },
    async (request, reply) => {
      const actor = await editor(request);
      await webhooks.delete(request.params.account, request.params.webhook, actor);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/accounts/:account/webhooks/:webhook/test',
    { schema: { tags, summary: 'Send a webhook.test ping to the endpoint', params: WebhookParams, response: { 202: WebhookDelivery, ...problems(401, 403, 404) } } },
    async (request, reply) => {
      await editor(request);
      return reply.status(202).send(await webhooks.test(request.params.account, request.params.webhook));
    },
  );

  app.post(
    '/v1/accounts/:account/webhooks/:webhook/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Make a new signing secret; the old one signs alongside for graceSeconds',
        params: WebhookParams,
        body: RotateWebhookSecretBody,
        response: { 200: WebhookWithSecret, ...problems(400, 401, 403, 404) },
      },
      // The body is optional: none means the default grace period.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const actor = await editor(request);
      return webhooks.rotateSecret(request.params.account, request.params.webhook, request.body.graceSeconds ?? 86_400, actor);
    },
  );

  app.get(
    '/v1/accounts/:account/webhooks/:webhook/deliveries',
    {
      schema: { tags, summary: "The endpoint's delivery log, newest first", params: WebhookParams, querystring: ListDeliveriesQuery, response: { 200: DeliveryPage, ...problems(400, 401, 403, 404) } },
    },
    async (request) => {
      await editor(request);
      return webhooks.deliveries(request.params.account, request.params.webhook, request.query);
    },
  );

  // `retry` is the documented name; `redeliver` says the same.
  for (const action of ['retry', 'redeliver'])
    app.post(
      `/v1/accounts/:account/webhooks/:webhook/deliveries/:delivery/${action}`,
      { schema: { tags, summary: 'Send a delivery again, now', hide: action !== 'retry', params: DeliveryParams, response: { 202: WebhookDelivery, ...problems(401, 403, 404, 409) } } },
      async (request, reply) => {
        await editor(request);
        return reply.status(202).send(await webhooks.retry(request.params.account, request.params.webhook, request.params.delivery));
      },
    );
};
