import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { LruCache } from '../domain/lru.js';
import { crossedThreshold } from '../domain/usage-controls.js';
import type { Store } from '../storage/repositories.js';
import type { CreditsSpent } from './credits.js';
import { toKeyView } from './key-view.js';
import type { Outbox } from './outbox.js';

/**
 * `key.credits_low`: told of every spend (CreditsLedger.onSpent), it sends the notice when a spend
 * takes a key's credits from above its account's `creditsLowThreshold` to at or below it. Each
 * spend is one atomic statement, so exactly one spend (on one node) makes that crossing; the
 * notice and its audit entry are written through the outbox in a transaction of their own right
 * after it. A top-up or a refill above the threshold arms it again.
 *
 * Spends are traffic: the accounts' thresholds are cached (a bounded LRU, forgotten on every
 * node when the account's settings change), so a spend that crosses nothing costs no query.
 */
export class CreditsNotices {
  private readonly thresholds = new LruCache<string, number>(10_000);

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  /** The account's settings changed (here or on another node): read its threshold again. */
  forget(accountId: string | null): void {
    if (accountId === null) this.thresholds.clear();
    else this.thresholds.delete(accountId);
  }

  /** The CreditsLedger.onSpent hook: never throws; a failure to write goes to `onError`. */
  listener(onError: (err: unknown) => void): (spent: CreditsSpent) => void {
    return (spent) => {
      const threshold = this.thresholds.get(spent.accountId);
      if (threshold !== undefined && !crossedThreshold(spent.previous, spent.remaining, threshold)) return;
      this.check(spent).catch(onError);
    };
  }

  /** Sends key.credits_low when this spend crossed the account's threshold; true when it did. */
  async check(spent: CreditsSpent): Promise<boolean> {
    const account = await this.store.repos.accounts.find(spent.accountId);
    if (account === undefined) return false;
    this.thresholds.set(spent.accountId, account.settings.creditsLowThreshold);
    if (!crossedThreshold(spent.previous, spent.remaining, account.settings.creditsLowThreshold)) return false;
    return this.store.transaction(async (repos) => {
      const key = await repos.keys.find(spent.accountId, spent.keyId);
      if (key === undefined) return false;
      const view = toKeyView(this.catalog, key, this.clock.now());
      await this.outbox.record(repos, {
        audit: {
          actor: { system: 'credits' },
          entry: { accountId: key.accountId, action: 'key.credits_low', keyId: key.id, after: { remaining: spent.remaining, threshold: account.settings.creditsLowThreshold } },
        },
        notices: [{ accountId: key.accountId, type: 'key.credits_low', data: view }],
      });
      return true;
    });
  }
}
