import type { Clock } from '../domain/clock.js';
import type { ClusterEvent, NewClusterEvent } from '../storage/oauth-repositories.js';
import type { Store } from '../storage/repositories.js';

export type ClusterEventHandler = (event: ClusterEvent) => void | Promise<void>;

/** How long a gap in the sequence is re-read, waiting for a slow transaction to commit. */
const GAP_PATIENCE_MS = 10_000;
const PAGE = 1000;

/**
 * Keeps the nodes sharing one store in agreement. Whatever every node must learn (a revoked token,
 * a changed key, a new signing key) is appended to the `cluster_events` log and applied at once on
 * the node that made it; every node polls the log by sequence number and applies what others wrote.
 *
 * PostgreSQL hands out sequence numbers at insert but makes rows visible at commit, so a number can
 * show up after a higher one: a skipped number is remembered as a gap and read again for a while.
 */
export class ClusterSync {
  private readonly handlers: ClusterEventHandler[] = [];
  private lastSeq = 0;
  /** Skipped sequence numbers, and until when (real time) they are worth asking for. */
  private readonly gaps = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private started = false;
  /** Told of errors while polling in the background (the store may be briefly unreachable). */
  onError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Registers a handler for every event, local or from another node. Handlers must be idempotent. */
  subscribe(handler: ClusterEventHandler): void {
    this.handlers.push(handler);
  }

  /** Writes events to the log (durably, before returning) and applies them on this node. */
  async publish(events: NewClusterEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.store.repos.clusterEvents.append(events);
    for (const event of events) await this.apply({ ...event, grantId: event.grantId ?? null, grantVersion: event.grantVersion ?? null, seq: 0 });
  }

  /**
   * Loads the revocations still in force, then polls for new events. The position is read first,
   * so an event written while loading is seen by the first poll (applying it twice is harmless).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.lastSeq = await this.store.repos.clusterEvents.lastSeq();
    for (const event of await this.store.repos.clusterEvents.activeRevocations(this.clock.now())) await this.apply(event);
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = this.poll()
        .catch((err) => this.onError(err))
        .finally(() => (this.polling = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Reads and applies what other nodes wrote since the last poll. */
  async poll(): Promise<void> {
    const realNow = Date.now();
    for (const [seq, until] of this.gaps) if (until <= realNow) this.gaps.delete(seq);
    for (;;) {
      const events = await this.store.repos.clusterEvents.since(this.lastSeq, [...this.gaps.keys()], PAGE);
      for (const event of events) {
        if (this.gaps.delete(event.seq)) {
          await this.apply(event);
          continue;
        }
        if (event.seq <= this.lastSeq) continue;
        // Remember what was skipped (bounded: a burst of aborted inserts must not grow this forever).
        for (let s = this.lastSeq + 1; s < event.seq && this.gaps.size < 10_000; s++) this.gaps.set(s, realNow + GAP_PATIENCE_MS);
        this.lastSeq = event.seq;
        await this.apply(event);
      }
      if (events.length < PAGE) return;
    }
  }

  private async apply(event: ClusterEvent): Promise<void> {
    for (const handler of this.handlers) await handler(event);
  }
}
