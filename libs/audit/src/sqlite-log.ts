/**
 * The embedded log (`events.sqlite`) read straight from its file for verification (docs/rules.md#verifiable-history,
 * docs/adr/0007-verifiable-history.md §6): large pages of raw rows, each row's entry written from its stored texts
 * (canonical-text.ts) and hashed, with no parsed record in between. The entry of a row is exactly the entry of the
 * record the event store's own read makes of it (checked in sqlite-log.spec.ts against `entryText`).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { canonicalJsonText } from './canonical-text';
import { occurredAtInText } from './dating';
import { CanonicalizationError, entryText } from './entry';
import { HASH_SIZE, leafHash } from './merkle';

/** A row of the embedded store's `events` table, columns in this order (INTEGER columns as bigints). */
export type LogRow = [position: unknown, id: unknown, stream: unknown, revision: unknown, type: unknown, data: unknown, metadata: unknown, created: unknown];

/** Consecutive leaves of the log: their positions and their leaf hashes, HASH_SIZE bytes each, in log order. */
export interface LeafPage {
  positions: bigint[];
  hashes: Uint8Array;
  /** each entry's `created` and `metadata.occurredAt` in ms (dating.ts), when read from rows */
  created?: number[];
  occurredAt?: (number | undefined)[];
}

/** the same rows, in the same order, as the event store's readAll (positions from 0 up), between two positions */
const PAGE_SQL = 'SELECT position, id, stream, revision, type, data, metadata, created FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?';
/** the largest position SQLite can hold */
export const LAST_POSITION = 2n ** 63n - 1n;

let lastCreated: bigint | undefined;
let lastCreatedText = '';

/**
 * The entry text of a stored row: `entryText` of the record the event store makes of it (data and metadata
 * parsed, `created` a Date), without making the record. Rows with unusual column types (a forged file may hold any)
 * take exactly that path.
 */
export function entryTextOfRow(row: LogRow): string {
  const [position, id, stream, revision, type, data, metadata, created] = row;
  if (
    typeof data !== 'string' ||
    typeof metadata !== 'string' ||
    typeof created !== 'bigint' ||
    typeof position !== 'bigint' ||
    typeof revision !== 'bigint' ||
    typeof id !== 'string' ||
    typeof stream !== 'string' ||
    typeof type !== 'string'
  ) {
    // a row the store did not write this way (a damaged or forged file): its entry as the store's read would make it,
    // or a sentence naming the row
    try {
      return entryText({ id, stream, type, revision, position, data: JSON.parse(data as string), metadata: JSON.parse(metadata as string), created: new Date(Number(created)) } as never);
    } catch (error) {
      throw new CanonicalizationError(`The row of position ${String(position)} (event ${String(id)}) is not an event as the store writes it: ${(error as Error).message}`);
    }
  }
  const dataText = canonicalJsonText(data);
  const metadataText = canonicalJsonText(metadata);
  if (created !== lastCreated) {
    // the events of one commit share their recording time
    const date = new Date(Number(created));
    if (Number.isNaN(date.getTime())) throw new CanonicalizationError(`Event ${id} has no valid recording time`);
    lastCreatedText = date.toISOString();
    lastCreated = created;
  }
  // members in canonical order; a metadata of JSON null is the record's `{}` (entryText: metadata ?? {})
  return `{"created":"${lastCreatedText}","data":${dataText},"id":${JSON.stringify(id)},"metadata":${metadataText === 'null' ? '{}' : metadataText},"position":"${position}","revision":"${revision}","stream":${JSON.stringify(stream)},"type":${JSON.stringify(type)}}`;
}

/** Opens `events.sqlite` read-only; the auditor never writes to the log it checks. */
export class SqliteLogReader {
  private readonly db: DatabaseSync;
  private readonly page: StatementSync;

  constructor(readonly file: string) {
    this.db = new DatabaseSync(file, { readOnly: true });
    this.page = this.db.prepare(PAGE_SQL);
    this.page.setReadBigInts(true);
    this.page.setReturnArrays(true);
  }

  /** The rows after `after` and up to `upTo`, at most `limit`, in position order. */
  rows(after: bigint, limit: number, upTo = LAST_POSITION): LogRow[] {
    return this.page.all(after, upTo, limit) as unknown as LogRow[];
  }

  /**
   * The leaves of the rows after `after` (all: from position 0) and up to `upTo`, a page of `pageSize` rows at a time;
   * with their times when `times` (a checkpoint says when it was signed: dating.ts).
   */
  *leafPages(pageSize = 4096, after = -1n, upTo = LAST_POSITION, times = false): Generator<LeafPage> {
    for (;;) {
      const rows = this.rows(after, pageSize, upTo);
      if (rows.length === 0) return;
      yield leafPageOf(rows, times);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]![0] as bigint;
    }
  }

  /** The number of rows (the smallest index is counted, not the table). */
  count(): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

export function leafPageOf(rows: LogRow[], times = false): LeafPage {
  const positions: bigint[] = Array.from({ length: rows.length });
  const hashes = Buffer.allocUnsafe(rows.length * HASH_SIZE);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    positions[i] = row[0] as bigint;
    hashes.set(leafHash(entryTextOfRow(row)), i * HASH_SIZE);
  }
  if (!times) return { positions, hashes };
  // (a regex and a Date.parse per row, ~0.6–0.9 µs: only when some checkpoint bounds the times)
  return { positions, hashes, created: rows.map((row) => Number(row[7])), occurredAt: rows.map((row) => occurredAtInText(row[6])) };
}
