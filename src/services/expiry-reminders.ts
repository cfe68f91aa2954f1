import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Account } from '../domain/model.js';
import { noticeKey } from '../storage/key-notice-repositories.js';
import type { Store } from '../storage/repositories.js';
import { toKeyView } from './key-view.js';
import type { NoticeType } from './notices.js';
import type { Outbox } from './outbox.js';

export const DAY_MS = 86_400_000;

/**
 * How long after a key lapsed `key.expired` is still sent for it: a node that was down for a while
 * makes up for it, while keys that expired long before (an upgrade) raise nothing.
 */
export const EXPIRED_LOOKBACK_MS = 7 * DAY_MS;

/** How long claims are kept: longer than any reminder can come before its expiry, plus the lookback. */
const CLAIMS_KEPT_MS = 366 * DAY_MS + EXPIRED_LOOKBACK_MS;

/** The claim of a scheduled pass over one interval: `marker` numbers the interval. */
const PASS_NOTICE = 'expiry.pass';
/** Pass claims matter only while their interval lasts; they are kept a day. */
const PASS_CLAIMS_KEPT_MS = DAY_MS;

const PAGE = 500;

/**
 * The notice a key is due at `now`: `key.expired` once it has lapsed, else the reminder of the
 * smallest threshold it is within (`key.expiring:<days>`), else none. Time only moves on, so a
 * larger threshold is never due again once a smaller one was: a node that missed the 7-day mark
 * sends the 1-day reminder only.
 */
export function dueNotice(expiresAt: number, now: number, days: readonly number[]): string | null {
  if (expiresAt <= now) return 'key.expired';
  let due: number | null = null;
  for (const d of days) if (expiresAt - now <= d * DAY_MS && (due === null || d < due)) due = d;
  return due === null ? null : `key.expiring:${due}`;
}

/**
 * Expiry reminders: each pass finds the keys within one of their account's `expiryNoticeDays` of
 * expiring, or that lapsed, and sends each due notice once. Any number of nodes may run passes
 * at once: each notice is claimed in the store (a row in key_notices, unique per key, notice and
 * expiry instant) in the transaction that writes it to the outbox, so exactly one node sends it,
 * and a crash before the commit leaves it to the next pass. A key given a new expiry gets its
 * reminders again for that instant.
 *
 * Scheduled passes are claimed too (`tick`): of the nodes whose timers fire in one interval, the
 * one whose claim lands scans, so the store is read once per interval however many nodes there
 * are. A node that dies in its pass leaves the rest to the next interval's.
 */
export class ExpiryReminders {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  /** One pass over every account; returns how many notices this node sent. */
  async run(): Promise<number> {
    const now = this.clock.now();
    let sent = 0;
    for (const account of await this.store.repos.accounts.list()) sent += await this.runAccount(account, now);
    await this.store.repos.keyNotices.purge(now - CLAIMS_KEPT_MS);
    await this.store.repos.keyNotices.purge(now - PASS_CLAIMS_KEPT_MS, PASS_NOTICE);
    return sent;
  }

  /**
   * The scheduled pass of the interval of `intervalMs` that `now` falls in: run when this node
   * claims it, skipped (null) when another node did.
   */
  async tick(intervalMs: number): Promise<number | null> {
    const now = this.clock.now();
    const claimed = await this.store.repos.keyNotices.claim({ keyId: '', accountId: '', notice: PASS_NOTICE, marker: Math.floor(now / intervalMs) }, now);
    return claimed ? this.run() : null;
  }

  private async runAccount(account: Account, now: number): Promise<number> {
    const days = account.settings.expiryNoticeDays;
    const until = now + Math.max(0, ...days) * DAY_MS;
    let sent = 0;
    let after: { expiresAt: number; id: string } | undefined;
    for (;;) {
      const keys = await this.store.repos.keys.expiryCandidates(account.id, now - EXPIRED_LOOKBACK_MS, until, PAGE, after);
      if (keys.length === 0) break;
      const done = await this.store.repos.keyNotices.sentFor(keys.map((k) => k.id));
      for (const key of keys) {
        const notice = dueNotice(key.expiresAt!, now, days);
        if (notice !== null && !done.has(noticeKey(key.id, notice, key.expiresAt!)) && (await this.send(account.id, key.id, key.expiresAt!, notice, now))) sent++;
      }
      if (keys.length < PAGE) break;
      const last = keys[keys.length - 1]!;
      after = { expiresAt: last.expiresAt!, id: last.id };
    }
    return sent;
  }

  /** Claims and sends one notice, in one transaction; false when the key changed or another node sent it. */
  private async send(accountId: string, keyId: string, expiresAt: number, notice: string, now: number): Promise<boolean> {
    return this.store.transaction(async (repos) => {
      const key = await repos.keys.find(accountId, keyId);
      if (key === undefined || key.expiresAt !== expiresAt) return false;
      if (!(await repos.keyNotices.claim({ keyId, accountId, notice, marker: expiresAt }, now))) return false;
      const [type, days] = notice.split(':') as [NoticeType, string | undefined];
      const view = toKeyView(this.catalog, key, now);
      await this.outbox.record(repos, {
        audit: {
          actor: { system: 'expiry reminders' },
          entry: { accountId, action: type, keyId, after: { expiresAt: view.expiresAt, ...(days === undefined ? {} : { daysBefore: Number(days) }) } },
        },
        notices: [{ accountId, type, data: view }],
      });
      return true;
    });
  }

  /**
   * Runs a pass every `intervalMs`, each failure handed to `onError`. The first comes one interval
   * after start, not at once: a starting node serves its first requests undisturbed.
   */
  start(intervalMs: number, onError: (err: unknown) => void): void {
    if (this.timer !== null) return;
    const pass = () => {
      if (this.current !== null) return;
      this.current = this.tick(intervalMs)
        .then(() => {}, onError)
        .finally(() => {
          this.current = null;
        });
    };
    this.timer = setInterval(pass, intervalMs);
    this.timer.unref();
  }

  /** Stops the passes, and waits for one that is running to end. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.current;
  }
}
