import type { Notice, NoticeSink } from '../../src/services/notices.js';
import type { Repositories } from '../../src/storage/repositories.js';

/**
 * A NoticeSink that keeps what it is given in memory, once the change's transaction has committed
 * (as a real sink's queue would hold it): the seam where webhook delivery plugs in.
 */
export class MemoryNotices implements NoticeSink {
  readonly received: Notice[] = [];

  async enqueue(repos: Repositories, notices: readonly Notice[]): Promise<void> {
    repos.onCommit(async () => {
      this.received.push(...notices);
    });
  }

  /** The notices of one account, as `type key-id` strings, in the order they came. */
  of(accountId: string): string[] {
    return this.received.filter((n) => n.accountId === accountId).map((n) => `${n.type} ${(n.data as { id: string }).id}`);
  }
}
