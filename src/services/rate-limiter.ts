import { Redis } from 'ioredis';
import type { RateLimitPolicy } from '../domain/model.js';
import { FixedWindowCounter, rateLimitState, windowStart, type RateLimitState } from '../domain/rate-limit.js';

/** Counts requests per key against the key's rate limit. */
export interface RateLimiter {
  /** Counts one request of `subject` at `now` and says whether it is within `policy`. */
  hit(subject: string, policy: RateLimitPolicy, now: number): RateLimitState | Promise<RateLimitState>;
  /** Starts counting; never fails (a shared counter store that does not answer is fallen back from). */
  connect(): Promise<void>;
  close(): Promise<void>;
  readonly describe: string;
}

/** Counters in this process: exact for one node; with n nodes a key may get up to n times its limit. */
export class LocalRateLimiter implements RateLimiter {
  readonly describe = 'in process';
  private readonly counter = new FixedWindowCounter();

  hit(subject: string, policy: RateLimitPolicy, now: number): RateLimitState {
    return this.counter.hit(subject, policy, now);
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {}
}

/** While Redis is unavailable, it is asked again this often. */
const PROBE_INTERVAL_MS = 1000;

/**
 * Counters in Redis, shared by every node: one key per subject and window (`INCR`, expiring after
 * the window). Every command is bounded by `timeoutMs`. When Redis fails or is too slow (down, a
 * network partition, a frozen server), counting falls back to this node's own counters at once, for
 * every request, and Redis is asked again every second; once it answers, counting goes back to it.
 * So a Redis outage degrades limits (each node counts alone, a key may get up to n times its limit)
 * instead of refusing or stalling requests; what was counted locally is not added to Redis after.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly describe: string;
  private readonly local = new LocalRateLimiter();
  private readonly redis: Redis;
  private available = false;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;
  /** Told when Redis becomes unavailable (counting falls back to this node) and when it is back. */
  onStateChange: (state: { available: boolean; error?: unknown }) => void = () => {};

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: Math.max(timeoutMs, 1000),
      commandTimeout: timeoutMs,
    });
    // Failures are seen by the commands (and the probe); ioredis reconnects by itself.
    this.redis.on('error', () => {});
    this.redis.on('close', () => this.unavailable(new Error('connection to Redis closed')));
    const u = new URL(url);
    if (u.password) u.password = '***';
    this.describe = `Redis ${u.toString()}`;
  }

  /** True while counting happens in Redis. */
  get isAvailable(): boolean {
    return this.available;
  }

  /**
   * Connects, without making start-up wait for Redis: if it does not answer now, this node counts
   * on its own and keeps asking (the same as when Redis fails later).
   */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
      await this.redis.ping();
      this.available = true;
    } catch (err) {
      this.unavailable(err);
    }
  }

  hit(subject: string, policy: RateLimitPolicy, now: number): RateLimitState | Promise<RateLimitState> {
    if (!this.available) return this.local.hit(subject, policy, now);
    const windowMs = policy.windowSeconds * 1000;
    const start = windowStart(now, windowMs);
    const key = `keyport:rl:${subject}:${policy.windowSeconds}:${start}`;
    return this.redis
      .multi()
      .incr(key)
      .pexpire(key, windowMs + 1000)
      .exec()
      .then((results) => {
        const count = Number(results?.[0]?.[1]);
        if (!Number.isFinite(count)) throw new Error('unexpected answer from Redis');
        return rateLimitState(policy, count, start, now);
      })
      .catch((err) => {
        this.unavailable(err);
        return this.local.hit(subject, policy, now);
      });
  }

  /** Falls back to local counting and asks Redis again every second until it answers. */
  private unavailable(error: unknown): void {
    if (this.closed) return;
    const was = this.available;
    this.available = false;
    if (was || this.probe === undefined) this.onStateChange({ available: false, error });
    if (this.probe !== undefined) return;
    this.probe = setInterval(() => {
      // A first connection that failed is not retried by ioredis on its own.
      if (this.redis.status === 'wait' || this.redis.status === 'end') this.redis.connect().catch(() => {});
      this.redis.ping().then(
        () => {
          if (this.closed || this.probe === undefined) return;
          clearInterval(this.probe);
          this.probe = undefined;
          this.available = true;
          this.onStateChange({ available: true });
        },
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probe !== undefined) clearInterval(this.probe);
    this.probe = undefined;
    this.redis.disconnect();
  }
}
