import type { FastifyBaseLogger } from 'fastify';

const MAX_CAUSES = 1000;

/**
 * Logs errors of one cause once per interval: the first at once, with all its details (stack,
 * request id); the others of that cause within the interval are counted and summed up in one line
 * when it ends. During an outage every request fails the same way, and a line (and a stack) per
 * request would bury the log: 1,200 a second per node.
 */
export class ErrorDigest {
  private readonly counts = new Map<string, { count: number; msg: string; level: 'error' | 'warn' }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: FastifyBaseLogger,
    readonly intervalMs: number,
  ) {}

  /**
   * Reports an error of `cause`. The first of its interval is written to `log` (a request's logger,
   * or the process's) with `fields`; later ones are only counted.
   */
  report(cause: string, level: 'error' | 'warn', msg: string, fields: Record<string, unknown>, log: FastifyBaseLogger = this.log): void {
    const seen = this.counts.get(cause);
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    log[level](fields, msg);
    // Bounded: past this many causes in one interval, errors are simply logged.
    if (this.counts.size >= MAX_CAUSES) return;
    this.counts.set(cause, { count: 0, msg, level });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes one line per cause that repeated, with its count, and starts a new interval. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const seconds = Math.round(this.intervalMs / 1000);
    for (const [cause, { count, msg, level }] of this.counts)
      if (count > 0) this.log[level]({ cause, repeated: count, intervalSeconds: seconds }, `${msg}: ${count} more time${count === 1 ? '' : 's'} in the last ${seconds} s`);
    this.counts.clear();
  }
}
