import type { NoticeType } from '../domain/notice-types.js';
import type { Repositories } from '../storage/repositories.js';

// The list lives in the domain, so the contract, the portal and the CLI share it.
export { NOTICE_TYPES, type NoticeType } from '../domain/notice-types.js';

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
