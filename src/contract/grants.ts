import { Key, Role } from './keys.js';
import { idString, timestamp, Type, type Static } from './schema.js';

/** A grant as the granting account sees it: the other account's key, never its secret. */
export const ExternalKey = Type.Object({
  grantId: Type.String(),
  active: Type.Boolean(),
  roles: Type.Array(Role),
  grantedScopes: Type.Array(Type.String()),
  createdAt: timestamp,
  updatedAt: timestamp,
  createdBy: Type.String(),
  key: Type.Pick(Key, ['id', 'accountId', 'name', 'environment', 'credentialType', 'clientId', 'active']),
});
export type ExternalKey = Static<typeof ExternalKey>;

export const GrantParams = Type.Object({ account: idString(), grant: idString() });

export const CreateGrantBody = Type.Object(
  {
    key: idString({ description: "The other account's key id or client id." }),
    roles: Type.Array(Role, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);
export type CreateGrantInput = Static<typeof CreateGrantBody>;

export const UpdateGrantBody = Type.Object(
  { active: Type.Optional(Type.Boolean()), roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 50 })) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateGrantInput = Static<typeof UpdateGrantBody>;
