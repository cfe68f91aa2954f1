import type { Repositories } from '../storage/repositories.js';

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

/** One event for one account's subscribers, written with the change that caused it (see Outbox). */
export interface Notice {
  accountId: string;
  type: NoticeType;
  data: unknown;
}

/** Where notices go: called in the change's transaction, so a notice is queued if and only if its change commits. */
export interface NoticeSink {
  enqueue(repos: Repositories, notices: readonly Notice[]): Promise<void>;
}

/** The sink of an installation that delivers nothing. */
export const DISCARD_NOTICES: NoticeSink = { enqueue: async () => {} };
