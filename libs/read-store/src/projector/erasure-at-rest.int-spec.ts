import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PROJECTIONS } from '../projections';
import { LogScenario } from '../projections/testing/scenario';
import { spelledBySegments } from '../store/testing/fts5-segments';
import { fileHolds, plantInPageGap } from '../store/testing/page-gaps';
import { Projector } from './projector';
import { rebuild } from './rebuild';
import { TempStores } from './testing/temp-stores';

const silent = { info: () => undefined, error: () => undefined };
const MEMBERS = 1000;

/** letters derived from `seed`: names and addresses no other member shares, nor a substring of theirs */
const letters = (seed: string, n: number) =>
  Array.from(createHash('sha256').update(seed).digest().subarray(0, n), (b) => String.fromCharCode(97 + (b % 26))).join('');

/** MEMBERS accepted members of ws-1 (their ids prefixed `prefix`), in a log and a read store rebuilt from it */
/** `deleting`: how many of the users are deleted before the rebuild (which leaves their rewrite to the next start) */
async function rebuiltMembers(prefix: string, deleting = 0) {
  const s = new LogScenario();
  const users = Array.from({ length: MEMBERS }, (_, i) => ({
    id: `${prefix}${i}`,
    email: `${letters(`${prefix}e${i}`, 6 + (i % 7))}.${letters(`${prefix}f${i}`, 5)}${i}@acme.test`,
    name: `N${letters(`${prefix}n${i}`, 7)} Q${letters(`${prefix}m${i}`, 8)}`,
  }));
  for (const u of users) s.accept(s.invite(u.email), u.id, 'ws-1', u.name);
  for (const u of users.slice(0, deleting)) s.deleteUser(u.id);
  const stores = new TempStores();
  await stores.append(s.log.takeAppends());
  const store = stores.readStore();
  // the indexes and search rows are built by the bulk load's writer thread (its own connection), the members in large
  // segments (small ones are merged, their tombstones dropped, sooner)
  await rebuild(stores.events, store, PROJECTIONS, { logger: silent });
  return { s, users, stores, store };
}

/**
 * The store with its purges held until `open()`: `started()` waits (up to 10 s) until one began and says how many did.
 * (A purge at start of a large file takes seconds: the tests look at what is true meanwhile.)
 */
function heldPurges<S extends { purgeOldVersions(through?: bigint): Promise<boolean> }>(store: S) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let count = 0;
  const held = new Proxy(store, {
    get: (target, name) => (name === 'purgeOldVersions' ? async (through?: bigint) => (count++, await gate, target.purgeOldVersions(through)) : Reflect.get(target, name, target)),
  });
  const started = async () => {
    for (const deadline = Date.now() + 10_000; count === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    return count;
  };
  return { held, open, started, calls: () => count };
}

describe('rule 12 at rest, with the SQLite read store (docs/rules.md#rule-12)', () => {
  it('rule 12: at rest after a rebuild, no page of read.sqlite holds a deleted user\'s address or lower-cased name, and the trigram index cannot spell them', async () => {
    const { s, users, stores, store } = await rebuiltMembers('u');
    try {
      const projector = new Projector({ eventStore: stores.events, readStore: store, projections: PROJECTIONS, logger: silent });
      await projector.start();
      // every 10th user: some sit in the first leaf of each b-tree, some in every segment of the trigram index
      const deleted = users.filter((_, i) => i % 10 === 1);
      try {
        for (const u of deleted) s.deleteUser(u.id);
        await stores.append(s.log.takeAppends());
        expect(await projector.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
      } finally {
        await projector.stop();
      }
      await store.close();

      const file = join(stores.dir, 'read.sqlite');
      const bytes = readFileSync(file).toString('latin1');
      // (the tests' stand-in subject ids are the address in clear, `a:org-1:<address>`, where the app's are HMACs)
      const inClear = (secret: string) => {
        for (let at = bytes.indexOf(secret); at >= 0; at = bytes.indexOf(secret, at + 1))
          if (!bytes.slice(at - 8, at).endsWith('a:org-1:')) return true;
        return false;
      };
      expect(deleted.flatMap((u) => [u.email, u.name, u.name.toLowerCase()]).filter(inClear)).toEqual([]);

      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const spelled = spelledBySegments(db, 'rs_trigram_members:');
        const rids = db.prepare('SELECT rid, id FROM rs_doc_members WHERE doc IS NULL').all() as { rid: number; id: string }[];
        expect(rids).toHaveLength(deleted.length);
        // the decoding holds: a living member's text is spelled in full
        const living = db.prepare('SELECT rid, searchText FROM rs_search_members LIMIT 1 OFFSET 5').get() as { rid: number; searchText: string };
        expect(spelled.get(BigInt(living.rid))).toBe(living.searchText);
        expect(rids.filter((r) => spelled.has(BigInt(r.rid))).map((r) => `${r.id}: ${spelled.get(BigInt(r.rid))}`)).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      await stores.close();
    }
  }, 60_000);

  it('rule 12: a copy of a deleted user\'s data that a page split left in a page\'s unused space is gone once the deletion is projected (probe 32)', async () => {
    const { s, users, stores, store } = await rebuiltMembers('g');
    const file = join(stores.dir, 'read.sqlite');
    const [gone, kept] = [users[7]!, users[8]!];
    // (the address alone is in the file as the tests' stand-in subject id, `a:org-1:<address>`: the copy is looked for)
    const copy = `"email":"${gone.email}"`;
    await store.close();
    // what SQLite leaves behind when a page splits (probe 32 found it in the history's first leaf)
    plantInPageGap(file, 'rs_doc_permission_history', copy);
    const reopened = stores.readStore();
    const projector = new Projector({ eventStore: stores.events, readStore: reopened, projections: PROJECTIONS, logger: silent });
    try {
      await projector.start();
      // no deletion in the log: the start does not rewrite the file
      expect(fileHolds(readFileSync(file), copy)).toBe(true);
      s.deleteUser(gone.id);
      await stores.append(s.log.takeAppends());
      expect(await projector.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
    } finally {
      await projector.stop();
      await reopened.close();
    }
    try {
      const bytes = readFileSync(file);
      expect(fileHolds(bytes, copy)).toBe(false);
      // every page written anew, the living members' rows with them
      const db = new DatabaseSync(file, { readOnly: true });
      expect(db.prepare("SELECT count(*) AS n FROM rs_doc_members WHERE doc IS NOT NULL AND json_extract(doc, '$.email') = ?").get(kept.email)).toEqual({ n: 1 });
      db.close();
    } finally {
      await stores.close();
    }
  }, 60_000);

  it('rule 12: a deletion projected within ROLLCALL_ERASURE_REWRITE_SECONDS of the last rewrite is rewritten for when that interval ends, not before (ADR 0029)', async () => {
    const { s, users, stores, store } = await rebuiltMembers('h');
    await store.close();
    const reopened = stores.readStore();
    const rewrites: (bigint | undefined)[] = [];
    const counted = new Proxy(reopened, {
      get: (target, name) =>
        name === 'purgeOldVersions' ? (through?: bigint) => (through !== undefined && rewrites.push(through), target.purgeOldVersions(through)) : Reflect.get(target, name, target),
    });
    const projector = new Projector({ eventStore: stores.events, readStore: counted, projections: PROJECTIONS, logger: silent, erasureRewriteMinIntervalMs: 4_000 });
    try {
      await projector.start();
      const deleted = async (id: string) => {
        s.deleteUser(id);
        await stores.append(s.log.takeAppends());
        const at = await stores.events.headPosition();
        expect(await projector.waitFor(at, 30_000)).toBe(true);
        return at;
      };
      const first = await deleted(users[3]!.id);
      // the first after a start: at once
      expect(rewrites).toEqual([first]);
      const second = await deleted(users[4]!.id);
      expect(rewrites).toEqual([first]);
      expect(await reopened.erasuresPurgedThrough()).toBe(first);
      // its rows' old versions are gone from the file at once all the same (probe 61 F1: until the rewrite, the pages
      // as they were before the deletion stayed in read.sqlite, the zeroed ones only in the WAL)
      const file = join(stores.dir, 'read.sqlite');
      const inClear = (secret: string) => {
        const bytes = readFileSync(file).toString('latin1');
        for (let at = bytes.indexOf(secret); at >= 0; at = bytes.indexOf(secret, at + 1)) if (!bytes.slice(at - 8, at).endsWith('a:org-1:')) return true;
        return false;
      };
      const secrets = [users[4]!.email, users[4]!.name, users[4]!.name.toLowerCase()];
      for (const deadline = Date.now() + 1_500; secrets.some(inClear) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      expect(secrets.filter(inClear)).toEqual([]);
      expect(rewrites).toEqual([first]);
      for (const deadline = Date.now() + 10_000; rewrites.length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      expect(rewrites).toEqual([first, second]);
      expect(await reopened.erasuresPurgedThrough()).toBe(second);
    } finally {
      await projector.stop();
      await reopened.close();
      await stores.close();
    }
  }, 60_000);

  it('rule 12: a deletion projected by a process that died before rewriting the file is rewritten for when the projector starts again (probe 32)', async () => {
    const { s, users, stores, store } = await rebuiltMembers('h');
    const file = join(stores.dir, 'read.sqlite');
    const gone = users[5]!;
    const copy = `"email":"${gone.email}"`;
    try {
      const crashing = new Proxy(store, { get: (target, name) => (name === 'purgeOldVersions' ? undefined : Reflect.get(target, name, target)) });
      const first = new Projector({ eventStore: stores.events, readStore: crashing, projections: PROJECTIONS, logger: silent });
      await first.start();
      s.deleteUser(gone.id);
      await stores.append(s.log.takeAppends());
      expect(await first.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
      await first.stop();
    } finally {
      await store.close();
    }
    plantInPageGap(file, 'rs_doc_permission_history', copy);
    expect(fileHolds(readFileSync(file), copy)).toBe(true);
    const reopened = stores.readStore();
    const second = new Projector({ eventStore: stores.events, readStore: reopened, projections: PROJECTIONS, logger: silent });
    try {
      await second.start();
      await second.stop();
      await reopened.close();
      expect(fileHolds(readFileSync(file), copy)).toBe(false);
    } finally {
      await stores.close();
    }
  }, 60_000);

  it('rule 12: a deletion projected just before a crash, its purge not run, is purged when the projector starts again', async () => {
    const { s, users, stores, store } = await rebuiltMembers('c');
    try {
      // the process that projects the deletion dies before its purge: a store whose purge never runs stands for it
      const crashing = new Proxy(store, { get: (target, name) => (name === 'purgeOldVersions' ? undefined : Reflect.get(target, name, target)) });
      const first = new Projector({ eventStore: stores.events, readStore: crashing, projections: PROJECTIONS, logger: silent });
      await first.start();
      const deleted = users.filter((_, i) => i % 10 === 3);
      for (const u of deleted) s.deleteUser(u.id);
      await stores.append(s.log.takeAppends());
      expect(await first.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
      await first.stop();
      const file = join(stores.dir, 'read.sqlite');
      const spelledDeleted = () => {
        const db = new DatabaseSync(file, { readOnly: true });
        try {
          const spelled = spelledBySegments(db, 'rs_trigram_members:');
          // the rows deleted: the deleted members', and the invitations' their acceptances removed
          const rids = db.prepare('SELECT rid FROM rs_doc_members WHERE doc IS NULL').all() as { rid: number }[];
          expect(rids.length).toBeGreaterThanOrEqual(deleted.length);
          return rids.filter((r) => spelled.has(BigInt(r.rid))).length;
        } finally {
          db.close();
        }
      };
      // the trigrams are there, tombstoned (what the purge is for)
      expect(spelledDeleted()).toBeGreaterThan(0);
      const second = new Projector({ eventStore: stores.events, readStore: store, projections: PROJECTIONS, logger: silent });
      await second.start();
      await second.stop();
      expect(spelledDeleted()).toBe(0);
      await store.close();
    } finally {
      await stores.close();
    }
  }, 60_000);

  it('the purge at start does not hold the projector\'s start: start resolves while it runs (an API listens meanwhile: probe 42 F4), and projecting follows it', async () => {
    // a deletion in the log that no rewrite was recorded for (the rebuild records none): the start owes one
    const { s, users, stores, store } = await rebuiltMembers('p', 1);
    // a VACUUM of a large file, held until the test lets it go
    const { held: slow, open, started } = heldPurges(store);
    const projector = new Projector({ eventStore: stores.events, readStore: slow, projections: PROJECTIONS, logger: silent });
    try {
      // (before this, start waited for the purge: it never resolved here)
      await projector.start();
      expect(await started()).toBe(1);
      // named while it runs (probe 42b F6), not after
      expect(projector.status().every((p) => p.purging === true)).toBe(true);
      s.deleteUser(users[3]!.id);
      await stores.append(s.log.takeAppends());
      const head = await stores.events.headPosition();
      // not projected while the purge runs
      expect(await projector.waitFor(head, 300)).toBe(false);
      open();
      expect(await projector.waitFor(head, 30_000)).toBe(true);
      expect(projector.status().some((p) => p.purging)).toBe(false);
    } finally {
      open();
      await projector.stop();
      await store.close();
      await stores.close();
    }
  }, 60_000);

  it('a start after the rewrite was done names no purge and runs none (probe 43 F2: /health said a rewrite was being redone after every restart that followed deletions; session 56: the merge every start ran competed with a restarted server\'s first commands)', async () => {
    const { s, stores, store } = await rebuiltMembers('q', 1);
    try {
      // the first start rewrites for the deletion and records it
      const first = new Projector({ eventStore: stores.events, readStore: store, projections: PROJECTIONS, logger: silent });
      await first.start();
      expect(await first.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
      for (const deadline = Date.now() + 10_000; (await store.erasuresPurgedThrough()) < 0n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      expect(await store.erasuresPurgedThrough()).toBeGreaterThan(-1n);
      // ordinary changes afterwards leave search segments for the next start's merge
      s.accept(s.invite('later@acme.test'), 'q-later', 'ws-1', 'Later One');
      await stores.append(s.log.takeAppends());
      expect(await first.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
      await first.stop();

      const { held, open, calls } = heldPurges(store);
      const second = new Projector({ eventStore: stores.events, readStore: held, projections: PROJECTIONS, logger: silent });
      try {
        await second.start();
        // no deletion since the one purged for: nothing is purged, nothing named
        expect(await second.waitFor(await stores.events.headPosition(), 30_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
        expect(calls()).toBe(0);
        expect(second.status().some((p) => p.purging)).toBe(false);
      } finally {
        open();
        await second.stop();
      }
    } finally {
      await store.close();
      await stores.close();
    }
  }, 60_000);
});
