import { NOTICE_TYPES } from '../domain/notice-types.js';
import { idString, nullable, nullableTimestamp, oneOf, pageOf, timestamp, Type, type Static } from './schema.js';

/** The event types an endpoint may subscribe to (the same list the server sends). */
export const WebhookEventType = oneOf(NOTICE_TYPES);

export const WebhookParams = Type.Object({ account: idString(), webhook: idString() });
export const DeliveryParams = Type.Object({ account: idString(), webhook: idString(), delivery: idString() });

const url = Type.String({ minLength: 1, maxLength: 2000, description: 'https:// URL the events are POSTed to.' });
const events = Type.Array(WebhookEventType, { minItems: 1, maxItems: NOTICE_TYPES.length, uniqueItems: true });

/** A webhook endpoint as the API shows it: never its signing secret. */
export const Webhook = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  url: Type.String(),
  description: nullable(Type.String()),
  events: Type.Array(WebhookEventType),
  active: Type.Boolean(),
  failing: Type.Boolean({ description: 'A delivery gave up after retrying for 3 days; cleared by the next successful delivery.' }),
  failingSince: nullableTimestamp,
  /** Until then the secret before the last rotation signs alongside the current one. */
  previousSecretExpiresAt: nullableTimestamp,
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Webhook = Static<typeof Webhook>;

/** An endpoint with its new signing secret: answered once, on creation and rotation. */
export const WebhookWithSecret = Type.Object({ webhook: Webhook, secret: Type.String({ description: 'whsec_...: shown once; verify deliveries with it.' }) });
export type WebhookWithSecret = Static<typeof WebhookWithSecret>;

export const CreateWebhookBody = Type.Object(
  { url, events, description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type CreateWebhookInput = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  { url: Type.Optional(url), events: Type.Optional(events), description: Type.Optional(nullable(Type.String({ maxLength: 500 }))), active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>;

export const RotateWebhookSecretBody = Type.Object(
  { graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 86_400, description: 'How long the old secret signs alongside the new one (default one day).' })) },
  { additionalProperties: false },
);

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

/** One delivery of one event to one endpoint: what its attempts gave. */
export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'The message id, sent as webhook-id on every attempt.' }),
  eventId: Type.String(),
  type: WebhookEventType,
  status: oneOf(DELIVERY_STATUSES),
  attempts: Type.Integer(),
  nextAttemptAt: nullableTimestamp,
  lastAttemptAt: nullableTimestamp,
  lastStatusCode: nullable(Type.Integer()),
  lastDurationMs: nullable(Type.Integer()),
  lastError: nullable(Type.String()),
  deliveredAt: nullableTimestamp,
  createdAt: timestamp,
  payload: Type.Unknown({ description: 'The body sent: {type, timestamp, data}.' }),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const DeliveryPage = pageOf(WebhookDelivery);
export type DeliveryPage = Static<typeof DeliveryPage>;

export const ListDeliveriesQuery = Type.Object(
  {
    status: Type.Optional(oneOf(DELIVERY_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;
