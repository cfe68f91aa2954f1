import { RoleAssignmentSchema } from '../domain/catalog.js';
import { CREDENTIAL_TYPES, ENVIRONMENTS, KINDS } from '../domain/environment.js';
import { MAX_PREVIOUS_SECRET_VALID_FOR, RateLimitPolicySchema } from '../domain/model.js';
import { DEFAULT_SORT, SORT_FIELDS } from '../domain/sort-fields.js';
import { TEXT_LIMITS } from '../domain/text-limits.js';
import { CreditRefillSchema, CreditsSchema, ExternalIdSchema, IpAllowlistSchema, MetaSchema } from '../domain/usage-controls.js';
import { idString, nameString, nullable, nullableTimestamp, oneOf, pageOf, ref, timestamp, Type, type Static } from './schema.js';

/** Page sizes of key listings. */
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export const Role = RoleAssignmentSchema;
export type Role = Static<typeof Role>;

const rateLimit = nullable({
  ...RateLimitPolicySchema,
  description: 'At most `limit` requests to /v1/verify and /oauth/token per window of `windowSeconds`; null: unlimited.',
});

const ipAllowlist = nullable(IpAllowlistSchema);
const credits = Type.Unsafe<Static<typeof CreditsSchema> | null>({
  ...CreditsSchema,
  type: ['object', 'null'],
  description: 'Credits the key may spend, and an optional refill; null: unlimited. Setting them (a top-up) starts the refill period anew.',
});

/** A key's credits as the API shows them: what is left now, the refill rule and when it next applies. */
export const CreditsView = Type.Object({
  remaining: Type.Integer(),
  refill: nullable(CreditRefillSchema),
  nextRefillAt: nullableTimestamp,
});
export type CreditsView = Static<typeof CreditsView>;

/** A key as the API shows it: no hash, timestamps as ISO 8601. */
export const Key = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  name: Type.String(),
  environment: oneOf(ENVIRONMENTS),
  kind: oneOf(KINDS),
  credentialType: oneOf(CREDENTIAL_TYPES),
  clientId: nullable(Type.String()),
  scopes: Type.Array(Type.String(), { description: 'The scopes of the kind (admin, storefront) or the ones picked (custom).' }),
  roles: Type.Array(Role),
  grantedScopes: Type.Array(Type.String(), { description: 'Everything the key may do: `scopes` plus what its roles grant.' }),
  channel: nullable(Type.String()),
  active: Type.Boolean(),
  hasSecret: Type.Boolean({ description: 'False for keys provisioned with an account until an operator resets the secret.' }),
  expiresAt: nullableTimestamp,
  previousSecretExpiresAt: nullableTimestamp,
  createdAt: timestamp,
  updatedAt: timestamp,
  lastUsedAt: nullableTimestamp,
  createdBy: Type.String(),
  rateLimit,
  ipAllowlist,
  credits: nullable(CreditsView),
  meta: MetaSchema,
  externalId: ExternalIdSchema,
  leak: nullable(
    Type.Object(
      {
        reportedAt: timestamp,
        source: nullable(Type.String()),
        url: nullable(Type.String()),
      },
      { description: 'The first report of this key found in public (e.g. by GitHub secret scanning); null: none.' },
    ),
  ),
});
export type Key = Static<typeof Key>;
export const KeyRef = ref('Key', Key);

export const KeyParams = Type.Object({ account: idString(), key: idString() });

const name = nameString(TEXT_LIMITS.keyName);
const channel = nullable(Type.String({ minLength: 1, maxLength: TEXT_LIMITS.channel }));
const scopes = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 500 });
const roles = Type.Array(Role, { maxItems: 50 });
const expiresAt = nullable(Type.String({ format: 'date-time' }));

export const CreateKeyBody = Type.Object(
  {
    name,
    environment: oneOf(ENVIRONMENTS),
    kind: oneOf(KINDS),
    credentialType: oneOf(CREDENTIAL_TYPES),
    scopes: Type.Optional(scopes),
    roles: Type.Optional(roles),
    channel: Type.Optional(channel),
    active: Type.Optional(Type.Boolean()),
    expiresAt: Type.Optional({ ...expiresAt, description: "ISO 8601; null for no expiry; absent for the account's keyLifetime." }),
    rateLimit: Type.Optional(rateLimit),
    ipAllowlist: Type.Optional(ipAllowlist),
    credits: Type.Optional(credits),
    meta: Type.Optional(MetaSchema),
    externalId: Type.Optional(ExternalIdSchema),
  },
  { additionalProperties: false },
);
export type CreateKeyInput = Static<typeof CreateKeyBody>;

export const UpdateKeyBody = Type.Object(
  {
    name: Type.Optional(name),
    active: Type.Optional(Type.Boolean()),
    channel: Type.Optional(channel),
    scopes: Type.Optional(scopes),
    roles: Type.Optional(roles),
    expiresAt: Type.Optional(expiresAt),
    rateLimit: Type.Optional(rateLimit),
    ipAllowlist: Type.Optional(ipAllowlist),
    credits: Type.Optional(credits),
    meta: Type.Optional(MetaSchema),
    externalId: Type.Optional(ExternalIdSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateKeyInput = Static<typeof UpdateKeyBody>;

/** Query-string dates: ISO 8601 date-times, or plain dates (whole UTC days). */
const dateFilter = Type.Unsafe<string>({ type: 'string', anyOf: [{ format: 'date-time' }, { format: 'date' }] });

export const ListKeysQuery = Type.Object(
  {
    environment: Type.Optional(oneOf(ENVIRONMENTS)),
    kind: Type.Optional(oneOf(KINDS)),
    credentialType: Type.Optional(oneOf(CREDENTIAL_TYPES)),
    active: Type.Optional(Type.Boolean()),
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Case-insensitive part of the name.' })),
    createdFrom: Type.Optional(dateFilter),
    createdTo: Type.Optional(dateFilter),
    updatedFrom: Type.Optional(dateFilter),
    updatedTo: Type.Optional(dateFilter),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Keys of this owner (the customer's own id)." })),
    unusedSince: Type.Optional({ ...dateFilter, description: 'Keys not used since then: never used, or last used before it.' }),
    expiresBefore: Type.Optional({ ...dateFilter, description: 'Keys that expire (or expired) before then; a plain date means its start. Keys without expiry never match.' }),
    expiresAfter: Type.Optional({ ...dateFilter, description: 'Keys that expire after then (with expiresBefore: a window, e.g. the next 7 days).' }),
    sort: Type.Optional(
      Type.String({
        pattern: `^-?(${SORT_FIELDS.join('|')})$`,
        description: `${SORT_FIELDS.join(', ')}; a leading '-' sorts descending; keys without a channel or never used sort first ascending, last descending; keys with unlimited credits sort as having the most. Default ${DEFAULT_SORT}.`,
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type ListKeysQuery = Static<typeof ListKeysQuery>;

export const KeyPage = pageOf(KeyRef);
export type KeyPage = Static<typeof KeyPage>;

/** A key freshly made or renewed, and its secret in clear: the only moment it exists outside a hash. */
export const IssuedKey = Type.Object({
  key: KeyRef,
  secret: nullable(Type.String({ description: 'Shown in this answer only; store it now.' })),
});
export type IssuedKey = Static<typeof IssuedKey>;

const confirm = Type.Boolean({ description: 'Must be true: the action cannot be undone.' });
const revokeTokens = (description: string) => Type.Optional(Type.Boolean({ default: false, description }));

export const DeleteKeyQuery = Type.Object({ revokeTokens: revokeTokens('Also stop access tokens already issued with it.') }, { additionalProperties: false });

export const BatchDeleteBody = Type.Object(
  { ids: Type.Array(idString(), { minItems: 1, maxItems: 500 }), confirm, revokeTokens: revokeTokens('Also stop access tokens already issued with them.') },
  { additionalProperties: false },
);
export const BatchDeleteAnswer = Type.Object({ deleted: Type.Array(Type.String()) });

export const ResetSecretBody = Type.Object(
  {
    confirm,
    previousSecretValidFor: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_PREVIOUS_SECRET_VALID_FOR, description: 'Seconds the old secret keeps working (default 0: it stops at once).' }),
    ),
  },
  { additionalProperties: false },
);

export const RegenerateBody = Type.Object({ confirm, revokeTokens: revokeTokens('Also stop access tokens already issued.') }, { additionalProperties: false });

export const VerifySecretBody = Type.Object({ secret: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const VerifySecretAnswer = Type.Object({ matches: Type.Boolean() });
export const RevealAnswer = Type.Object({ secret: Type.String() });

export const QUICKSTART_LANGUAGES = ['curl', 'javascript', 'python', 'gateway'] as const;
export const QuickstartSample = Type.Object({ language: oneOf(QUICKSTART_LANGUAGES), title: Type.String(), code: Type.String() });
export type QuickstartSample = Static<typeof QuickstartSample>;
export const Quickstart = Type.Object({ key: KeyRef, samples: Type.Array(QuickstartSample) });
export type Quickstart = Static<typeof Quickstart>;

const perEnvironment = (description: string) =>
  Type.Object(Object.fromEntries(ENVIRONMENTS.map((e) => [e, Type.Integer()])) as Record<(typeof ENVIRONMENTS)[number], ReturnType<typeof Type.Integer>>, { description });

export const KeyCounts = Type.Object({
  limit: Type.Integer({ description: 'The account setting keyLimitPerEnvironment.' }),
  counts: perEnvironment('Keys held in each environment.'),
  available: perEnvironment('How many more keys may be created in each environment: limit minus count, never below 0.'),
  overLimit: perEnvironment(
    'By how many keys each environment is over the limit (count minus limit, never below 0): the limit was lowered below the keys already held. Those keys are kept and keep working; none can be created there until fewer than the limit remain.',
  ),
});
export type KeyCounts = Static<typeof KeyCounts>;
