import type { FastifyPluginAsync } from 'fastify';
import { Catalog } from '../../contract/catalog.js';
import type { Services } from '../../services/index.js';

/** The scope catalog: public, it holds no tenant data and UIs need it before sign-in. */
export const catalogRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { catalog } = services;
  const body: Catalog = {
    services: catalog.services,
    storefrontScopes: catalog.storefrontScopes,
    roleDefinitions: catalog.roleDefinitions,
    levels: [...catalog.levels],
  };
  app.get(
    '/v1/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The scope catalog: services and their scopes, role definitions and the scopes of each access level',
        response: { 200: Catalog },
      },
    },
    async () => body,
  );
};
