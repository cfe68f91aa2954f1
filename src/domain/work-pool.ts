/**
 * Runs at most `concurrency` tasks at a time, with at most `maxQueued` more waiting in arrival
 * order; beyond that a task is refused at once (`run` returns null) instead of queueing without
 * bound. Password hashing runs through one, so a flood of sign-ins cannot take every thread of
 * libuv's pool, which token signing needs too.
 */
export class WorkPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {}

  /** The task's result, once a slot was free; null when the pool and its queue are full. */
  run<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.concurrency && this.waiting.length >= this.maxQueued) return null;
    return this.slot().then(async () => {
      try {
        return await task();
      } finally {
        this.running--;
        this.waiting.shift()?.();
      }
    });
  }

  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    // The finishing task hands its slot over: running stays the same.
    return new Promise((resolve) => this.waiting.push(() => (this.running++, resolve())));
  }

  /** Tasks running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
