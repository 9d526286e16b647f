/**
 * Rough timings of the SQLite ReadStore (never asserted by tests):
 *   npm run bench:read-store            (100,000 member documents; BENCH_DOCS=... to change)
 * Prints: bulk load after reset (the rebuild path), index build, commit of 1000 upserts (new, and updates of
 * random existing documents), and p50/p95 of typical member-list queries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc, DocWrite, Query } from '../../port';
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
];

function member(i: number, version = 0): Doc {
  const name = `${FIRST[i % 20]} ${LAST[(i * 7) % 20]} ${(i * 7919) % 100_000}`;
  return {
    _id: `user-${(i * 2654435761) % 4294967296}-${i}`,
    orgId: `org-${i % 10}`,
    workspaceIds: [`ws-${i % 100}`, `ws-${(i * 3) % 100}`],
    name,
    email: `${name.toLowerCase().replace(/ /g, '.')}@example.com`,
    status: i % 3 === 0 ? 'invited' : 'active',
    roles: i % 50 === 0 ? ['owner', 'member'] : ['member'],
    createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    version,
  };
}

function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  return fn().then((result) => [performance.now() - start, result]);
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
  console.log(`${label.padEnd(48)} p50 ${p(0.5)} ms  p95 ${p(0.95)} ms  (${items} items)`);
  if (process.env.BENCH_EXPLAIN) console.log(`    plan: ${store.explainFind('members', query).join(' | ')}`);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'read-store-bench-'));
  const store = new SqliteReadStore({ path: join(dir, 'read.sqlite') });
  try {
    await store.init({
      members: {
        indexes: ['orgId', 'workspaceIds', 'name', 'email', 'status', 'roles', 'createdAt'],
        search: ['name', 'email'],
      },
    });
    let position = 0n;
    const batch = (docs: Doc[]): DocWrite[] =>
      docs.map((doc) => ({ kind: 'upsert', collection: 'members', doc, position: ++position }));

    await store.reset('members', ['members']);
    const [load] = await time(async () => {
      for (let start = 0; start < TOTAL; start += 1000) {
        await store.commit(
          'members',
          batch(Array.from({ length: Math.min(1000, TOTAL - start) }, (_, k) => member(start + k))),
          position,
        );
      }
    });
    console.log(
      `rebuild path: ${TOTAL} upserts after reset in ${load.toFixed(0)} ms (${Math.round(TOTAL / (load / 1000))}/s)`,
    );
    const [build] = await time(() => store.buildIndexes());
    console.log(`index + search build: ${build.toFixed(0)} ms`);

    const times = { fresh: [] as number[], updates: [] as number[] };
    for (let round = 0; round < 10; round++) {
      const fresh = batch(Array.from({ length: 1000 }, (_, k) => member(TOTAL + round * 1000 + k)));
      times.fresh.push((await time(() => store.commit('members', fresh, position)))[0]);
      const updates = batch(
        Array.from({ length: 1000 }, (_, k) => member(((round * 1000 + k) * 7919) % TOTAL, round + 1)),
      );
      times.updates.push((await time(() => store.commit('members', updates, position)))[0]);
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1].toFixed(1);
    console.log(
      `commit 1000 upserts, indexed: new docs median ${median(times.fresh)} ms, random updates median ${median(times.updates)} ms`,
    );

    const sort = { field: 'name', direction: 'asc' } as const;
    await percentiles('list org, sorted by name', store, { where: { orgId: 'org-3' }, sort });
    await percentiles('list workspace (array field), sorted by name', store, {
      where: { workspaceIds: 'ws-42' },
      sort,
    });
    await percentiles('search rare "kowalski 123" (name, email)', store, {
      search: { text: 'kowalski 123', fields: ['name', 'email'] },
      sort,
    });
    await percentiles('search none "zzq" (name, email)', store, {
      search: { text: 'zzq', fields: ['name', 'email'] },
      sort,
    });
    await percentiles('search common "an" (name, email)', store, {
      search: { text: 'an', fields: ['name', 'email'] },
      sort,
    });
    await percentiles('search everything "@example" (name, email)', store, {
      search: { text: '@example', fields: ['name', 'email'] },
      sort,
    });
    await percentiles('org + search "müller"', store, {
      where: { orgId: 'org-3' },
      search: { text: 'müller', fields: ['name', 'email'] },
      sort,
    });
    await percentiles(
      'search undeclared field "invit" (status)',
      store,
      { search: { text: 'invit', fields: ['status'] }, sort },
      10,
    );
    const [countMs, n] = await time(() =>
      store.count('members', { where: { orgId: 'org-3' }, search: { text: 'an', fields: ['name'] } }),
    );
    console.log(`count org + search "an": ${n} in ${countMs.toFixed(2)} ms`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
