import { ACCESS_LEVELS } from '../domain/catalog.js';
import { oneOf, Type, type Static } from './schema.js';

const level = oneOf(ACCESS_LEVELS);

/** The scope catalog as GET /v1/catalog shows it: every level lists all the scopes it grants. */
export const Catalog = Type.Object({
  services: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), scopes: Type.Array(Type.Object({ id: Type.String(), description: Type.String() })) }),
  ),
  storefrontScopes: Type.Array(Type.String()),
  roleDefinitions: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), levels: Type.Array(Type.Object({ level, scopes: Type.Array(Type.String()) })) }),
  ),
  levels: Type.Array(level),
});
export type Catalog = Static<typeof Catalog>;
