import { performance } from 'node:perf_hooks';
import type { StalePolicy } from '../config.js';
import type { Clock } from '../domain/clock.js';
import { storeUnavailable } from '../domain/errors.js';
import type { ClusterEvent } from '../storage/oauth-repositories.js';
import type { Store } from '../storage/repositories.js';

export type ClusterEventHandler = (event: ClusterEvent) => void | Promise<void>;

/** How long a gap in the sequence is re-read, waiting for a slow transaction to commit. */
const GAP_PATIENCE_MS = 10_000;
/** At most this many gaps are remembered (a burst of aborted inserts must not grow the list forever). */
const MAX_GAPS = 10_000;
/** A starting node reads this many sequence numbers back, so transactions still in flight are not missed. */
const START_OVERLAP = 256;
const PAGE = 1000;
/** How often the node notes that its event loop runs... */
const TICK_MS = 100;
/** ...and how long it may not have run before the node counts as having stood still (paused, frozen, blocked). */
const STALL_MS = 300;

/** Where a node stands against the cluster event log. */
export interface SyncStatus {
  /** The last successful read of the log started less than the staleness bound ago. */
  fresh: boolean;
  /** Milliseconds since the last successful read of the log started. */
  behindMs: number;
  /** The last read failed (the store is unreachable or too slow), and none has succeeded since. */
  failing: boolean;
}

/**
 * Keeps the nodes sharing one store in agreement. Whatever every node must learn (a revoked token,
 * a changed key, a new signing key) is a cluster event, written by the Outbox in the transaction of
 * the change and applied at once on the node that made it; every node polls the log by sequence
 * number and applies what it has not seen (its own events too: applying twice is harmless).
 *
 * PostgreSQL hands out sequence numbers at insert but makes rows visible at commit, so a number can
 * show up after a higher one: a skipped number is remembered as a gap and read again for a while.
 *
 * A node also knows how current its view is: the time its last successful read started. Answers
 * from its caches are only as good as that view, so while it is older than the staleness bound,
 * verification catches up first (`catchUp`) or, when the store cannot be read, does not answer
 * `valid` from the cache (see CacheGuard). A node that stood still (SIGSTOP, a frozen VM, a
 * blocked event loop) for longer than STALL_MS does not trust a view read before that either:
 * the first request after it, or the first timer, notices, and the log is read again before any
 * cached answer is given, however short the pause was against the bound.
 *
 * The log is read on the store's background connections, so a pool busy with requests does not
 * hold the node back.
 */
export class ClusterSync {
  private readonly handlers: ClusterEventHandler[] = [];
  private lastSeq = 0;
  /** Skipped sequence numbers, and until when (monotonic ms) they are worth asking for. */
  private readonly gaps = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private started = false;
  /** When (monotonic ms) the last successful read of the log started. */
  private syncedAt = -Infinity;
  private failing = false;
  /** When the event loop last ran a tick (monotonic ms). */
  private lastTick = performance.now();
  /** The last time the node was found to have stood still: a view read before it is not trusted. */
  private resumedAt = -Infinity;
  private ticker: NodeJS.Timeout | undefined;
  /**
   * Events this node committed and applied already: the poll reads them like any other and skips
   * them, so that applying them again does not throw away what the caches loaded since.
   */
  private readonly appliedHere = new Set<number>();
  /** Told of errors while polling in the background and of failed local applies (the store may be unreachable). */
  onError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    /** How old this node's view of the log may be before its cached answers are not trusted (ms). */
    readonly maxStalenessMs: number,
  ) {}

  /** Registers a handler for every event, local or from another node. Handlers must be idempotent. */
  subscribe(handler: ClusterEventHandler): void {
    this.handlers.push(handler);
  }

  /**
   * Applies events this node has just committed (the Outbox calls this after the commit). A failure
   * is reported, not thrown: the change is committed, and the next poll applies the events again.
   */
  async applyCommitted(events: readonly ClusterEvent[]): Promise<void> {
    try {
      for (const event of events) {
        await this.apply(event);
        if (event.seq > this.lastSeq || this.gaps.has(event.seq)) this.appliedHere.add(event.seq);
      }
    } catch (err) {
      this.onError(err);
    }
  }

  /**
   * Loads the revocations still in force, then reads the newest events and polls for more. A few
   * sequence numbers before the newest are read again, so that a transaction that had its number
   * but had not committed yet is waited for like any gap.
   */
  async start(): Promise<void> {
    if (this.started) return;
    const log = this.store.background.clusterEvents;
    const newest = await log.lastSeq();
    this.lastSeq = Math.max(0, newest - START_OVERLAP);
    for (const event of await log.activeRevocations(this.clock.now())) await this.apply(event);
    await this.read();
    this.started = true;
    this.timer = setInterval(() => {
      if (this.polling === undefined) this.read().catch((err) => this.onError(err));
    }, this.intervalMs);
    this.timer.unref();
    this.lastTick = performance.now();
    this.ticker = setInterval(() => this.stoodStill(performance.now()), TICK_MS);
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.timer = undefined;
    this.ticker = undefined;
    await this.polling?.catch(() => {});
  }

  /** Notes a tick of the event loop; after a long gap, the view read before it is not trusted. */
  private stoodStill(now: number): void {
    if (this.ticker !== undefined && now - this.lastTick > STALL_MS) this.resumedAt = now;
    this.lastTick = now;
  }

  /** Where this node stands against the log. */
  status(): SyncStatus {
    const fresh = this.isFresh();
    return { fresh, behindMs: performance.now() - this.syncedAt, failing: this.failing };
  }

  /**
   * True while the view of the log is within the staleness bound and was read after the node last
   * stood still. Cheap: called on every verification.
   */
  isFresh(): boolean {
    const now = performance.now();
    if (now - this.lastTick > STALL_MS) this.stoodStill(now);
    return now - this.syncedAt <= this.maxStalenessMs && this.syncedAt >= this.resumedAt;
  }

  /** The last read of the log failed and none has succeeded since. */
  get isFailing(): boolean {
    return this.failing;
  }

  /**
   * Brings this node's view within the bound: waits for the read in flight, and reads again when
   * that was not enough. Rejects with the store's error when the log cannot be read.
   */
  async catchUp(): Promise<void> {
    if (this.polling !== undefined) await this.polling.catch(() => {});
    if (this.isFresh()) return;
    await this.read();
  }

  /** Reads the log, one read at a time: a caller arriving during a read joins it. */
  private read(): Promise<void> {
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Reads and applies what this node has not seen yet (through `read`, never two at once). */
  private async poll(): Promise<void> {
    const startedAt = performance.now();
    try {
      for (;;) {
        const events = await this.store.background.clusterEvents.since(this.lastSeq, [...this.gaps.keys()], PAGE);
        for (const event of events) {
          if (this.gaps.has(event.seq)) {
            if (!this.appliedHere.delete(event.seq)) await this.apply(event);
            this.gaps.delete(event.seq);
            continue;
          }
          if (event.seq <= this.lastSeq) continue;
          // Applied first: if a handler fails, the event is read again next time.
          if (!this.appliedHere.delete(event.seq)) await this.apply(event);
          for (let s = this.lastSeq + 1; s < event.seq && this.gaps.size < MAX_GAPS; s++) this.gaps.set(s, startedAt + GAP_PATIENCE_MS);
          this.lastSeq = event.seq;
        }
        if (events.length < PAGE) break;
      }
    } catch (err) {
      this.failing = true;
      throw err;
    }
    // A gap is read at least once after its patience ran out, so a node that was paused for longer
    // than that still gets one more look at it.
    for (const [seq, until] of this.gaps) if (until < startedAt) this.gaps.delete(seq);
    this.syncedAt = startedAt;
    this.failing = false;
  }

  private async apply(event: ClusterEvent): Promise<void> {
    for (const handler of this.handlers) await handler(event);
  }
}

/**
 * Says whether this node may answer from its caches (verified credentials, OAuth clients): they are
 * as current as its view of the cluster event log, so while that view is older than the bound, it
 * reads the log first (a node resumed after a pause catches up before it answers). When the log
 * cannot be read (the store is unreachable, or was at the last read), the stale policy decides:
 * `unavailable` refuses with 503 store_unavailable at once, `serve` answers from the caches.
 */
export class CacheGuard {
  constructor(
    private readonly sync: ClusterSync,
    private readonly policy: StalePolicy,
  ) {}

  /**
   * Undefined (synchronously: the hot path) when cached answers may be given now; otherwise a
   * promise that resolves once they may, or rejects with store_unavailable.
   */
  check(): undefined | Promise<void> {
    if (this.sync.isFresh()) return undefined;
    if (this.sync.isFailing) return this.policy === 'serve' ? undefined : Promise.reject(stale());
    return this.sync.catchUp().catch(() => {
      if (this.policy !== 'serve') throw stale();
    });
  }
}

const stale = () =>
  storeUnavailable(
    "Keyport cannot read its store, so this node cannot tell whether the credential was revoked in the meantime. Try again shortly.",
  );
