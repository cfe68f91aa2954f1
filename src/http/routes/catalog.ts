import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services/index.js';

/** The scope catalog: public, it holds no tenant data and UIs need it before sign-in. */
export const catalogRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { catalog } = services;
  const body = {
    services: catalog.services,
    storefrontScopes: catalog.storefrontScopes,
    roleDefinitions: catalog.roleDefinitions,
    levels: catalog.levels,
  };
  app.get(
    '/v1/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The scope catalog: services and their scopes, role definitions and the scopes of each access level',
        response: {
          200: {
            type: 'object',
            properties: {
              services: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    scopes: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, description: { type: 'string' } } } },
                  },
                },
              },
              storefrontScopes: { type: 'array', items: { type: 'string' } },
              roleDefinitions: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    name: { type: 'string' },
                    levels: {
                      type: 'array',
                      items: { type: 'object', properties: { level: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } } },
                    },
                  },
                },
              },
              levels: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => body,
  );
};
