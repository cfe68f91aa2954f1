import { refillPeriodStart, type CreditRefill } from '../domain/usage-controls.js';
import type { CreditSpend, Store } from '../storage/repositories.js';

/** One spend of credits that went through: how many were left before and are left now. */
export interface CreditsSpent {
  accountId: string;
  keyId: string;
  /** Credits left before this spend (after a refill that was due). */
  previous: number;
  remaining: number;
  at: number;
}

/**
 * Where keys spend their credits. The count lives in the store and each spend is one conditional
 * statement (`UPDATE ... WHERE remaining >= cost RETURNING remaining`), so several nodes sharing a
 * PostgreSQL never let through more uses than there are credits, and nothing is lost on a crash.
 * Refills are computed from the key's rule and the start of its current period, in the same
 * statement: no job has to run for them. Spending is traffic, not a change: it is not audited.
 */
export class CreditsLedger {
  /**
   * Told of every spend that went through, after it is committed: the one place that sees credits
   * go down, e.g. to raise "credits are running low" when `previous` and `remaining` lie on both
   * sides of a threshold (`crossedThreshold` in domain/usage-controls.ts). It must not throw.
   */
  onSpent: ((spent: CreditsSpent) => void) | null = null;

  constructor(private readonly store: Store) {}

  /** Spends `cost` credits of the key at `now` (0: checks that at least one is left). */
  async spend(keyId: string, accountId: string, refill: CreditRefill | null, cost: number, now: number): Promise<CreditSpend> {
    const spent = await this.store.repos.keys.spendCredits(keyId, cost, refill === null ? null : refillPeriodStart(refill, now));
    if (spent.kind === 'spent' && cost > 0 && this.onSpent !== null)
      this.onSpent({ accountId, keyId, previous: spent.remaining + cost, remaining: spent.remaining, at: now });
    return spent;
  }
}
