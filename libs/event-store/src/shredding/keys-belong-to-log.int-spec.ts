// keys.sqlite must be the one written with the log beside it (probe 33 F5): made anew over a log that holds events, it
// shredded every personal field at once, silently, and the organization took a second user for an address in use.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DataDirProblem } from '../data-dir-problem';
import { createRollcallEventStore } from '../rollcall-event-store';
import { SqliteKeyStore } from './key-store';
import { withAllKeysView } from '../testing/stored-keys';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-keys-belong-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const keysFile = () => join(dir, 'keys.sqlite');
/** the app's stores over the data dir (rollcall-event-store.ts), closed again */
const reopen = async () => (await createRollcallEventStore({ dataDir: dir, durability: 'normal' })).store.close();
/** a data dir whose log holds an event with a personal field (its subject's salt in events.sqlite) */
async function written(): Promise<void> {
  const { store } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  const joined = { organizationId: 'o-1', userId: 'u-1', email: 'ann@acme.test', displayName: 'Ann', joinedAt: '2026-12-03T00:00:00.000Z', orgAdmin: false };
  await store.append('organization-o-1', [{ id: '00000000-0000-4000-8000-000000000001', type: 'UserJoinedOrganization', data: joined, metadata: {} }], 'no_stream');
  await store.close();
}
const deleteSecret = (subject: string) => {
  const db = new DatabaseSync(keysFile());
  db.prepare('DELETE FROM subject_keys WHERE subject = ?').run(subject);
  db.close();
};

describe('rule 12: the keys beside a log are the ones written with it', () => {
  it('a keys.sqlite lost beside a log that holds events is refused at open, naming the file (DataDirProblem)', async () => {
    await written();
    for (const f of ['keys.sqlite', 'keys.sqlite-wal', 'keys.sqlite-shm']) rmSync(join(dir, f), { force: true });
    await expect(reopen()).rejects.toThrow(DataDirProblem);
    await expect(reopen()).rejects.toThrow(`${keysFile()} holds no key-derivation key while the event log holds the salts`);
  });

  it('a keys.sqlite without the pepper beside a log that holds events is refused (the address subjects are HMACs under it)', async () => {
    await written();
    deleteSecret('__pepper__');
    await expect(reopen()).rejects.toThrow(`${keysFile()} holds no key secrets while the event log reaches position`);
  });

  it('a keys.sqlite without the key-derivation key beside salts in the log is refused', async () => {
    await written();
    deleteSecret('__derivation_key__');
    await expect(reopen()).rejects.toThrow(/holds no key-derivation key while the event log holds the salts of subjects' keys/);
  });

  it('a new data dir gets its secrets; a data dir from before ADR 0010 (its pepper, no derivation key, no salt in the log) opens', async () => {
    await expect(reopen()).resolves.toBeUndefined();
    const db = withAllKeysView(new DatabaseSync(join(dir, 'events.sqlite')));
    expect(db.prepare('SELECT count(*) AS n FROM all_subject_keys').get()).toEqual({ n: 0 });
    db.close();
    deleteSecret('__derivation_key__');
    await expect(reopen()).resolves.toBeUndefined();
    const keys = new SqliteKeyStore(keysFile());
    expect([...(await keys.find(['__pepper__', '__derivation_key__'])).keys()].sort()).toEqual(['__derivation_key__', '__pepper__']);
    await keys.close();
  });
});
