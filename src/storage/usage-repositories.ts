import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** One count to add: verifications and token requests of a key in an hour, with one outcome. */
export interface UsageIncrement {
  keyId: string;
  accountId: string;
  environment: string;
  /** The hour's start, epoch ms. */
  bucket: number;
  outcome: string;
  count: number;
}

/** Whose usage: an account's (optionally one environment's), or one key's. */
export interface UsageScope {
  accountId: string;
  keyId?: string | undefined;
  environment?: string | undefined;
}

/** A time range of one table: hourly buckets, or daily ones. */
export interface UsageRange {
  table: 'hour' | 'day';
  from: number;
  to: number;
}

export interface UsageRow {
  bucket: number;
  outcome: string;
  count: number;
}

export interface KeyUsageRow {
  keyId: string;
  outcome: string;
  count: number;
}

const DAY_MS = 86_400_000;
/** A bucket's day, written as a literal: PostgreSQL matches a GROUP BY expression to the select list by its text. */
const DAY_OF_BUCKET = sql.raw(`(bucket / ${DAY_MS}) * ${DAY_MS}`);
const TABLE = { hour: sql.raw('usage_hourly'), day: sql.raw('usage_daily') };

function scoped(scope: UsageScope, range: UsageRange): RawBuilder<unknown> {
  return sql.join(
    [
      sql`account_id = ${scope.accountId}`,
      sql`bucket >= ${range.from}`,
      sql`bucket < ${range.to}`,
      ...(scope.keyId !== undefined ? [sql`key_id = ${scope.keyId}`] : []),
      ...(scope.environment !== undefined ? [sql`environment = ${scope.environment}`] : []),
    ],
    sql` and `,
  );
}

/**
 * Usage counts: hourly buckets written by each node's batched flushes (upserts that add), daily
 * buckets rolled up from them, and the purge of both past their retention.
 */
export class UsageRepository {
  constructor(private readonly db: Executor) {}

  /** Adds counts to their hourly buckets: one statement per 500 buckets, however many nodes add at once. */
  async addHourly(increments: readonly UsageIncrement[]): Promise<void> {
    for (let i = 0; i < increments.length; i += 500)
      await this.db
        .insertInto('usageHourly')
        .values(increments.slice(i, i + 500))
        .onConflict((oc) => oc.columns(['keyId', 'bucket', 'outcome']).doUpdateSet({ count: sql`usage_hourly.count + excluded.count` }))
        .execute();
  }

  /**
   * Writes the daily buckets of the whole days in [from, to) from their hourly ones, replacing what
   * an earlier roll-up wrote for them: running it again, or on two nodes at once, gives the same.
   */
  async rollUpDays(from: number, to: number): Promise<void> {
    const day = DAY_OF_BUCKET;
    await sql`insert into usage_daily (key_id, bucket, outcome, account_id, environment, count)
      select key_id, ${day}, outcome, account_id, environment, sum(count) from usage_hourly
      where bucket >= ${from} and bucket < ${to}
      group by key_id, ${day}, outcome, account_id, environment
      on conflict (key_id, bucket, outcome) do update set count = excluded.count`.execute(this.db);
  }

  /** The start of the newest daily bucket, or null when none was rolled up yet. */
  async newestDay(): Promise<number | null> {
    const row = await this.db.selectFrom('usageDaily').select((eb) => eb.fn.max('bucket').as('bucket')).executeTakeFirst();
    return row?.bucket == null ? null : Number(row.bucket);
  }

  /** The start of the oldest hourly bucket, or null when there is none. */
  async oldestHour(): Promise<number | null> {
    const row = await this.db.selectFrom('usageHourly').select((eb) => eb.fn.min('bucket').as('bucket')).executeTakeFirst();
    return row?.bucket == null ? null : Number(row.bucket);
  }

  /** Deletes hourly buckets before `hoursBefore` and daily ones before `daysBefore`. */
  async purge(hoursBefore: number, daysBefore: number): Promise<void> {
    await this.db.deleteFrom('usageHourly').where('bucket', '<', hoursBefore).execute();
    await this.db.deleteFrom('usageDaily').where('bucket', '<', daysBefore).execute();
  }

  /** Counts per bucket and outcome in a range; with `byDay`, hourly buckets are summed per day. */
  async series(scope: UsageScope, range: UsageRange, byDay: boolean): Promise<UsageRow[]> {
    const bucket = byDay && range.table === 'hour' ? DAY_OF_BUCKET : sql`bucket`;
    const result = await sql<UsageRow>`select ${bucket} as bucket, outcome, sum(count) as count from ${TABLE[range.table]}
      where ${scoped(scope, range)} group by ${bucket}, outcome`.execute(this.db);
    return result.rows.map((r) => ({ bucket: Number(r.bucket), outcome: r.outcome, count: Number(r.count) }));
  }

  /** The `limit` keys with the most requests over the ranges, most first; ties by key id. */
  async topKeys(scope: UsageScope, ranges: readonly UsageRange[], limit: number): Promise<string[]> {
    if (ranges.length === 0) return [];
    const union = sql.join(
      ranges.map((r) => sql`select key_id, count from ${TABLE[r.table]} where ${scoped(scope, r)}`),
      sql` union all `,
    );
    const result = await sql<{ keyId: string }>`select key_id, sum(count) as total from (${union}) as u
      group by key_id order by total desc, key_id limit ${limit}`.execute(this.db);
    return result.rows.map((r) => r.keyId);
  }

  /** The counts per outcome of each of the given keys over the ranges. */
  async byKey(scope: UsageScope, ranges: readonly UsageRange[], keyIds: readonly string[]): Promise<KeyUsageRow[]> {
    if (ranges.length === 0 || keyIds.length === 0) return [];
    const ids = sql.join(keyIds.map((id) => sql`${id}`));
    const union = sql.join(
      ranges.map((r) => sql`select key_id, outcome, count from ${TABLE[r.table]} where ${scoped(scope, r)} and key_id in (${ids})`),
      sql` union all `,
    );
    const result = await sql<KeyUsageRow>`select key_id, outcome, sum(count) as count from (${union}) as u group by key_id, outcome`.execute(this.db);
    return result.rows.map((r) => ({ keyId: r.keyId, outcome: r.outcome, count: Number(r.count) }));
  }
}
