// The @event-driven-io/emmett-sqlite side of bench/append.ts.
//
// emmett-sqlite runs on the native `sqlite3` package. package.json denies sqlite3's install script
// (allowScripts: false) because that script first tries to download a prebuilt binary from outside the
// npm registry; so `npm ci` leaves sqlite3 unbuilt and this module builds it from its bundled sources
// with node-gyp the first time the benchmark needs it (about a minute on 2 cores; Node-API, so headers
// of any Node version work: npm's `nodedir` setting is passed through by `npm run`). When that is not
// possible the benchmark reports emmettEventsPerSec: null with the reason.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NewEvent } from '@rollcall/event-store';
import type { Workload } from './append-workload';

type EmmettSqlite = typeof import('@event-driven-io/emmett-sqlite');

function loadEmmett(): EmmettSqlite {
  return require('@event-driven-io/emmett-sqlite') as EmmettSqlite;
}

/** Loads emmett-sqlite, building sqlite3's native binding first if it is missing. */
export function loadEmmettBuildingSqlite3(log: (line: string) => void): EmmettSqlite {
  try {
    return loadEmmett();
  } catch (error) {
    if (!/bindings file|node_sqlite3\.node|Could not locate/i.test(String(error))) throw error;
  }
  const sqlite3Dir = dirname(require.resolve('sqlite3/package.json'));
  const nodeGyp = process.env.npm_config_node_gyp ?? require.resolve('node-gyp/bin/node-gyp.js');
  log(`building sqlite3's native binding from source in ${sqlite3Dir} (once; about a minute)…`);
  const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs=max'], {
    cwd: sqlite3Dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (build.status !== 0) {
    const tail = (build.stderr ?? String(build.error)).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`sqlite3 native build failed (node-gyp exit ${build.status}): ${tail}`);
  }
  for (const key of Object.keys(require.cache))
    if (key.includes(join('node_modules', 'sqlite3'))) delete require.cache[key];
  return loadEmmett();
}

/**
 * The same workload (writers, streams, events) against emmett-sqlite, stopping after `budgetMs` (its
 * rate is steady, so a shorter run measures the same thing and keeps the benchmark short).
 *
 * One emmett SQLite event store opens a connection per operation and closes it when the operation
 * ends, sharing it with whatever else is running: concurrent appends on one store fail with
 * SQLITE_MISUSE ("Database is closed") and SQLITE_BUSY. So the 64 writers' appends go through one
 * queue: each append is its own BEGIN IMMEDIATE … COMMIT, with SQLite's default synchronous=FULL in
 * WAL mode (checked below), which is emmett-sqlite's own way to write. Each append carries the
 * stream's expected version, as the adapter's do.
 */
export async function runEmmett(
  emmett: EmmettSqlite,
  file: string,
  workload: Workload,
  budgetMs: number,
): Promise<{ events: number; seconds: number; retries: number; synchronous: unknown }> {
  const store = emmett.getSQLiteEventStore({ fileName: file });
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const version = new Map<string, bigint>();
  let done = 0;
  let retries = 0;
  const append = async (stream: string, event: NewEvent): Promise<bigint> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await serial(() =>
          store.appendToStream(
            stream,
            [{ type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata }],
            { expectedStreamVersion: version.get(stream) ?? 0n },
          ),
        );
        return result.nextExpectedStreamVersion;
      } catch (error) {
        // emmett-sqlite 0.38.5 now and then fails its COMMIT with "SQLITE_BUSY: cannot commit transaction -
        // SQL statements in progress" (its INSERT … RETURNING statement is finalised asynchronously) and
        // rolls back: the append did not happen, and a caller would retry it.
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt === 5) throw error;
        retries++;
      }
    }
  };
  // emmett logs every failed transaction with console.log; keep the benchmark's output readable
  const consoleLog = console.log;
  console.log = () => undefined;
  const deadline = performance.now() + budgetMs;
  const started = performance.now();
  let seconds: number;
  try {
    await workload.run(async (stream, event) => {
      if (performance.now() > deadline) return false;
      version.set(stream, await append(stream, event));
      done++;
      return true;
    });
    seconds = (performance.now() - started) / 1000;
  } finally {
    console.log = consoleLog;
    await serial(async () => undefined);
    await sleep(200); // emmett closes its connections without waiting for them: let them close before the files go
  }
  const synchronous = await pragma(file, 'synchronous');
  return { events: done, seconds, retries, synchronous };
}

/** a PRAGMA as emmett's sqlite3 connections see it (compile-time defaults of the bundled SQLite) */
async function pragma(file: string, name: string): Promise<unknown> {
  const sqlite3 = require('sqlite3') as typeof import('sqlite3');
  const db = new sqlite3.Database(file);
  try {
    return await new Promise((resolve, reject) =>
      db.get(`PRAGMA ${name}`, (error: Error | null, row: Record<string, unknown>) =>
        error ? reject(error) : resolve(row[name]),
      ),
    );
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}
