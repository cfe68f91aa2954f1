import type { Store } from '../storage/repositories.js';

/**
 * Keeps keys' `lastUsedAt` current without a storage write per request: each use is noted in
 * memory, and `flush` writes every key used since the last flush in one batch statement. The
 * background tasks flush every few seconds, and shutdown flushes once more.
 */
export class UsageRecorder {
  private pending = new Map<string, number>();

  constructor(private readonly store: Store) {}

  /** Notes that key `keyId` was used at `at` (epoch ms). */
  record(keyId: string, at: number): void {
    this.pending.set(keyId, at);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes the noted uses; on failure they are kept for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.repos.keys.touchLastUsed([...batch].map(([id, at]) => ({ id, at })));
    } catch (err) {
      for (const [id, at] of batch) if ((this.pending.get(id) ?? 0) < at) this.pending.set(id, at);
      throw err;
    }
  }
}
