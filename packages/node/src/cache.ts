/**
 * A bounded map with a lifetime per entry, least recently used entries dropped first. Keys are
 * SHA-256 hashes of credentials, never the credentials themselves.
 */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; until: number; touched: number }>();

  constructor(
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (entry.until <= now) {
      this.map.delete(key);
      return undefined;
    }
    // Most recently used last (a Map keeps insertion order). A hot entry is moved at most once a
    // second: recency to the second is enough to evict the cold ones, and a hit stays a lookup.
    if (now - entry.touched > 1000) {
      entry.touched = now;
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    const now = this.now();
    this.map.delete(key);
    this.map.set(key, { value, until: now + ttlMs, touched: now });
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }

  /** Whether a live entry is kept under `key` (without counting as a use). */
  has(key: string): boolean {
    const entry = this.map.get(key);
    return entry !== undefined && entry.until > this.now();
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
