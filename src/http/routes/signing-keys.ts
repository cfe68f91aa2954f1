import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../domain/errors.js';
import { signingKeyView as view } from '../../services/tokens/signing-keys.js';
import type { Services } from '../../services/index.js';
import { guard } from '../auth.js';
import { problems } from '../schemas.js';

const signingKeySchema = {
  type: 'object',
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string' },
    status: { type: 'string', enum: ['next', 'current', 'retired', 'withdrawn'] },
    createdAt: { type: 'string', format: 'date-time' },
    activatesAt: { type: 'string', format: 'date-time' },
    retiredAt: { type: ['string', 'null'], format: 'date-time' },
    publishedUntil: { type: ['string', 'null'], format: 'date-time' },
    withdrawnAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/** The access-token signing keys, for the platform owner: list, rotate and withdraw them. */
export const signingKeyRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { signingKeys } = services.tokens.oauth;

  app.get(
    '/v1/signing-keys',
    {
      schema: {
        tags: ['signing keys'],
        summary: 'The access-token signing keys and their state (platform owner only); no private material',
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: signingKeySchema } } }, ...problems(401, 403) },
      },
    },
    async (request) => {
      await guard(services.auth, request, { platformOwner: true });
      return { items: signingKeys.list().map(view) };
    },
  );

  app.post<{ Body: { immediately?: boolean } | undefined }>(
    '/v1/signing-keys/rotate',
    {
      schema: {
        tags: ['signing keys'],
        summary: 'Add a new signing key (platform owner only); tokens already issued stay valid',
        description:
          'The new key is published at once and signs tokens after KEYPORT_SIGNING_KEY_PREPUBLISH seconds, or at once with `immediately`. The old key stays published until every token it signed has expired.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { immediately: { type: 'boolean', default: false, description: 'Sign with the new key now (after a suspected compromise).' } },
        },
        response: { 201: signingKeySchema, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const actor = await guard(services.auth, request, { platformOwner: true });
      const key = await signingKeys.rotate({ immediately: request.body?.immediately ?? false }, actor);
      return reply.status(201).send(view(key));
    },
  );

  app.post<{ Params: { kid: string } }>(
    '/v1/signing-keys/:kid/withdraw',
    {
      schema: {
        tags: ['signing keys'],
        summary: 'Withdraw a signing key after a suspected compromise (platform owner only): its tokens stop at once',
        description:
          "The key leaves /.well-known/jwks.json at once and never signs again; /v1/verify and introspection refuse every token it signed (`revoked`) on every node within a second. When it is the key signing now, a new key is added first and signs at once. Resource servers that cached the JWKS stop accepting its tokens when they refetch it. Withdrawing a key twice changes nothing.",
        params: { type: 'object', properties: { kid: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['kid'] },
        response: { 200: signingKeySchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const actor = await guard(services.auth, request, { platformOwner: true });
      const result = await signingKeys.withdraw(request.params.kid, actor);
      if (result === undefined) throw notFound('Signing key', request.params.kid);
      return view(result.after);
    },
  );
};
