import { ACCESS_LEVELS } from '../domain/catalog.js';
import { CREDENTIAL_TYPES, ENVIRONMENTS, KINDS } from '../domain/environment.js';
import { SECRET_REVEAL_POLICIES, SETTING_BOUNDS } from '../domain/settings.js';

/**
 * JSON schemas shared by the routes. They validate input (unknown fields are refused), shape output
 * (a field not listed here never leaves the server: key rows hold hashes), and feed the OpenAPI
 * document.
 */

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'An RFC 9457 problem. `code` is stable; `errors` points at the bad fields.',
  properties: {
    type: { type: 'string' },
    code: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { pointer: { type: 'string' }, detail: { type: 'string' } } },
    },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const;

export const roleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['definition', 'level'],
  properties: {
    definition: { type: 'string', minLength: 1, maxLength: 100 },
    level: { type: 'string', enum: ACCESS_LEVELS },
  },
} as const;

export const scopeListSchema = {
  type: 'array',
  maxItems: 500,
  items: { type: 'string', minLength: 1, maxLength: 200 },
} as const;

export const keyNameSchema = { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' } as const;
export const channelSchema = { type: ['string', 'null'], minLength: 1, maxLength: 100 } as const;

export const rateLimitSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['limit', 'windowSeconds'],
  description: 'At most `limit` requests to /v1/verify and /oauth/token per window of `windowSeconds`; null: unlimited.',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    windowSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  },
} as const;

export const keySchema = {
  $id: 'Key',
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    name: { type: 'string' },
    environment: { type: 'string', enum: ENVIRONMENTS },
    kind: { type: 'string', enum: KINDS },
    credentialType: { type: 'string', enum: CREDENTIAL_TYPES },
    clientId: nullableString,
    scopes: { type: 'array', items: { type: 'string' } },
    roles: { type: 'array', items: roleSchema },
    grantedScopes: { type: 'array', items: { type: 'string' } },
    channel: nullableString,
    active: { type: 'boolean' },
    hasSecret: { type: 'boolean' },
    expiresAt: nullableTimestamp,
    previousSecretExpiresAt: nullableTimestamp,
    createdAt: timestamp,
    updatedAt: timestamp,
    lastUsedAt: nullableTimestamp,
    createdBy: { type: 'string' },
    rateLimit: rateLimitSchema,
  },
} as const;

export const settingsSchema = {
  $id: 'Settings',
  type: 'object',
  properties: {
    accessTokenTtl: { type: 'integer', description: 'Access token lifetime in seconds.' },
    keyLifetime: { type: ['integer', 'null'], description: 'Default lifetime of new and reset secrets, in seconds; null: no expiry.' },
    keyLimitPerEnvironment: { type: 'integer' },
    secretReveal: { type: 'string', enum: SECRET_REVEAL_POLICIES },
    defaultActive: {
      type: 'object',
      properties: { client_secret: { type: 'boolean' }, token: { type: 'boolean' } },
    },
  },
} as const;

export const accountSchema = {
  $id: 'Account',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    eligible: { type: 'boolean' },
    settings: { $ref: 'Settings#' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
} as const;

export const settingsPatchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    accessTokenTtl: { type: 'integer', minimum: SETTING_BOUNDS.accessTokenTtl.min, maximum: SETTING_BOUNDS.accessTokenTtl.max },
    keyLifetime: { type: ['integer', 'null'], minimum: SETTING_BOUNDS.keyLifetime.min, maximum: SETTING_BOUNDS.keyLifetime.max },
    keyLimitPerEnvironment: {
      type: 'integer',
      minimum: SETTING_BOUNDS.keyLimitPerEnvironment.min,
      maximum: SETTING_BOUNDS.keyLimitPerEnvironment.max,
    },
    secretReveal: { type: 'string', enum: SECRET_REVEAL_POLICIES },
    defaultActive: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { client_secret: { type: 'boolean' }, token: { type: 'boolean' } },
    },
  },
} as const;

/** Every shared schema, registered once with `app.addSchema`. */
export const sharedSchemas = [problemSchema, keySchema, settingsSchema, accountSchema];

/** The error answers a route may give, for the OpenAPI document. */
export const problems = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { $ref: 'Problem#' }]));

export const accountParams = {
  type: 'object',
  required: ['account'],
  properties: { account: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

export const keyParams = {
  type: 'object',
  required: ['account', 'key'],
  properties: {
    account: { type: 'string', minLength: 1, maxLength: 100 },
    key: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;
