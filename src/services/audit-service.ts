import type { Clock } from '../domain/clock.js';
import { decodeCursor, encodeCursor, pageOf } from '../domain/cursor.js';
import { newId } from '../domain/ids.js';
import type { Actor } from '../domain/principal.js';
import type { AuditEntry, AuditFilter } from '../storage/operator-repositories.js';
import type { Repositories, Store } from '../storage/repositories.js';

/** What one audit entry says; never a secret. */
export interface AuditEvent {
  accountId: string | null;
  action: string;
  keyId?: string | null;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
}

/**
 * Who did it, for an entry: an operator, a token, an anonymous caller (a failed login), or Keyport
 * itself (`system`: a scheduled reminder, a report from a secret scanner) with what acted.
 */
export type AuditActor = Actor | { anonymous: string; sourceIp: string } | { system: string; sourceIp?: string | null };

/**
 * Fields that must never reach the log, whatever object is handed in. A flag of the same name is no
 * secret and stays: `defaultActive.token` (whether token keys start active) is a setting.
 */
const SECRET_FIELDS = new Set(['secret', 'secretHash', 'previousSecretHash', 'secretEncrypted', 'password', 'passwordHash', 'token', 'tokenHash']);

function scrub(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(scrub);
  if (typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => !SECRET_FIELDS.has(k) || typeof v === 'boolean')
      .map(([k, v]) => [k, scrub(v)]),
  );
}

/** Entries are listed newest first, by time and then id. */
const AUDIT_ORDER = '-at';

/** The audit log: append and read. No interface changes or deletes an entry. */
export class AuditService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  private sequence = 0;

  /**
   * Entry ids sort in the order entries were written on this node, also within one millisecond:
   * time, then a counter, then randomness against other nodes.
   */
  private nextId(at: number): string {
    this.sequence = (this.sequence + 1) % 36 ** 4;
    return `aud_${at.toString(36).padStart(9, '0')}${this.sequence.toString(36).padStart(4, '0')}${newId('aud').slice(4, 12)}`;
  }

  /** Appends an entry in `repos`' transaction. Use cases write entries through the Outbox, with their change. */
  async record(actor: AuditActor, event: AuditEvent, repos: Repositories): Promise<void> {
    const who =
      'principal' in actor
        ? { actorKind: actor.principal.kind, actorId: actor.principal.id, actorLabel: actor.principal.label }
        : 'system' in actor
          ? { actorKind: 'system', actorId: 'keyport', actorLabel: actor.system }
          : { actorKind: 'anonymous', actorId: 'anonymous', actorLabel: actor.anonymous };
    const at = this.clock.now();
    await repos.audit.append({
      id: this.nextId(at),
      accountId: event.accountId,
      at,
      action: event.action,
      ...who,
      sourceIp: actor.sourceIp ?? null,
      keyId: event.keyId ?? null,
      targetId: event.targetId ?? null,
      before: scrub(event.before),
      after: scrub(event.after),
    });
  }

  /** One page of an account's entries, or with `accountId` null of the platform's (no account's). */
  async list(accountId: string | null, filter: AuditFilter, limit: number, cursor?: string): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
    const after =
      cursor === undefined
        ? undefined
        : decodeCursor(cursor, AUDIT_ORDER, ({ at, id }) => (typeof at === 'number' && typeof id === 'string' ? { at, id } : null));
    const rows = await this.store.repos.audit.list(accountId, filter, limit + 1, after);
    return pageOf(rows, limit, (e) => e, (last) => encodeCursor(AUDIT_ORDER, { at: last.at, id: last.id }));
  }
}
