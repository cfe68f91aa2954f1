/**
 * A bounded map with a lifetime per entry, least recently used entries dropped first. Keys are
 * SHA-256 hashes of credentials, never the credentials themselves.
 */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order. Re-inserted only when not already last
    // in spirit: a hit on a hot entry costs a delete and a set.
    this.map.delete(key);
    this.map.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.map.delete(key);
    this.map.set(key, { value, until: this.now() + ttlMs });
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
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
