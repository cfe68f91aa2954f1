import { ENVIRONMENTS } from '../domain/environment.js';
import { USAGE_OUTCOMES } from '../domain/verification.js';
import { VerifyAnswer } from './verify.js';
import { nullable, oneOf, Type, type Static } from './schema.js';

/**
 * The change events `GET /v1/events` streams to in-process verifiers (the `@keyport/node` SDK),
 * and the two calls those verifiers make besides /v1/verify: `POST /v1/verify/lookup` (the first
 * sight of a credential, with what the verifier may cache of it) and `POST /v1/verify/usage`
 * (the uses it answered itself, in batches). One module: the server and the SDK's tests import it.
 */

/** The event types of the stream: changes that make a cached answer wrong, then the stream's own. */
export const CHANGE_EVENT_TYPES = ['key_changed', 'token_revoked', 'client_revoked', 'grant_changed', 'grant_revoked', 'signing_keys_changed'] as const;
export type ChangeEventType = (typeof CHANGE_EVENT_TYPES)[number];
export const STREAM_EVENT_TYPES = ['ready', 'heartbeat', 'reset'] as const;

/** The `data` of a change event (one JSON object per event, on one line). */
export const ChangeEventData = Type.Object({
  seq: Type.Integer({ description: 'Position in the cluster event log (also the first part of the SSE `id`).' }),
  type: oneOf(CHANGE_EVENT_TYPES),
  account: nullable(Type.String({ description: 'The account it belongs to; null for signing keys.' })),
  changeType: nullable(Type.String({ description: 'key_changed: created, updated, deleted, secret_reset, regenerated...; signing_keys_changed: rotated or withdrawn.' })),
  keyId: nullable(Type.String({ description: 'The key whose cached answers are stale (key_changed), or that the revocation concerns.' })),
  clientId: nullable(Type.String({ description: 'token_revoked, client_revoked: the client id whose tokens stop (client_revoked: all of them).' })),
  jti: nullable(Type.String({ description: 'token_revoked: the revoked access token.' })),
  grantId: nullable(Type.String({ description: 'grant_changed, grant_revoked: the grant (grant_revoked: null means every grant of `keyId`).' })),
  grantVersion: nullable(Type.Integer({ description: 'grant_revoked: tokens whose grant_version claim is below this stop.' })),
  kid: nullable(Type.String({ description: 'signing_keys_changed: the signing key added or withdrawn.' })),
  until: nullable(Type.String({ format: 'date-time', description: 'Revocations: until when they matter (the tokens they stop have expired by then).' })),
  at: Type.String({ format: 'date-time', description: 'When the change was made.' }),
});
export type ChangeEventData = Static<typeof ChangeEventData>;

export const EventsQuery = Type.Object(
  {
    heartbeat: Type.Optional(
      Type.Integer({ minimum: 200, maximum: 60_000, default: 5000, description: 'Milliseconds between heartbeats (default 5000). A verifier that hears nothing for longer knows the stream is down.' }),
    ),
  },
  { additionalProperties: false },
);

/** The answer of POST /v1/verify/lookup. */
export const LookupAnswer = Type.Object({
  result: VerifyAnswer,
  cache: Type.Object(
    {
      keyId: nullable(Type.String({ description: 'The key the credential belongs to (null when it is unknown or malformed): cache entries are dropped by it when a key_changed event names it.' })),
      local: Type.Boolean({
        description:
          'True: the verifier may answer this credential itself from `identity` until told otherwise (the key has no rate limit, credits or IP allowlist, and is not an external key). False: send every use to POST /v1/verify, where they are counted centrally.',
      }),
      identity: Type.Object(
        {
          ...Type.Partial(Type.Object(VerifyAnswer.properties)).properties,
          valid: Type.Boolean(),
          code: VerifyAnswer.properties.code,
        },
        { description: 'What the credential is regardless of environment and scopes: the /v1/verify answer without any requirement, for the verifier to check later requirements against.' },
      ),
      until: nullable(Type.String({ format: 'date-time', description: 'After this, the cached identity is expired (the key expires, or its previous secret stops).' })),
    },
    { description: 'What the verifier may keep of the credential, by its SHA-256 hash, never the credential itself.' },
  ),
});
export type LookupAnswer = Static<typeof LookupAnswer>;

/** Most entries in one usage report. */
export const USAGE_BATCH_MAX = 1000;
/** Most uses one entry may report. */
export const USAGE_COUNT_MAX = 1_000_000;

export const UsageReport = Type.Object(
  {
    uses: Type.Array(
      Type.Object(
        {
          keyId: Type.String({ minLength: 1, maxLength: 100 }),
          account: Type.String({ minLength: 1, maxLength: 100, description: 'The account of the key (the verifier needs keys.verify on it).' }),
          environment: oneOf(ENVIRONMENTS),
          lastUsedAt: Type.Integer({ minimum: 0, description: 'Epoch milliseconds of the last valid use (0: none was valid).' }),
          outcomes: Type.Object(
            Object.fromEntries(USAGE_OUTCOMES.map((o) => [o, Type.Optional(Type.Integer({ minimum: 0, maximum: USAGE_COUNT_MAX }))])) as Record<
              (typeof USAGE_OUTCOMES)[number],
              ReturnType<typeof Type.Optional<ReturnType<typeof Type.Integer>>>
            >,
            { additionalProperties: false, description: 'How many uses had each outcome.' },
          ),
        },
        { additionalProperties: false },
      ),
      { maxItems: USAGE_BATCH_MAX },
    ),
  },
  { additionalProperties: false },
);
export type UsageReport = Static<typeof UsageReport>;

export const UsageReportAnswer = Type.Object({
  accepted: Type.Integer({ description: 'Entries counted.' }),
  ignored: Type.Integer({ description: 'Entries of keys that are gone or of accounts the caller may not verify.' }),
});
