/**
 * A bounded least-recently-used map with an optional time-to-live per entry. Map iteration order is
 * insertion order, so re-inserting on read keeps the oldest entry first for eviction. A read only
 * re-inserts entries that are not among the newest half: they are far from eviction anyway, and
 * the hot entries of a busy cache then cost a lookup, not a delete and an insert.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number; seq: number }>();
  /** Counts insertions: an entry's `seq` says how recently it was (re-)inserted. */
  private seq = 0;
  /** Reads that found a live entry, and reads that did not (for the cache metrics). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    if (entry.expires !== Number.POSITIVE_INFINITY && entry.expires <= this.now()) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (this.seq - entry.seq > this.maxEntries >> 1) {
      this.entries.delete(key);
      entry.seq = ++this.seq;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  /** Stores a value for `ttlMs` milliseconds (forever when omitted). */
  set(key: K, value: V, ttlMs = Number.POSITIVE_INFINITY): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs, seq: ++this.seq });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
