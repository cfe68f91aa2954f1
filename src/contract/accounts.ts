import { PERMISSIONS } from '../domain/principal.js';
import { AccountSettingsSchema, LEAK_RESPONSES, SECRET_REVEAL_POLICIES, SETTING_BOUNDS } from '../domain/settings.js';
import { CREDENTIAL_TYPES } from '../domain/environment.js';
import { KeyRef } from './keys.js';
import { TEXT_LIMITS } from '../domain/text-limits.js';
import { idString, nameString, oneOf, ref, timestamp, Type, type Static } from './schema.js';

export const Settings = AccountSettingsSchema;
export type Settings = Static<typeof Settings>;
export const SettingsRef = ref('Settings', Settings);

const accountFields = {
  id: Type.String(),
  name: Type.String(),
  eligible: Type.Boolean({ description: 'Non-eligible accounts cannot create keys.' }),
  settings: SettingsRef,
  createdAt: timestamp,
  updatedAt: timestamp,
};

/** A tenant as the API shows it. */
export const Account = Type.Object(accountFields);
export type Account = Static<typeof Account>;
export const AccountRef = ref('Account', Account);

export const AccountParams = Type.Object({ account: idString() });

export const CreateAccountBody = Type.Object(
  {
    name: nameString(TEXT_LIMITS.accountName),
    eligible: Type.Optional(Type.Boolean({ default: true, description: 'Non-eligible accounts cannot create keys.' })),
    provisionDefaultKeys: Type.Optional(Type.Boolean({ default: true, description: 'Provision an admin and a storefront key in each environment.' })),
  },
  { additionalProperties: false },
);
export type CreateAccountInput = Static<typeof CreateAccountBody>;

/** A new account, with the keys provisioned for it (they have no secret yet). */
export const CreatedAccount = Type.Object({ ...accountFields, provisionedKeys: Type.Array(KeyRef) });
export type CreatedAccount = Static<typeof CreatedAccount>;

export const AccountList = Type.Object({ items: Type.Array(AccountRef) });

const bounded = (name: Exclude<keyof typeof SETTING_BOUNDS, 'expiryNoticeDays'>) => ({ minimum: SETTING_BOUNDS[name].min, maximum: SETTING_BOUNDS[name].max });

/** A settings change: every field optional; defaultActive may name one credential type only. */
export const SettingsPatch = Type.Object(
  {
    accessTokenTtl: Type.Optional(Type.Integer(bounded('accessTokenTtl'))),
    keyLifetime: Type.Optional(Type.Unsafe<number | null>({ type: ['integer', 'null'], ...bounded('keyLifetime') })),
    keyLimitPerEnvironment: Type.Optional(Type.Integer(bounded('keyLimitPerEnvironment'))),
    secretReveal: Type.Optional(oneOf(SECRET_REVEAL_POLICIES)),
    expiryNoticeDays: Type.Optional(
      Type.Array(Type.Integer({ minimum: SETTING_BOUNDS.expiryNoticeDays.min, maximum: SETTING_BOUNDS.expiryNoticeDays.max }), {
        maxItems: SETTING_BOUNDS.expiryNoticeDays.maxItems,
        uniqueItems: true,
        description: 'Days before expiry a key.expiring notice goes out, e.g. [30, 7, 1]; [] for none.',
      }),
    ),
    leakResponse: Type.Optional(oneOf(LEAK_RESPONSES)),
    creditsLowThreshold: Type.Optional(Type.Integer(bounded('creditsLowThreshold'))),
    defaultActive: Type.Optional(
      Type.Object(Object.fromEntries(CREDENTIAL_TYPES.map((t) => [t, Type.Optional(Type.Boolean())])) as Record<(typeof CREDENTIAL_TYPES)[number], ReturnType<typeof Type.Optional<ReturnType<typeof Type.Boolean>>>>, {
        additionalProperties: false,
        minProperties: 1,
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SettingsPatch = Static<typeof SettingsPatch>;

export const PRINCIPAL_KINDS = ['platform', 'operator', 'service'] as const;

/** The caller, and what it may do on each account it may work on (GET /v1/me). */
export const Me = Type.Object({
  kind: oneOf(PRINCIPAL_KINDS),
  id: Type.String(),
  isPlatformOwner: Type.Boolean(),
  email: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  accounts: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), eligible: Type.Boolean(), permissions: Type.Array(oneOf(PERMISSIONS)) }),
  ),
});
export type Me = Static<typeof Me>;
export type MeAccount = Me['accounts'][number];
