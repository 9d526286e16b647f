/**
 * Rough timings of the SQLite ReadStore (never asserted by tests):
 *   npm run bench:read-store        (100,000 member documents; BENCH_DOCS=..., BENCH_EXPLAIN=1 for query plans)
 * A members collection shaped like the app's (one document per workspace membership): half of the documents in
 * one big workspace, the rest spread over 500 small ones. Prints the rebuild path (bulk load after reset, then
 * index build), commits of 1000 upserts into the indexed collection, and p50/p95 of list and search queries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectionSpec, Doc, DocWrite, Query } from '../../port';
import { SqliteReadStore } from '../sqlite-read-store';

const TOTAL = Number(process.env.BENCH_DOCS ?? 100_000);
const FIRST = [
  'Anna',
  'Bob',
  'Carla',
  'Dmitri',
  'Émile',
  'Fatima',
  'George',
  'Hana',
  'Ivan',
  'Julia',
  'Ken',
  'Lena',
  'Mohammed',
  'Nina',
  'Oscar',
  'Paula',
  'Quentin',
  'Rosa',
  'Sven',
  'Tanja',
  'Ulla',
  'Viktor',
  'Wanda',
];
const LAST = [
  'Smith',
  'Müller',
  'Garcia',
  'Kowalski',
  'Nguyen',
  'Rossi',
  'Dubois',
  'Jansen',
  'Silva',
  'Kim',
  'Ivanov',
  'Cohen',
  'Hansen',
  'Martin',
  'Lopez',
  'Brown',
  'Wang',
  'Sato',
  'Novak',
  'Berg',
  'Okafor',
];

const MEMBERS: CollectionSpec = {
  indexes: [
    'workspaceId',
    'status',
    'roles',
    'teamIds',
    'presence',
    'sortName',
    'email',
    'lastSeenAt',
    'joinedAt',
    'userId',
  ],
  search: ['email', 'displayName', 'alias'],
  compound: [
    ['workspaceId', 'sortName'],
    ['workspaceId', 'lastSeenAt'],
  ],
};

/** a pseudo-random but reproducible integer in [0, n) */
const pick = (i: number, salt: number, n: number) =>
  Math.floor(((((Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453) % 1) + 1) % 1) * n);

function member(i: number, version = 0): Doc {
  const displayName = `${FIRST[pick(i, 1, FIRST.length)]} ${LAST[pick(i, 2, LAST.length)]}${pick(i, 3, 1000)}`;
  const email = `${displayName.toLowerCase().replace(/ /g, '.')}.${i}@example.com`;
  return {
    _id: `ws-${i % 2 === 0 ? 0 : pick(i, 4, 500) + 1}:user-${i}`,
    workspaceId: `ws-${i % 2 === 0 ? 0 : pick(i, 4, 500) + 1}`,
    userId: `user-${i}`,
    displayName,
    alias: pick(i, 5, 4) === 0 ? `al${i}` : null,
    email,
    sortName: displayName.toLowerCase(),
    status: pick(i, 6, 20) === 0 ? 'revoked' : 'active',
    roles: pick(i, 7, 50) === 0 ? ['owner'] : ['agent'],
    teamIds: [`team-${pick(i, 8, 40)}`],
    presence: ['online', 'away', 'offline'][pick(i, 9, 3)],
    lastSeenAt: pick(i, 10, 10) === 0 ? null : new Date(1_700_000_000_000 + pick(i, 11, 1e9)).toISOString(),
    joinedAt: new Date(1_600_000_000_000 + i * 1000).toISOString(),
    version,
  };
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
}

async function percentiles(label: string, store: SqliteReadStore, query: Query, runs = 40) {
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < runs; i++) {
    const [ms, page] = await time(() => store.find('members', query));
    times.push(ms);
    items = page.items.length;
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  console.log(
    `${label.padEnd(52)} p50 ${p(0.5).padStart(6)} ms  p95 ${p(0.95).padStart(6)} ms  (${items} items)`,
  );
  if (process.env.BENCH_EXPLAIN) console.log(`    plan: ${store.explainFind('members', query).join(' | ')}`);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'read-store-bench-'));
  const store = new SqliteReadStore({ path: join(dir, 'read.sqlite') });
  try {
    await store.init({ members: MEMBERS });
    let position = 0n;
    const batch = (docs: Doc[]): DocWrite[] =>
      docs.map((doc) => ({ kind: 'upsert', collection: 'members', doc, position: ++position }));

    await store.reset('members', ['members']);
    const [load] = await time(async () => {
      for (let start = 0; start < TOTAL; start += 1000) {
        const docs = Array.from({ length: Math.min(1000, TOTAL - start) }, (_, k) => member(start + k));
        await store.commit('members', batch(docs), position);
      }
    });
    const [build] = await time(() => store.buildIndexes());
    console.log(
      `rebuild path: ${TOTAL} upserts after reset ${load.toFixed(0)} ms (${Math.round(TOTAL / (load / 1000))}/s), ` +
        `then index + search build ${build.toFixed(0)} ms`,
    );

    const fresh: number[] = [];
    const updates: number[] = [];
    const small: number[] = [];
    for (let round = 0; round < 10; round++) {
      const created = batch(Array.from({ length: 1000 }, (_, k) => member(TOTAL + round * 1000 + k)));
      fresh.push((await time(() => store.commit('members', created, position)))[0]);
      const changed = batch(
        Array.from({ length: 1000 }, (_, k) => member(pick(round * 1000 + k, 12, TOTAL), round + 1)),
      );
      updates.push((await time(() => store.commit('members', changed, position)))[0]);
      const few = batch(
        Array.from({ length: 10 }, (_, k) => member(pick(round * 10 + k, 13, TOTAL), round + 20)),
      );
      small.push((await time(() => store.commit('members', few, position)))[0]);
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1].toFixed(1);
    console.log(
      `commit into the indexed collection: 1000 new docs ${median(fresh)} ms, 1000 random updates ${median(updates)} ms, ` +
        `10 random updates ${median(small)} ms (medians)`,
    );

    const byName = { field: 'sortName', direction: 'asc' } as const;
    const big = { workspaceId: 'ws-0' };
    const searchFields = ['email', 'displayName', 'alias'];
    await percentiles('big workspace (50%), by name', store, { where: big, sort: byName });
    await percentiles('big workspace, by name, page 3 (cursor)', store, {
      where: big,
      sort: byName,
      cursor: (await store.find('members', { where: big, sort: byName, limit: 100 })).nextCursor,
    });
    await percentiles('big workspace, by lastSeenAt desc', store, {
      where: big,
      sort: { field: 'lastSeenAt', direction: 'desc' },
    });
    await percentiles('big workspace, by email (no compound)', store, {
      where: big,
      sort: { field: 'email', direction: 'asc' },
    });
    await percentiles('small workspace, by name', store, { where: { workspaceId: 'ws-42' }, sort: byName });
    await percentiles('big workspace, revoked, by name', store, {
      where: { ...big, status: 'revoked' },
      sort: byName,
    });
    await percentiles('big workspace, role owner (array), by name', store, {
      where: { ...big, roles: 'owner' },
      sort: byName,
    });
    await percentiles('big workspace, team (array), by name', store, {
      where: { ...big, teamIds: 'team-7' },
      sort: byName,
    });
    await percentiles('big workspace, search rare "kowalski12"', store, {
      where: big,
      search: { text: 'kowalski12', fields: searchFields },
      sort: byName,
    });
    await percentiles('big workspace, search common "an"', store, {
      where: big,
      search: { text: 'an', fields: searchFields },
      sort: byName,
    });
    await percentiles('big workspace, search none "zzq"', store, {
      where: big,
      search: { text: 'zzq', fields: searchFields },
      sort: byName,
    });
    await percentiles('all docs, search rare "müller77"', store, {
      search: { text: 'müller77', fields: searchFields },
      sort: byName,
    });
    await percentiles('all docs, search "@example.com"', store, {
      search: { text: '@example.com', fields: searchFields },
      sort: byName,
    });
    await percentiles('all docs, search email "ivan.berg"', store, {
      search: { text: 'ivan.berg', fields: ['email'] },
      sort: byName,
    });
    const [countMs, n] = await time(() =>
      store.count('members', { where: big, search: { text: 'an', fields: searchFields } }),
    );
    console.log(`count big workspace + search "an": ${n} in ${countMs.toFixed(1)} ms`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
