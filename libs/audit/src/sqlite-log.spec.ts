import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type RecordedEvent, SqliteEventStore } from '@rollcall/event-store';
import fc from 'fast-check';
import { entryText } from './entry';
import { HASH_SIZE, leafHash } from './merkle';
import { type LeafPage, SqliteLogReader } from './sqlite-log';

/*
 * The verifier reads the embedded log straight from events.sqlite; each leaf must be the one the notary hashed from
 * the record the event store hands out (docs/rules.md#verifiable-history), for any stored row, forged ones included.
 */
const work = mkdtempSync(join(tmpdir(), 'rollcall-sqlite-log-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const through = async (file: string): Promise<{ positions: bigint[]; hashes: Buffer[] }> => {
  const store = new SqliteEventStore(file);
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll()) events.push(e);
  await store.close();
  return { positions: events.map((e) => e.position), hashes: events.map((e) => leafHash(entryText(e))) };
};
const straight = (file: string, pageSize: number): { positions: bigint[]; hashes: Buffer[] } => {
  const reader = new SqliteLogReader(file);
  const pages: LeafPage[] = [...reader.leafPages(pageSize)];
  reader.close();
  const positions = pages.flatMap((p) => p.positions);
  const hashes = pages.flatMap((p) => Array.from({ length: p.positions.length }, (_, i) => Buffer.from(p.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))));
  return { positions, hashes };
};

let files = 0;
async function logOf(events: { stream: string; data: unknown; metadata: Record<string, unknown> }[], forge?: string[]): Promise<string> {
  const file = join(work, `events-${files++}.sqlite`);
  const store = new SqliteEventStore(file, { durability: 'normal' });
  for (const [i, e] of events.entries()) await store.append(e.stream, [{ id: `e-${i}`, type: 'Something', data: e.data, metadata: e.metadata }], 'any');
  await store.close();
  if (forge?.length) {
    const db = new DatabaseSync(file);
    for (const sql of forge) db.exec(sql);
    db.close();
  }
  return file;
}

describe('verifiable history: the embedded log read straight from its file', () => {
  it('gives every row the leaf the event store read gives it, in log order, across pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ stream: fc.constantFrom('organization-o', 'workspace-w', 'wörkspace-"q"\n'), data: fc.jsonValue(), metadata: fc.dictionary(fc.string(), fc.jsonValue()) }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (events, pageSize) => {
          const file = await logOf(events);
          expect(straight(file, pageSize)).toEqual(await through(file));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('stored texts the event store never writes (whitespace, repeated or unordered members, other number forms, JSON null metadata, odd column types) give the same leaves', async () => {
    const file = await logOf(
      Array.from({ length: 8 }, (_, i) => ({ stream: `s-${i}`, data: { i }, metadata: { n: i } })),
      [
        `UPDATE events SET data = '{ "b" : 1.50, "a" : [1e2, -0, "\\u0041\\/"] }' WHERE position = 1`,
        `UPDATE events SET data = '{"b":1,"a":2,"b":3}', metadata = 'null' WHERE position = 2`,
        `UPDATE events SET revision = 'seven', created = '2026' WHERE position = 3`,
        `UPDATE events SET data = 42, metadata = '[]' WHERE position = 4`,
        `UPDATE events SET id = 7, stream = 8, type = 9 WHERE position = 5`,
        `UPDATE events SET position = 99 WHERE position = 6`,
        `DELETE FROM events WHERE position = 7`,
      ],
    );
    const result = straight(file, 2);
    expect(result.positions).toEqual([1n, 2n, 3n, 4n, 5n, 8n, 99n]);
    expect(result).toEqual(await through(file));
  });

  it('a row that is not JSON, or has no valid time, fails as the event store read fails', async () => {
    const failures = async (file: string) => {
      let viaStore: unknown;
      let viaFile: unknown;
      await through(file).catch((error: unknown) => (viaStore = error));
      try {
        straight(file, 10);
      } catch (error) {
        viaFile = error;
      }
      return { viaStore, viaFile };
    };
    const notJson = await failures(await logOf([{ stream: 's', data: 1, metadata: {} }], [`UPDATE events SET data = '{"a":1,}'`]));
    expect(notJson.viaFile).toBeInstanceOf(SyntaxError);
    expect((notJson.viaFile as Error).message).toBe((notJson.viaStore as Error).message);
    const noTime = await failures(await logOf([{ stream: 's', data: 1, metadata: {} }], [`UPDATE events SET created = 9e15`]));
    expect((noTime.viaFile as Error).message).toBe('Event e-0 has no valid recording time');
    expect((noTime.viaFile as Error).message).toBe((noTime.viaStore as Error).message);
  });
});
