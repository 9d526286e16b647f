import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ReadAllOptions, type ReadStreamOptions, type RecordedEvent, SqliteEventStore, type SubscribeOptions, type Subscription } from '@rollcall/event-store';
import { withSealedUnder } from '../../projections/testing/shredding';
import type { LoggedAppend } from '../../projections/testing/event-log';
import { SqliteReadStore } from '../../store';
import type { Doc, ReadStore } from '../../port';
import type { Projection } from '../../projections/projection';

/**
 * The embedded store, its events read as the crypto-shredding store reads them (personal data in clear here, and each
 * personal field's subject in `sealedUnder`): the app's projector never reads the log otherwise.
 */
export class ReadAsSealedStore extends SqliteEventStore {
  override async *readStream(stream: string, options?: ReadStreamOptions): AsyncGenerator<RecordedEvent> {
    for await (const e of super.readStream(stream, options)) yield withSealedUnder(e);
  }

  override async *readAll(options?: ReadAllOptions): AsyncGenerator<RecordedEvent> {
    for await (const e of super.readAll(options)) yield withSealedUnder(e);
  }

  override subscribe(options?: SubscribeOptions): Subscription {
    const inner = super.subscribe(options);
    return {
      unsubscribe: () => inner.unsubscribe(),
      async *[Symbol.asyncIterator]() {
        for await (const e of inner) yield withSealedUnder(e);
      },
    };
  }
}

/** A temp dir with embedded event and read stores (durability relaxed: tests do not survive power loss). */
export class TempStores {
  readonly dir = mkdtempSync(join(tmpdir(), 'rollcall-projector-'));
  readonly eventsFile = join(this.dir, 'events.sqlite');
  readonly events: SqliteEventStore = new ReadAsSealedStore(this.eventsFile, { durability: 'normal' });
  private readonly readStores: SqliteReadStore[] = [];

  readStore(name = 'read'): SqliteReadStore {
    const store = new SqliteReadStore({ path: join(this.dir, `${name}.sqlite`), synchronous: 'NORMAL' });
    this.readStores.push(store);
    return store;
  }

  /** appends in order, many at once (the store commits the queued appends together, positions in call order) */
  async append(appends: readonly LoggedAppend[]): Promise<void> {
    await Promise.all(appends.map((a) => this.events.append(a.stream, a.events, 'any')));
  }

  async close(): Promise<void> {
    for (const s of this.readStores) await s.close();
    await this.events.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** every document of every collection of the projections, by collection, sorted by id */
export async function dump(store: ReadStore, projections: readonly Projection[]): Promise<Record<string, Doc[]>> {
  const out: Record<string, Doc[]> = {};
  for (const p of projections)
    for (const collection of Object.keys(p.collections)) {
      const docs: Doc[] = [];
      for await (const doc of store.stream(collection, {})) docs.push(doc);
      out[collection] = docs;
    }
  return out;
}
