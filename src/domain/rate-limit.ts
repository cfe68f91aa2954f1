import type { RateLimitPolicy } from './model.js';

/** Where a subject stands against its rate limit after one more request. */
export interface RateLimitState {
  /** False when this request is over the limit. */
  allowed: boolean;
  limit: number;
  /** Requests left in the current window. */
  remaining: number;
  /** Seconds until the current window ends and the count starts again. */
  resetSeconds: number;
}

/** The start of the fixed window `now` falls in, in epoch milliseconds. */
export const windowStart = (now: number, windowMs: number) => now - (now % windowMs);

/** The state after `count` requests in the window starting at `start`. */
export function rateLimitState(policy: RateLimitPolicy, count: number, start: number, now: number): RateLimitState {
  const windowMs = policy.windowSeconds * 1000;
  return {
    allowed: count <= policy.limit,
    limit: policy.limit,
    remaining: Math.max(0, policy.limit - count),
    resetSeconds: Math.max(1, Math.ceil((start + windowMs - now) / 1000)),
  };
}

/**
 * Fixed-window request counters per subject, in process. Windows are aligned to the epoch, so every
 * node of a cluster agrees where a window starts. Bounded: past `maxSubjects` counters, finished
 * windows are swept, then the oldest counters go.
 */
export class FixedWindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly maxSubjects = 1_000_000) {}

  get size(): number {
    return this.windows.size;
  }

  /** Counts one request of `subject` and says whether it is within `policy`. */
  hit(subject: string, policy: RateLimitPolicy, now: number): RateLimitState {
    const start = windowStart(now, policy.windowSeconds * 1000);
    let window = this.windows.get(subject);
    if (window === undefined || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(subject, window);
      if (this.windows.size > this.maxSubjects) this.sweep(now);
    }
    window.count++;
    return rateLimitState(policy, window.count, start, now);
  }

  private sweep(now: number): void {
    // A window is over at the latest one day (the longest window) after it started.
    for (const [subject, w] of this.windows) if (w.start + 86_400_000 <= now) this.windows.delete(subject);
    for (const subject of this.windows.keys()) {
      if (this.windows.size <= this.maxSubjects) break;
      this.windows.delete(subject);
    }
  }
}

/** The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) describing a state. */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(state.remaining),
    'ratelimit-reset': String(state.resetSeconds),
  };
}
