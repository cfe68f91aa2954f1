import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, Dialect, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A webhook endpoint as stored: its secrets stay encrypted here. */
export interface WebhookEndpointRecord {
  id: string;
  accountId: string;
  url: string;
  description: string | null;
  events: string[];
  active: boolean;
  secretEncrypted: string;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: number | null;
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A delivery as stored: the table's row, its status narrowed. */
export type WebhookDeliveryRecord = Omit<Selectable<WebhookDeliveriesTable>, 'status'> & { status: DeliveryStatus };

/** What one attempt gave: the next state of its delivery. */
export interface AttemptResult {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  attemptedAt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

const toEndpoint = (row: Selectable<WebhookEndpointsTable>): WebhookEndpointRecord => ({
  ...row,
  events: JSON.parse(row.events) as string[],
  active: row.active === 1,
});

const fromEndpoint = (e: WebhookEndpointRecord): WebhookEndpointsTable => ({ ...e, events: JSON.stringify(e.events), active: e.active ? 1 : 0 });

const toDelivery = (row: Selectable<WebhookDeliveriesTable>): WebhookDeliveryRecord => ({
  ...row,
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  nextAttemptAt: row.nextAttemptAt === null ? null : Number(row.nextAttemptAt),
  giveUpAt: Number(row.giveUpAt),
  leaseUntil: row.leaseUntil === null ? null : Number(row.leaseUntil),
  lastAttemptAt: row.lastAttemptAt === null ? null : Number(row.lastAttemptAt),
  deliveredAt: row.deliveredAt === null ? null : Number(row.deliveredAt),
  createdAt: Number(row.createdAt),
});

export class WebhookEndpointsRepository {
  constructor(private readonly db: Executor) {}

  async insert(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.db.insertInto('webhookEndpoints').values(fromEndpoint(endpoint)).execute();
  }

  async find(accountId: string, id: string): Promise<WebhookEndpointRecord | undefined> {
    const row = await this.db.selectFrom('webhookEndpoints').selectAll().where('accountId', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row && toEndpoint(row);
  }

  async findById(id: string): Promise<WebhookEndpointRecord | undefined> {
    const row = await this.db.selectFrom('webhookEndpoints').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEndpoint(row);
  }

  /** The account's endpoints, oldest first. */
  async ofAccount(accountId: string): Promise<WebhookEndpointRecord[]> {
    const rows = await this.db.selectFrom('webhookEndpoints').selectAll().where('accountId', '=', accountId).orderBy('createdAt').orderBy('id').execute();
    return rows.map(toEndpoint);
  }

  async update(endpoint: WebhookEndpointRecord): Promise<void> {
    const { id, ...rest } = fromEndpoint(endpoint);
    await this.db.updateTable('webhookEndpoints').set(rest).where('id', '=', id).execute();
  }

  async setFailing(id: string, since: number | null): Promise<void> {
    let query = this.db.updateTable('webhookEndpoints').set({ failingSince: since }).where('id', '=', id);
    // Failing since the first delivery that gave up, not the latest.
    if (since !== null) query = query.where('failingSince', 'is', null);
    else query = query.where('failingSince', 'is not', null);
    await query.execute();
  }

  /** Every stored signing secret (current and previous), for re-encryption under a new key. */
  async encryptedSecrets(): Promise<{ id: string; column: 'secretEncrypted' | 'previousSecretEncrypted'; value: string }[]> {
    const rows = await this.db.selectFrom('webhookEndpoints').select(['id', 'secretEncrypted', 'previousSecretEncrypted']).execute();
    return rows.flatMap((r) => [
      { id: r.id, column: 'secretEncrypted' as const, value: r.secretEncrypted },
      ...(r.previousSecretEncrypted === null ? [] : [{ id: r.id, column: 'previousSecretEncrypted' as const, value: r.previousSecretEncrypted }]),
    ]);
  }

  async setEncryptedSecret(id: string, column: 'secretEncrypted' | 'previousSecretEncrypted', value: string): Promise<void> {
    await this.db.updateTable('webhookEndpoints').set({ [column]: value }).where('id', '=', id).execute();
  }

  /** Deletes the endpoint and its delivery log. */
  async delete(accountId: string, id: string): Promise<boolean> {
    await this.db.deleteFrom('webhookDeliveries').where('endpointId', '=', id).where('accountId', '=', accountId).execute();
    const result = await this.db.deleteFrom('webhookEndpoints').where('accountId', '=', accountId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

export class WebhookDeliveriesRepository {
  constructor(private readonly db: Executor) {}

  async insert(deliveries: readonly WebhookDeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.db.insertInto('webhookDeliveries').values(deliveries.map((d) => ({ ...d }))).execute();
  }

  async find(endpointId: string, id: string): Promise<WebhookDeliveryRecord | undefined> {
    const row = await this.db.selectFrom('webhookDeliveries').selectAll().where('endpointId', '=', endpointId).where('id', '=', id).executeTakeFirst();
    return row && toDelivery(row);
  }

  /** A page of an endpoint's deliveries, newest first, after the (createdAt, id) of `after`. */
  async page(endpointId: string, limit: number, after?: { createdAt: number; id: string }, status?: DeliveryStatus): Promise<WebhookDeliveryRecord[]> {
    let query = this.db.selectFrom('webhookDeliveries').selectAll().where('endpointId', '=', endpointId);
    if (status) query = query.where('status', '=', status);
    if (after)
      query = query.where((eb) => eb.or([eb('createdAt', '<', after.createdAt), eb.and([eb('createdAt', '=', after.createdAt), eb('id', '<', after.id)])]));
    const rows = await query.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toDelivery);
  }

  /**
   * Takes up to `limit` due deliveries for this node: each gets a lease until `leaseUntil` and is
   * counted as attempted. On PostgreSQL, rows another node is claiming at the same moment are
   * skipped (FOR UPDATE SKIP LOCKED), and a row leased by a node that died is due again once its
   * lease ends; SQLite serialises writers, so the same statement without the lock clause suffices.
   * `except` are deliveries this node is still sending (a lease outrun by a jump of the clock).
   */
  async claimDue(dialect: Dialect, now: number, leaseUntil: number, limit: number, except: readonly string[] = []): Promise<WebhookDeliveryRecord[]> {
    const lock = dialect === 'postgres' ? sql` for update skip locked` : sql``;
    const skip = except.length === 0 ? sql`` : sql` and id not in (${sql.join(except)})`;
    // A read first: an idle node (nearly always) takes no write lock every round.
    const due = await sql`select 1 from webhook_deliveries where status = 'pending' and next_attempt_at <= ${now} and (lease_until is null or lease_until < ${now})${skip} limit 1`.execute(this.db);
    if (due.rows.length === 0) return [];
    const result = await sql<Selectable<WebhookDeliveriesTable>>`
      update webhook_deliveries set lease_until = ${leaseUntil}, attempts = attempts + 1
      where id in (
        select id from webhook_deliveries
        where status = 'pending' and next_attempt_at <= ${now} and (lease_until is null or lease_until < ${now})${skip}
        order by next_attempt_at limit ${limit}${lock}
      )
      returning *`.execute(this.db);
    return result.rows.map(toDelivery);
  }

  /** Records an attempt's outcome and releases the lease. */
  async finish(id: string, result: AttemptResult): Promise<void> {
    await this.db
      .updateTable('webhookDeliveries')
      .set({
        status: result.status,
        nextAttemptAt: result.nextAttemptAt,
        leaseUntil: null,
        lastAttemptAt: result.attemptedAt,
        lastStatusCode: result.statusCode,
        lastDurationMs: result.durationMs,
        lastError: result.error,
        deliveredAt: result.status === 'delivered' ? result.attemptedAt : null,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Forgets deliveries that ended (delivered or failed) before `before`; returns how many. */
  /** Deliveries waiting to be sent or retried, and endpoints failing: the backlog at a glance (an indexed count each). */
  async backlog(): Promise<{ pending: number; failing: number }> {
    const pending = await this.db.selectFrom('webhookDeliveries').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    const failing = await this.db.selectFrom('webhookEndpoints').select((eb) => eb.fn.countAll().as('n')).where('failingSince', 'is not', null).executeTakeFirstOrThrow();
    return { pending: Number(pending.n), failing: Number(failing.n) };
  }

  async pruneFinished(before: number): Promise<number> {
    const result = await this.db.deleteFrom('webhookDeliveries').where('status', 'in', ['delivered', 'failed']).where('createdAt', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Queues the delivery again, due now, with a fresh retry window; false when a node holds its
   * lease (it is being sent right now), so it is never sent twice at once.
   */
  async requeue(id: string, now: number, giveUpAt: number): Promise<boolean> {
    const result = await this.db
      .updateTable('webhookDeliveries')
      .set({ status: 'pending', nextAttemptAt: now, giveUpAt, leaseUntil: null })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('leaseUntil', 'is', null), eb('leaseUntil', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
