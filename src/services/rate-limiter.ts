import { Redis } from 'ioredis';
import type { RateLimitPolicy } from '../domain/model.js';
import { FixedWindowCounter, rateLimitState, windowStart, type RateLimitState } from '../domain/rate-limit.js';
import { StorageError } from '../storage/database.js';

/** Counts requests per key against the key's rate limit. */
export interface RateLimiter {
  /** Counts one request of `subject` at `now` and says whether it is within `policy`. */
  hit(subject: string, policy: RateLimitPolicy, now: number): RateLimitState | Promise<RateLimitState>;
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

/**
 * Counters in Redis, shared by every node: one key per subject and window (`INCR`, expiring after
 * the window). When Redis cannot be reached, counting falls back to this node's own counters, so a
 * Redis outage degrades limits instead of refusing every request.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly describe: string;
  private readonly local = new LocalRateLimiter();
  /** Told when Redis fails and counting falls back to this node. */
  onError: (err: unknown) => void = () => {};

  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 });
    // Failures are reported per request through onError; ioredis reconnects by itself.
    this.redis.on('error', () => {});
    const u = new URL(url);
    if (u.password) u.password = '***';
    this.describe = `Redis ${u.toString()}`;
  }

  /** Connects, failing with a readable error when Redis does not answer. */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
      await this.redis.ping();
    } catch (err) {
      this.redis.disconnect();
      throw new StorageError(`Cannot connect to ${this.describe} (REDIS_URL): ${(err as Error).message}`);
    }
  }

  async hit(subject: string, policy: RateLimitPolicy, now: number): Promise<RateLimitState> {
    const windowMs = policy.windowSeconds * 1000;
    const start = windowStart(now, windowMs);
    const key = `keyport:rl:${subject}:${policy.windowSeconds}:${start}`;
    try {
      const results = await this.redis.multi().incr(key).pexpire(key, windowMs + 1000).exec();
      const count = Number(results?.[0]?.[1]);
      if (!Number.isFinite(count)) throw new Error('unexpected answer from Redis');
      return rateLimitState(policy, count, start, now);
    } catch (err) {
      this.onError(err);
      return this.local.hit(subject, policy, now);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
