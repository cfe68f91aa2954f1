import { setImmediate as nextTurn } from 'node:timers/promises';
import { BloomFilter, isHexHash } from '../domain/bloom-filter.js';
import type { Store } from '../storage/repositories.js';

/** Hashes read per page while building: each page is one short read, and requests run between pages. */
const PAGE = 10_000;
/** Room for this many hashes at least, and for twice those held at the last build. */
const MIN_CAPACITY = 100_000;
/** After a failed build (the store unreachable), the next try. */
const RETRY_MS = 10_000;

export type ExistingKeysState = 'loading' | 'ready';

/**
 * Which secret hashes of token keys exist, as a Bloom filter: a well-formed key whose hash the
 * filter has never seen is unknown without a store read, so a flood of made-up keys costs what a
 * cached answer costs. The filter is built from the store when the node starts (in the background,
 * a page at a time; until it is built, every miss reads the store as before) and kept current by
 * the key_changed events of the cluster event log, which name every hash a change touches, on this
 * node at once and from other nodes within the sync interval: the bound the negative cache and
 * every other cached answer already keep. So that a key used the moment it was made on another
 * node is still found, a few absent hashes a second are read all the same
 * (KEYPORT_UNKNOWN_KEY_READS): the filter's answer stands only past that budget, in a flood. When
 * more hashes were added than it has room for, it is rebuilt from the store (the old one answers
 * meanwhile).
 */
export class ExistingKeys {
  private filter: BloomFilter | null = null;
  /** The filter being built; hashes added meanwhile go into both. */
  private next: BloomFilter | null = null;
  private building: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Lookups the filter answered (certainly absent), and those it passed on. */
  hits = 0;
  misses = 0;
  /** Told of a failed build; the filter is built again later. */
  onError: (err: unknown) => void = () => {};
  /** Told when a build completes: hashes held and milliseconds taken. */
  onBuilt: (built: { hashes: number; ms: number; bytes: number }) => void = () => {};

  /** Store reads still allowed this second for hashes the filter says are absent, and since when. */
  private budget: number;
  private budgetSince = 0;

  constructor(
    private readonly store: Store,
    private readonly options: {
      /** Hashes per second read from the store although the filter says they are absent (KEYPORT_UNKNOWN_KEY_READS). */
      readsPerSecond: number;
      /** Room for this many hashes at least (tests make it small to see a rebuild). */
      minCapacity?: number;
      now?: () => number;
    },
  ) {
    this.budget = options.readsPerSecond;
  }

  get state(): ExistingKeysState {
    return this.filter === null ? 'loading' : 'ready';
  }

  /** Hashes in the filter (an upper bound: deleted keys' stay until a rebuild); 0 while loading. */
  get size(): number {
    return this.filter?.count ?? 0;
  }

  /**
   * Is this hash worth a store read? Yes while the filter is being built, when the filter may hold
   * it, and, for a hash it does not hold, while this second's budget of such reads lasts (a key
   * made on another node a moment ago is not in it yet). No means: answer unknown.
   */
  worthReading(hash: string): boolean {
    const filter = this.filter;
    if (filter === null || filter.mayContain(hash) || this.spend()) {
      this.misses++;
      return true;
    }
    this.hits++;
    return false;
  }

  /** Takes one read of this second's budget, if any is left. */
  private spend(): boolean {
    const { readsPerSecond, now = Date.now } = this.options;
    if (readsPerSecond === 0) return false;
    const at = now();
    if (at - this.budgetSince >= 1000) {
      this.budgetSince = at;
      this.budget = readsPerSecond;
    }
    if (this.budget === 0) return false;
    this.budget--;
    return true;
  }

  /** Adds the hashes a key change names (other lookups, such as client ids, are not hashes and are skipped). */
  add(lookups: readonly string[]): void {
    for (const lookup of lookups) {
      if (!isHexHash(lookup)) continue;
      this.filter?.add(lookup);
      this.next?.add(lookup);
    }
    if (this.filter?.full && this.building === undefined) this.rebuild();
  }

  /** Builds the filter in the background; resolves when this build is done (or failed, reported). */
  start(): Promise<void> {
    this.stopped = false;
    return this.rebuild();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.building;
  }

  private rebuild(): Promise<void> {
    clearTimeout(this.retry);
    this.building ??= this.build()
      .catch((err) => {
        this.next = null;
        if (this.stopped) return;
        this.onError(err);
        this.retry = setTimeout(() => void this.rebuild(), RETRY_MS);
        this.retry.unref();
      })
      .finally(() => (this.building = undefined));
    return this.building;
  }

  private async build(): Promise<void> {
    const started = performance.now();
    const keys = this.store.background.keys;
    const held = await keys.countTokenSecretHashes();
    // The new filter takes the additions from now on: a key created while the pages are read is
    // either in a page or added by its event, or both.
    const next = new BloomFilter(Math.max(this.options.minCapacity ?? MIN_CAPACITY, 2 * held));
    this.next = next;
    let after = '';
    for (;;) {
      if (this.stopped) return;
      const page = await keys.tokenSecretHashes(after, PAGE);
      for (const row of page) {
        if (row.secretHash !== null) next.add(row.secretHash);
        if (row.previousSecretHash !== null) next.add(row.previousSecretHash);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
      // SQLite reads synchronously: the requests waiting meanwhile are served between pages.
      await nextTurn();
    }
    this.filter = next;
    this.next = null;
    this.onBuilt({ hashes: next.count, ms: Math.round(performance.now() - started), bytes: next.bytes });
  }
}
