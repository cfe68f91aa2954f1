import { Redis } from 'ioredis';
import { FailureThrottle } from '../domain/throttle.js';

/** A kind of guarded attempt: how many failures a subject may have in a window. */
export interface AttemptRule {
  /** Names the counters (sign-in by e-mail, sign-in by address, OAuth client, ...). */
  name: string;
  maxFailures: number;
  windowMs: number;
}

/** One subject of one rule (an e-mail for the sign-in rule, say). */
export interface Attempt {
  rule: AttemptRule;
  subject: string;
}

/** An attempt to un-count, and whether to forget its subject's earlier failures too. */
export interface Released {
  attempt: Attempt;
  clear: boolean;
}

/**
 * Counts attempts at guessing a secret (a password, a client secret), atomically with the decision
 * to let them be checked: `reserve` counts the attempt as failed before its secret is checked, for
 * every subject at once or for none, so 300 attempts arriving together are checked at most
 * `maxFailures` times. An attempt that turned out right (or was never checked) is `release`d.
 */
export interface AttemptCounter {
  /** 0 when the attempt was counted against every subject (check it now); else seconds to wait, nothing counted. */
  reserve(attempts: readonly Attempt[]): number | Promise<number>;
  /**
   * The attempt did not fail (the secret was right, or it was never checked): it is un-counted
   * for each subject; where `clear` is true, the subject's earlier failures are forgotten too.
   */
  release(released: readonly Released[]): void | Promise<void>;
  connect(): Promise<void>;
  close(): Promise<void>;
  readonly describe: string;
}

/** Counts in this process: exact for one node; a cluster of n nodes allows up to n times the failures. */
export class LocalAttemptCounter implements AttemptCounter {
  readonly describe = 'in process';
  private readonly throttles = new Map<string, FailureThrottle>();

  constructor(private readonly now: () => number) {}

  private throttle(rule: AttemptRule): FailureThrottle {
    let throttle = this.throttles.get(rule.name);
    if (throttle === undefined) {
      throttle = new FailureThrottle({ maxFailures: rule.maxFailures, windowMs: rule.windowMs, now: this.now });
      this.throttles.set(rule.name, throttle);
    }
    return throttle;
  }

  /** Synchronous, so nothing can come between the check and the count. */
  reserve(attempts: readonly Attempt[]): number {
    const wait = Math.max(0, ...attempts.map((a) => this.throttle(a.rule).retryAfter(a.subject)));
    if (wait > 0) return wait;
    for (const a of attempts) this.throttle(a.rule).fail(a.subject);
    return 0;
  }

  release(released: readonly Released[]): void {
    for (const { attempt, clear } of released) {
      const throttle = this.throttle(attempt.rule);
      if (clear) throttle.reset(attempt.subject);
      else throttle.release(attempt.subject);
    }
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * Checks every counter and, when none is at its limit, counts the attempt on all of them: one
 * script, so atomic across every node sharing the Redis. KEYS: the counters; ARGV: per counter
 * its limit and window (ms). Answers 0 when counted, else the milliseconds to wait.
 */
const RESERVE = `
local wait = 0
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = tonumber(ARGV[2 * i]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return 0`;

/** Un-counts attempts (ARGV[i] '1': forgets the counter); a counter goes when it reaches 0. */
const RELEASE = `
for i = 1, #KEYS do
  if ARGV[i] == '1' then redis.call('DEL', KEYS[i])
  elseif redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
return 0`;

/**
 * Counts in Redis, shared by every node (keys `keyport:attempts:<rule>:<subject>`), each command
 * bounded by the Redis timeout. When Redis fails or is too slow, the attempt is counted on this
 * node instead (as without Redis), so an outage weakens the bound to n times per cluster instead
 * of refusing every sign-in.
 */
export class RedisAttemptCounter implements AttemptCounter {
  readonly describe: string;
  private readonly local: LocalAttemptCounter;
  private readonly redis: Redis;

  constructor(url: string, timeoutMs: number, now: () => number) {
    this.local = new LocalAttemptCounter(now);
    this.redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: Math.max(timeoutMs, 1000),
      commandTimeout: timeoutMs,
    });
    this.redis.on('error', () => {});
    const u = new URL(url);
    if (u.password) u.password = '***';
    this.describe = `Redis ${u.toString()}`;
  }

  private static key(attempt: Attempt): string {
    return `keyport:attempts:${attempt.rule.name}:${attempt.subject}`;
  }

  async reserve(attempts: readonly Attempt[]): Promise<number> {
    try {
      const args = attempts.flatMap((a) => [String(a.rule.maxFailures), String(a.rule.windowMs)]);
      const waitMs = Number(await this.redis.eval(RESERVE, attempts.length, ...attempts.map(RedisAttemptCounter.key), ...args));
      if (!Number.isFinite(waitMs)) throw new Error('unexpected answer from Redis');
      return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
    } catch {
      this.reconnect();
      return this.local.reserve(attempts);
    }
  }

  async release(released: readonly Released[]): Promise<void> {
    // What was counted here while Redis failed is un-counted here too.
    this.local.release(released);
    if (released.length === 0) return;
    try {
      await this.redis.eval(RELEASE, released.length, ...released.map((r) => RedisAttemptCounter.key(r.attempt)), ...released.map((r) => (r.clear ? '1' : '0')));
    } catch {
      this.reconnect();
    }
  }

  /** A first connection that failed is not retried by ioredis on its own. */
  private reconnect(): void {
    if (this.redis.status === 'wait' || this.redis.status === 'end') this.redis.connect().catch(() => {});
  }

  async connect(): Promise<void> {
    await this.redis.connect().catch(() => {});
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
