import { USAGE_MAX_RANGE_DAYS, type KeyUsage, type Usage, type UsageCounts, type UsageQuery } from '../contract/usage.js';
import type { Clock } from '../domain/clock.js';
import { AppError, fieldError, notFound } from '../domain/errors.js';
import { USAGE_OUTCOMES, type UsageGranularity } from '../domain/verification.js';
import type { Store } from '../storage/repositories.js';
import type { UsageRange, UsageRow, UsageScope } from '../storage/usage-repositories.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Hourly buckets are kept 90 days, daily ones 2 years (730 days). */
export const HOURLY_RETENTION_DAYS = 90;
export const DAILY_RETENTION_DAYS = 730;

const startOfDay = (t: number) => t - (t % DAY_MS);
const zeroCounts = (): UsageCounts => Object.fromEntries(USAGE_OUTCOMES.map((o) => [o, 0])) as UsageCounts;
const iso = (t: number) => new Date(t).toISOString();

/**
 * Usage analytics: what the recorder counted, per key and outcome, in hourly buckets (90 days) and
 * daily ones (2 years) rolled up from them by the maintenance task. Day-granularity answers read
 * the hourly buckets while those are kept, and the daily ones before.
 */
export class UsageService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async query(accountId: string, query: UsageQuery): Promise<Usage> {
    const granularity: UsageGranularity = query.granularity ?? 'hour';
    const size = granularity === 'hour' ? HOUR_MS : DAY_MS;
    const now = this.clock.now();
    const toMs = query.to === undefined ? now : Date.parse(query.to);
    const to = Math.ceil(toMs / size) * size;
    // By default the last 24 hours, or 30 days, up to and with the current bucket.
    const from = query.from === undefined ? to - (granularity === 'hour' ? DAY_MS : 30 * DAY_MS) : Math.floor(Date.parse(query.from) / size) * size;
    if (from >= to) throw new AppError('validation_failed', 'from is not before to: the range is empty.', [{ pointer: '/from', detail: 'must be before to' }]);
    const maxDays = USAGE_MAX_RANGE_DAYS[granularity];
    if (to - from > maxDays * DAY_MS)
      throw fieldError('/from', `A range of ${granularity === 'hour' ? 'hourly' : 'daily'} buckets spans at most ${maxDays} days${granularity === 'hour' ? '; ask for granularity=day for longer ones' : ''}.`);
    if (query.key !== undefined && !(await this.store.repos.keys.find(accountId, query.key))) throw notFound('Key', query.key);

    const scope: UsageScope = { accountId, keyId: query.key, environment: query.environment };
    const ranges = this.ranges(granularity, from, to, now);
    const rows: UsageRow[] = [];
    for (const range of ranges) rows.push(...(await this.store.repos.usage.series(scope, range, granularity === 'day')));

    const buckets = new Map<number, UsageCounts>();
    for (let t = from; t < to; t += size) buckets.set(t, zeroCounts());
    const totals = zeroCounts();
    for (const row of rows) {
      const counts = buckets.get(row.bucket);
      if (counts === undefined || !(row.outcome in counts)) continue;
      counts[row.outcome as keyof UsageCounts] += row.count;
      totals[row.outcome as keyof UsageCounts] += row.count;
    }
    const sum = (c: UsageCounts) => USAGE_OUTCOMES.reduce((n, o) => n + c[o], 0);
    return {
      granularity,
      from: iso(from),
      to: iso(to),
      key: query.key ?? null,
      environment: query.environment ?? null,
      buckets: [...buckets].map(([start, counts]) => ({ start: iso(start), total: sum(counts), counts })),
      totals: { total: sum(totals), counts: totals },
      keys: query.key === undefined ? await this.topKeys(scope, ranges, query.top ?? 10) : [],
    };
  }

  /** The tables a range reads: hourly buckets while they are kept; for days before that, daily ones. */
  private ranges(granularity: UsageGranularity, from: number, to: number, now: number): UsageRange[] {
    if (granularity === 'hour') return [{ table: 'hour', from, to }];
    const hourlyFrom = startOfDay(now) - HOURLY_RETENTION_DAYS * DAY_MS;
    const ranges: UsageRange[] = [];
    if (from < hourlyFrom) ranges.push({ table: 'day', from, to: Math.min(to, hourlyFrom) });
    if (to > hourlyFrom) ranges.push({ table: 'hour', from: Math.max(from, hourlyFrom), to });
    return ranges;
  }

  private async topKeys(scope: UsageScope, ranges: UsageRange[], top: number): Promise<KeyUsage[]> {
    if (top === 0) return [];
    const ids = await this.store.repos.usage.topKeys(scope, ranges, top);
    const rows = await this.store.repos.usage.byKey(scope, ranges, ids);
    const names = new Map((await Promise.all(ids.map((id) => this.store.repos.keys.find(scope.accountId, id)))).flatMap((k) => (k ? [[k.id, k.name]] : [])));
    const byKey = new Map(ids.map((id) => [id, zeroCounts()]));
    for (const row of rows) {
      const counts = byKey.get(row.keyId);
      if (counts && row.outcome in counts) counts[row.outcome as keyof UsageCounts] += row.count;
    }
    return ids.map((keyId) => {
      const counts = byKey.get(keyId)!;
      return { keyId, name: names.get(keyId) ?? null, total: USAGE_OUTCOMES.reduce((n, o) => n + counts[o], 0), counts };
    });
  }

  /**
   * The maintenance of the counts, run by every node (it is idempotent): rolls the hourly buckets
   * of whole days up into daily ones (the last rolled-up day again, for counts flushed late), then
   * drops hourly buckets older than 90 days and daily ones older than 2 years.
   */
  async maintain(): Promise<void> {
    const today = startOfDay(this.clock.now());
    const usage = this.store.repos.usage;
    const newest = await usage.newestDay();
    const oldest = await usage.oldestHour();
    const from = newest !== null ? newest - DAY_MS : oldest !== null ? startOfDay(oldest) : today;
    if (from < today) await usage.rollUpDays(from, today);
    await usage.purge(today - HOURLY_RETENTION_DAYS * DAY_MS, today - DAILY_RETENTION_DAYS * DAY_MS);
  }
}
