import type { NewClusterEvent } from '../storage/oauth-repositories.js';
import type { Repositories, Store } from '../storage/repositories.js';
import type { AuditActor, AuditEvent, AuditService } from './audit-service.js';
import type { ClusterSync } from './cluster-sync.js';
import { DISCARD_NOTICES, type Notice, type NoticeSink } from './notices.js';

/** One audit entry: who did it, and what it says. */
export interface AuditRecord {
  actor: AuditActor;
  entry: AuditEvent;
}

/** What a change leaves behind besides itself: its audit entries, its cluster events and its notices. */
export interface OutboxEntry {
  audit?: AuditRecord | readonly AuditRecord[];
  events?: readonly NewClusterEvent[];
  notices?: readonly Notice[];
}

/**
 * The transactional outbox. A use case changes its rows and, last in the same transaction, calls
 * `record` with the change's audit entries, cluster events and notices (queued for the account's
 * webhooks by the NoticeSink): they commit together or not at all, whatever dies when (the
 * process, the connection, the database). Nothing else writes the audit log or the cluster event log.
 *
 * Once the transaction has committed, the events are applied on this node (caches invalidated,
 * revocations in force) before the request is answered; every node, this one included, also reads
 * them from the log when it polls, so an apply that fails here (the store went away right after the
 * commit) is made up for by the next poll. Applying an event twice is harmless.
 */
export class Outbox {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditService,
    private readonly sync: ClusterSync,
    private readonly notices: NoticeSink = DISCARD_NOTICES,
  ) {}

  /** Writes the change's trace in its transaction (`repos` from `Store.transaction`), and applies its events once committed. */
  async record(repos: Repositories, entry: OutboxEntry): Promise<void> {
    if (!repos.inTransaction) throw new Error('Outbox.record must run in the transaction of the change it records');
    const audits = entry.audit === undefined ? [] : Array.isArray(entry.audit) ? entry.audit : [entry.audit as AuditRecord];
    for (const { actor, entry: what } of audits) await this.audit.record(actor, what, repos);
    if (entry.notices !== undefined && entry.notices.length > 0) await this.notices.enqueue(repos, entry.notices);
    const events = entry.events ?? [];
    if (events.length === 0) return;
    // Last writes of the transaction: a PostgreSQL sequence number is handed out here and becomes
    // visible at commit, so the shorter that gap, the sooner other nodes can read past it.
    const written = await repos.clusterEvents.append(events);
    repos.onCommit(() => this.sync.applyCommitted(written));
  }

  /** A trace that is a change of its own (an audit entry of a read, a revocation): in a transaction of its own. */
  async write(entry: OutboxEntry): Promise<void> {
    await this.store.transaction((repos) => this.record(repos, entry));
  }
}
