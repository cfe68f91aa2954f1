/**
 * Slows down guessing: counts failed attempts per subject (a client id, a source address, an
 * e-mail) and, once `maxFailures` have happened within `windowMs` of the first one, refuses the
 * subject until that window ends. A success may clear a subject's count.
 *
 * Under concurrency an attempt is counted before its secret is checked (`reserve`), so however
 * many attempts arrive at once, at most `maxFailures` of them are checked; one that turns out
 * right is un-counted (`release`). In process and bounded; see services/attempts.ts for counts
 * shared by the nodes of a cluster.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { since: number; count: number }>();
  private readonly maxSubjects: number;

  constructor(
    private readonly options: { maxFailures: number; windowMs: number; now: () => number; maxSubjects?: number },
  ) {
    this.maxSubjects = options.maxSubjects ?? 100_000;
  }

  /** Seconds until `subject` may try again; 0 when it may try now. */
  retryAfter(subject: string): number {
    const entry = this.failures.get(subject);
    if (entry === undefined || entry.count < this.options.maxFailures) return 0;
    const left = entry.since + this.options.windowMs - this.options.now();
    if (left <= 0) {
      this.failures.delete(subject);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  /** Records a failed attempt of `subject`. */
  fail(subject: string): void {
    const now = this.options.now();
    const entry = this.failures.get(subject);
    if (entry === undefined || entry.since + this.options.windowMs <= now) {
      this.failures.delete(subject);
      this.failures.set(subject, { since: now, count: 1 });
      if (this.failures.size > this.maxSubjects) this.evict(now);
    } else entry.count++;
  }

  /**
   * Counts an attempt of `subject` as failed before it is checked, unless the subject is already
   * refused: 0 when counted (the caller may check it), else the seconds to wait (nothing counted).
   */
  reserve(subject: string): number {
    const wait = this.retryAfter(subject);
    if (wait === 0) this.fail(subject);
    return wait;
  }

  /** Un-counts one attempt `reserve` counted, which did not fail after all. */
  release(subject: string): void {
    const entry = this.failures.get(subject);
    if (entry === undefined) return;
    if (--entry.count <= 0) this.failures.delete(subject);
  }

  /** Forgets the failures of `subject` (after it proved it holds the secret). */
  reset(subject: string): void {
    this.failures.delete(subject);
  }

  private evict(now: number): void {
    for (const [subject, e] of this.failures) if (e.since + this.options.windowMs <= now) this.failures.delete(subject);
    // Still full: drop the oldest windows first (insertion order).
    for (const subject of this.failures.keys()) {
      if (this.failures.size <= this.maxSubjects) break;
      this.failures.delete(subject);
    }
  }
}
