import { ENVIRONMENTS } from '../domain/environment.js';
import { VERIFY_CODES } from '../domain/verification.js';
import { Role } from './keys.js';
import { MAX_CREDITS, MetaSchema, ExternalIdSchema } from '../domain/usage-controls.js';
import { nullable, oneOf, Type, type Static } from './schema.js';

/**
 * The longest credential /v1/verify takes. Checked in the handler, not by `maxLength` in the schema:
 * JSON Schema counts characters (code points), so the validator walks the whole string, about 3 µs
 * for an access token on every request. Credentials are ASCII, where `length` is the same count.
 */
export const CREDENTIAL_MAX = 8192;

export const VerifyBody = Type.Object(
  {
    key: Type.Optional(Type.String({ description: `A token key or an access token, 1 to ${CREDENTIAL_MAX} characters.` })),
    token: Type.Optional(Type.String({ description: `An access token or a token key, 1 to ${CREDENTIAL_MAX} characters.` })),
    environment: Type.Optional(oneOf(ENVIRONMENTS, { description: 'The environment the caller serves: a credential of the other one is refused.' })),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100, description: 'Scopes the credential must all hold.' }),
    ),
    clientIp: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 64,
        description: "The address of the client that sent the credential, as the caller sees it (IPv4 or IPv6). A key with an IP allowlist is refused without it, or from elsewhere (`ip_not_allowed`).",
      }),
    ),
    cost: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_CREDITS, default: 1, description: 'Credits this use spends, for keys with credits (default 1); 0 only checks that some are left.' }),
    ),
  },
  { additionalProperties: false },
);
export type VerifyBody = Static<typeof VerifyBody>;

/**
 * The fields of the answer for a valid credential, after `valid` and `code`, in the order they are
 * written: the one list the schema and the answer (`http/routes/verify.ts`) are both built from.
 */
export const VERIFIED_FIELDS = {
  keyId: Type.String(),
  account: Type.String(),
  environment: oneOf(ENVIRONMENTS),
  scopes: Type.Array(Type.String()),
  roles: Type.Array(Role),
  channel: nullable(Type.String()),
  expiresAt: nullable(Type.String({ format: 'date-time', description: 'When the key or token expires; null for a key without expiry.' })),
  grantId: Type.Optional(Type.String({ description: 'Tokens for another account (external keys) only: the grant they were issued under.' })),
  keyAccount: Type.Optional(Type.String({ description: 'Tokens for another account only: the account owning the key (`account` is the granting one).' })),
  meta: MetaSchema,
  externalId: ExternalIdSchema,
  credits: Type.Optional(Type.Object({ remaining: Type.Integer() }, { description: 'Keys with credits only: what is left after this use.' })),
};
export type VerifiedFields = Static<ReturnType<typeof Type.Object<typeof VERIFIED_FIELDS>>>;

/** The answer of /v1/verify; every field but `valid` and `code` only when the credential is valid. */
export const VerifyAnswer = Type.Object({
  valid: Type.Boolean(),
  code: oneOf(VERIFY_CODES, { description: 'Why not valid (stable), or `valid`.' }),
  ...Type.Partial(Type.Object(VERIFIED_FIELDS)).properties,
});
export type VerifyAnswer = Static<typeof VerifyAnswer>;
