import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { SystemNodes } from '../contract/system.js';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../storage/repositories.js';
import type { ClusterSync } from './cluster-sync.js';

/** How often a node writes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 5000;
/** A node that wrote none for this many intervals is shown as silent. */
const SILENT_AFTER = 3;
/** Nodes silent for longer than this are no longer listed, and their rows are removed. */
const FORGET_AFTER_MS = 24 * 3600_000;
/** Errors are cut to this length in the heartbeat. */
const ERROR_MAX = 500;

/**
 * This node's heartbeat in the store, and the cluster's nodes as their heartbeats show them (the
 * System page). The heartbeat goes over the background connections, like the event log, so a busy
 * request pool does not make a node look gone; whether it succeeded is the node's own best view of
 * whether the store answers (keyport_store_up).
 */
export class NodesService {
  readonly id = `node_${randomBytes(6).toString('hex')}`;
  readonly startedAt: number;
  private readonly host = hostname();
  private lastError: { message: string; at: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** The heartbeat being written: a store that hangs gets one at a time, so the event log keeps a background connection. */
  private beating: Promise<void> | undefined;
  /** The last heartbeat was written (null before the first). */
  storeAnswered: boolean | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sync: ClusterSync,
    readonly version: string,
  ) {
    this.startedAt = clock.now();
  }

  /** Notes an error for the heartbeat (the last one is shown on the System page). */
  noteError(message: string): void {
    this.lastError = { message: message.slice(0, ERROR_MAX), at: this.clock.now() };
  }

  /** Writes the heartbeat now; a failure is noted, not thrown. */
  async beat(): Promise<void> {
    const status = this.sync.status();
    const now = this.clock.now();
    try {
      await this.store.background.nodes.upsert({
        id: this.id,
        host: this.host,
        version: this.version,
        startedAt: this.startedAt,
        lastSeenAt: now,
        syncLagMs: Number.isFinite(status.behindMs) ? Math.round(status.behindMs) : null,
        lastError: this.lastError?.message ?? null,
        lastErrorAt: this.lastError?.at ?? null,
      });
      this.storeAnswered = true;
    } catch (err) {
      this.storeAnswered = false;
      this.noteError(`heartbeat: ${(err as Error).message || String(err)}`);
    }
  }

  /** Writes the first heartbeat and then one per interval; also forgets nodes long gone. */
  async start(): Promise<void> {
    if (this.timer !== undefined) return;
    await this.beat();
    let beats = 0;
    this.timer = setInterval(() => {
      this.beating ??= this.beat().finally(() => (this.beating = undefined));
      if (++beats % 720 === 0) void this.store.background.nodes.purge(this.clock.now() - FORGET_AFTER_MS).catch(() => {});
    }, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the heartbeat; waits for one being written. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
  }

  /** The nodes seen in the last day, this one included. */
  async list(): Promise<SystemNodes> {
    const now = this.clock.now();
    const rows = await this.store.repos.nodes.seenSince(now - FORGET_AFTER_MS);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_MS / 1000,
      nodes: rows.map((r) => ({
        id: r.id,
        host: r.host,
        version: r.version,
        startedAt: iso(r.startedAt)!,
        lastSeenAt: iso(r.lastSeenAt)!,
        state: now - r.lastSeenAt <= SILENT_AFTER * HEARTBEAT_INTERVAL_MS ? 'up' : 'silent',
        syncLagMs: r.syncLagMs,
        lastError: r.lastError,
        lastErrorAt: iso(r.lastErrorAt),
        self: r.id === this.id,
      })),
    };
  }
}
