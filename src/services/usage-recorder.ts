import { USAGE_OUTCOMES, USAGE_OUTCOME_INDEX, type UsageOutcome, type VerifyCode } from '../domain/verification.js';
import type { Store } from '../storage/repositories.js';
import type { UsageIncrement } from '../storage/usage-repositories.js';

const HOUR_MS = 3_600_000;

/** The use counts of one key since the last flush: per hour, a counter per outcome. */
interface KeyCounts {
  accountId: string;
  environment: string;
  hours: Map<number, Float64Array>;
}

/** What the recorder needs to know of a verified credential. */
export interface CountedCredential {
  keyId: string;
  accountId: string;
  environment: string;
  token: { grant: { keyAccountId: string } | null } | null;
}

/**
 * Keeps keys' `lastUsedAt` current, and counts their uses per hour and outcome, without a storage
 * write per request: each use is noted in memory (a map lookup and an increment; nothing is
 * allocated for a key and hour already seen), and `flush` writes everything since the last flush,
 * lastUsedAt in one batch statement and the counts as upserts that add. The background tasks
 * flush every few seconds, and shutdown flushes once more; a crash loses at most one interval.
 */
export class UsageRecorder {
  private pending = new Map<string, number>();
  private counts = new Map<string, KeyCounts>();

  constructor(
    private readonly store: Store,
    /** False when usage analytics is switched off (KEYPORT_USAGE_ANALYTICS=off): nothing is counted. */
    private readonly counting = true,
  ) {}

  /** What waits for the next flush: keys whose lastUsedAt is to be written, and keys with counts to add (for the metrics). */
  get queued(): { lastUsed: number; counts: number } {
    return { lastUsed: this.pending.size, counts: this.counts.size };
  }

  /** Notes that key `keyId` was used at `at` (epoch ms). */
  record(keyId: string, at: number): void {
    this.pending.set(keyId, at);
  }

  /** Counts one verification or token request of a known key with its outcome (`n` of them: a verifier's batch). */
  count(credential: CountedCredential, code: VerifyCode, at: number, n = 1): void {
    if (!this.counting) return;
    const index = USAGE_OUTCOME_INDEX[code as UsageOutcome];
    if (index === undefined) return;
    let key = this.counts.get(credential.keyId);
    if (key === undefined) {
      // A token for another account is its key's use, in the key's own account.
      key = { accountId: credential.token?.grant?.keyAccountId ?? credential.accountId, environment: credential.environment, hours: new Map() };
      this.counts.set(credential.keyId, key);
    }
    const hour = at - (at % HOUR_MS);
    let counters = key.hours.get(hour);
    if (counters === undefined) {
      counters = new Float64Array(USAGE_OUTCOMES.length);
      key.hours.set(hour, counters);
    }
    counters[index]! += n;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Counts not yet written, in buckets (for tests and metrics). */
  get pendingCounts(): number {
    let n = 0;
    for (const key of this.counts.values()) n += key.hours.size;
    return n;
  }

  /** Writes the noted uses and counts; on failure they are kept for the next flush. */
  async flush(): Promise<void> {
    const errors: unknown[] = [];
    if (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.repos.keys.touchLastUsed([...batch].map(([id, at]) => ({ id, at })));
      } catch (err) {
        for (const [id, at] of batch) if ((this.pending.get(id) ?? 0) < at) this.pending.set(id, at);
        errors.push(err);
      }
    }
    if (this.counts.size > 0) {
      const batch = this.counts;
      this.counts = new Map();
      const increments: UsageIncrement[] = [];
      for (const [keyId, key] of batch)
        for (const [bucket, counters] of key.hours)
          counters.forEach((count, i) => {
            if (count > 0) increments.push({ keyId, accountId: key.accountId, environment: key.environment, bucket, outcome: USAGE_OUTCOMES[i]!, count });
          });
      try {
        // One transaction: a failure writes none of it, so a retry counts nothing twice.
        await this.store.transaction((repos) => repos.usage.addHourly(increments));
      } catch (err) {
        this.restore(batch);
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
  }

  /** Puts counts that could not be written back, adding to what was counted meanwhile. */
  private restore(batch: Map<string, KeyCounts>): void {
    for (const [keyId, key] of batch) {
      const current = this.counts.get(keyId);
      if (current === undefined) {
        this.counts.set(keyId, key);
        continue;
      }
      for (const [hour, counters] of key.hours) {
        const now = current.hours.get(hour);
        if (now === undefined) current.hours.set(hour, counters);
        else counters.forEach((c, i) => (now[i]! += c));
      }
    }
  }
}
