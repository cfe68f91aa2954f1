import { setImmediate as nextTurn } from 'node:timers/promises';
import type { QueryObserver } from '../storage/database.js';
import type { Services } from './index.js';
import type { Metrics } from './metrics.js';
import { RedisRateLimiter } from './rate-limiter.js';

/**
 * Registers what a node's services know as metrics read at scrape time: caches, the cluster sync,
 * the store pool and its statements, Redis, the write batches, the webhook backlog. Nothing here runs per request
 * except the statement timer, which runs per store statement (cache misses and writes).
 */
export function observeServices(metrics: Metrics, services: Services): QueryObserver {
  const { tokens, auth, store, nodes } = services;
  const storage = store.storage;
  const caches = () => ({ ...tokens.verification.caches, ...tokens.oauth.clients.caches, ...auth.caches });

  metrics.gauge('keyport_cache_entries', 'Entries held per in-process cache', () =>
    Object.entries(caches()).map(([cache, c]) => ({ labels: { cache }, value: c.size })),
  );
  metrics.counter('keyport_cache_requests_total', 'Cache reads per cache and result (hit or miss)', () =>
    Object.entries(caches()).flatMap(([cache, c]) => [
      { labels: { cache, result: 'hit' }, value: c.hits },
      { labels: { cache, result: 'miss' }, value: c.misses },
    ]),
  );

  metrics.gauge('keyport_cluster_sync_lag_seconds', "How old this node's view of the cluster event log is: seconds since its last successful read began", () => {
    const { behindMs } = tokens.sync.status();
    return Number.isFinite(behindMs) ? [{ labels: {}, value: behindMs / 1000 }] : [];
  });
  metrics.gauge('keyport_cluster_sync_max_staleness_seconds', 'The bound on that lag (KEYPORT_MAX_STALENESS_MS): past it, cached answers are not trusted', () => [
    { labels: {}, value: tokens.sync.maxStalenessMs / 1000 },
  ]);
  metrics.gauge('keyport_cluster_sync_last_success_timestamp_seconds', 'When the last successful read of the cluster event log began (Unix time)', () => {
    const { behindMs } = tokens.sync.status();
    return Number.isFinite(behindMs) ? [{ labels: {}, value: (Date.now() - behindMs) / 1000 }] : [];
  });
  metrics.gauge('keyport_cluster_sync_failing', '1 while the last read of the cluster event log failed', () => [{ labels: {}, value: tokens.sync.isFailing ? 1 : 0 }]);

  metrics.gauge('keyport_store_up', "1 while the store answered this node's last heartbeat write (every 5 s), 0 when it did not", () =>
    nodes.storeAnswered === null ? [] : [{ labels: {}, value: nodes.storeAnswered ? 1 : 0 }],
  );
  metrics.gauge('keyport_store_pool_connections', 'Connections of the request pool by state: in_use, idle, and the pool size max (PostgreSQL)', () => {
    const pool = storage.poolStats();
    if (pool === null) return [];
    return [
      { labels: { state: 'in_use' }, value: pool.total - pool.idle },
      { labels: { state: 'idle' }, value: pool.idle },
      { labels: { state: 'max' }, value: pool.max },
    ];
  });
  metrics.gauge('keyport_store_pool_waiting', 'Requests waiting for a connection of the request pool (PostgreSQL)', () => {
    const pool = storage.poolStats();
    return pool === null ? [] : [{ labels: {}, value: pool.waiting }];
  });
  const cells = {
    request: { ok: metrics.queryCell('request', 'ok'), error: metrics.queryCell('request', 'error') },
    background: { ok: metrics.queryCell('background', 'ok'), error: metrics.queryCell('background', 'error') },
  };

  const limiter = tokens.rateLimiter;
  metrics.gauge('keyport_redis_up', '1 while Redis answers rate-limit commands, 0 while it does not (absent without REDIS_URL)', () =>
    limiter instanceof RedisRateLimiter ? [{ labels: {}, value: limiter.isAvailable ? 1 : 0 }] : [],
  );
  metrics.gauge('keyport_rate_limit_fallback', '1 while rate limits are counted on this node only, because Redis does not answer', () =>
    limiter instanceof RedisRateLimiter ? [{ labels: {}, value: limiter.isAvailable ? 0 : 1 }] : [{ labels: {}, value: 0 }],
  );

  metrics.gauge('keyport_write_queue_entries', 'Batched writes waiting for the next flush (every 5 s): last_used (keys whose lastUsedAt is due), usage_counts (keys with usage counts to add)', () => {
    const q = tokens.usage.queued;
    return [
      { labels: { queue: 'last_used' }, value: q.lastUsed },
      { labels: { queue: 'usage_counts' }, value: q.counts },
    ];
  });
  // The webhook backlog, from the store at scrape time (two indexed counts), read once for both
  // of its gauges, and only after the synchronous gauges have been read: its own queries must not show
  // up as connections in use or waiting.
  let backlog: Promise<{ pending: number; failing: number }> | null = null;
  metrics.setWebhookProvider(() =>
    (backlog ??= nextTurn()
      .then(() => store.repos.webhookDeliveries.backlog())
      .finally(() => {
        backlog = null;
      })),
  );
  // The statement timer, for the store to call (see Storage.onQuery).
  return (pool, ok, seconds) => cells[pool][ok ? 'ok' : 'error'].observe(seconds);
}
