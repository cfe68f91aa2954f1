import type { Notice, NoticeSink, NoticeType } from '../../src/services/notices.js';
import type { Repositories } from '../../src/storage/repositories.js';

/**
 * A NoticeSink that keeps what it is given in memory, once the change's transaction has committed
 * (as a real sink's queue would hold it): the seam where webhook delivery plugs in.
 */
export class MemoryNotices implements NoticeSink {
  readonly received: Notice[] = [];

  /** `types`: the notices a test looks at (every key change also has its key.created, key.updated ...). */
  constructor(private readonly types: readonly NoticeType[]) {}

  async enqueue(repos: Repositories, notices: readonly Notice[]): Promise<void> {
    const kept = notices.filter((n) => this.types.includes(n.type));
    repos.onCommit(async () => {
      this.received.push(...kept);
    });
  }

  /** The notices of one account, as `type key-id` strings, in the order they came. */
  of(accountId: string): string[] {
    return this.received.filter((n) => n.accountId === accountId).map((n) => `${n.type} ${(n.data as { id: string }).id}`);
  }
}
