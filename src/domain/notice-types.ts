/**
 * The events an account's operators can hear of outside Keyport (webhooks). Each names what
 * happened; its `data` is the view the API gives of the thing (never a secret or a hash).
 */
export const NOTICE_TYPES = [
  'key.created',
  'key.updated',
  'key.deleted',
  'key.secret_reset',
  'key.regenerated',
  'key.expiring',
  'key.expired',
  'key.leaked',
  'key.credits_low',
  'grant.created',
  'grant.updated',
  'grant.deleted',
  'webhook.test',
] as const;

export type NoticeType = (typeof NOTICE_TYPES)[number];
