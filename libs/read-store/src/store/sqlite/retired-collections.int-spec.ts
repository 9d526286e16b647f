/**
 * Rule 12 across upgrades (probe 37b #1): a collection an earlier version wrote and no projection writes any more
 * (`member_invitations`: each invitation's address) is dropped when a store starts, with its search structures, and no
 * byte of its documents stays in the file or its WAL.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { RETIRED_COLLECTIONS } from '../../projections/projection';
import { SqliteReadStore } from '../sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'read-store-retired-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ADDRESS = 'carol.retired@acme.test';
const tables = (file: string) => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
};
const bytesHold = (text: string) => readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(text));

describe('rule 12: collections of earlier versions are dropped at start, with what they held (probe 37b #1)', () => {
  it('member_invitations, as an earlier version left it (search rows too), is gone from the file and its WAL after init; a second init is a no-op; kept collections keep their documents', async () => {
    const file = join(dir, 'read.sqlite');
    // as a version from before 2026-11-30 left it: the lookup beside members
    const old = new SqliteReadStore({ path: file });
    await old.init({ members: { indexes: ['workspaceId'], search: ['email'] }, member_invitations: { indexes: ['email'], search: ['email'] } });
    await old.commit(
      'members',
      [
        { kind: 'upsert', collection: 'member_invitations', doc: { _id: 'ws-1:inv:1', email: ADDRESS }, position: 1n },
        { kind: 'upsert', collection: 'members', doc: { _id: 'ws-1:u-1', workspaceId: 'ws-1', email: 'kept@acme.test' }, position: 2n },
      ],
      2n,
    );
    await old.close();
    expect(tables(file)).toContain('rs_doc_member_invitations');
    expect(bytesHold(ADDRESS)).toBe(true);

    const current = new SqliteReadStore({ path: file });
    await current.init({ members: { indexes: ['workspaceId'], search: ['email'] } }, { retired: RETIRED_COLLECTIONS });
    expect(tables(file).filter((t) => t.includes('member_invitations'))).toEqual([]);
    expect(bytesHold(ADDRESS)).toBe(false);
    expect((await current.get('members', 'ws-1:u-1'))?.doc).toMatchObject({ email: 'kept@acme.test' });
    await current.init({ members: { indexes: ['workspaceId'], search: ['email'] } }, { retired: RETIRED_COLLECTIONS });
    await current.close();
    expect(bytesHold(ADDRESS)).toBe(false);
  });
});
