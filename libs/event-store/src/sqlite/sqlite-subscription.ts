import type { RecordedEvent, SubscribeOptions, Subscription } from '../port';
import type { SqliteEventStore } from './sqlite-event-store';

/** SQLite rows as read back (with setReadBigInts: every INTEGER is a bigint). */
export interface EventRow {
  position: bigint;
  id: string;
  stream: string;
  revision: bigint;
  type: string;
  data: string;
  metadata: string;
  created: bigint;
}

/**
 * Catch-up subscription: reads `position > last delivered` from the file, page after page; once a read
 * comes back short it waits for the store's next commit, then reads `position > last delivered` again.
 * The commit sequence number taken before each read closes the window between "read came back short"
 * and "started waiting": a commit in between is seen and the read is redone instead of waiting.
 */
export class SqliteSubscription implements Subscription {
  private stopped = false;
  private stopWaiting: (() => void) | undefined;
  /** a subscription is consumed once: every for-await over it shares this iterator (of events, or of pages) */
  private iterator: AsyncGenerator<RecordedEvent> | undefined;
  private pageIterator: AsyncGenerator<RecordedEvent[]> | undefined;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly options: SubscribeOptions,
  ) {}

  async unsubscribe(): Promise<void> {
    this.stopped = true;
    this.stopWaiting?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    this.iterator ??= this.run();
    return this.iterator;
  }

  /** the same events, a page (one read of the file) at a time: instead of iterating the events, not beside it */
  pages(): AsyncIterable<RecordedEvent[]> {
    if (this.iterator) throw new Error('SqliteSubscription: its events are being read already');
    this.pageIterator ??= this.readPages();
    const iterator = this.pageIterator;
    return { [Symbol.asyncIterator]: () => iterator };
  }

  private async *run(): AsyncGenerator<RecordedEvent> {
    if (this.pageIterator) throw new Error('SqliteSubscription: its pages are being read already');
    // leaving the loop early closes the pages too (for-await returns them): the subscription is over
    for await (const page of (this.pageIterator = this.readPages()))
      for (const event of page) {
        if (this.stopped) return;
        yield event;
      }
  }

  private async *readPages(): AsyncGenerator<RecordedEvent[]> {
    let last = this.options.fromPosition ?? -1n;
    let remaining = this.options.maxCount ?? Number.POSITIVE_INFINITY;
    try {
      while (!this.stopped && !this.store.isClosed && remaining > 0) {
        const seq = this.store.commitSequence;
        const limit = Math.min(this.store.pageSize, remaining);
        const rows = this.store.readAfter(last, this.options.filter, limit);
        if (rows.length > 0) {
          const page = rows.map(toRecorded);
          last = page[page.length - 1]!.position;
          remaining -= page.length;
          yield page;
          if (this.stopped) return;
        }
        // a full page: more may be there already; a commit since the read: read again before waiting
        if (rows.length === limit || this.store.commitSequence !== seq) continue;
        await this.waitForCommit();
      }
    } finally {
      // the consumer broke out of its loop (return()) or we ended: either way the subscription is over
      this.stopped = true;
    }
  }

  private waitForCommit(): Promise<void> {
    if (this.stopped || this.store.isClosed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        off();
        this.stopWaiting = undefined;
        resolve();
      };
      const off = this.store.onNextCommit(done);
      this.stopWaiting = done;
    });
  }
}

export function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    stream: row.stream,
    type: row.type,
    revision: row.revision,
    position: row.position,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    created: new Date(Number(row.created)),
  };
}
