import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_KEY } from './support/app';
import { startServer } from './support/server-process';

/**
 * A stopped API closes what it opened, last of all its event store: SQLite folds a file's WAL back into it and
 * removes it when its last connection closes, so a WAL left behind names a store some part of the process never
 * closed (before session 8 the event store was never closed, its commit thread's queue left to the exit, and the
 * audit tree's read-only connection closed last).
 */
describe('stopping the API (SIGTERM)', () => {
  it('closes the event store, its keys and the idempotency records after everything that may still write to them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-shutdown-'));
    try {
      const server = await startServer({ dataDir });
      const org = await server.api.request('POST', '/v1/organizations', {
        key: SYSTEM_KEY,
        body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } },
        headers: { 'Idempotency-Key': 'org-acme-1' },
      });
      expect(org.status).toBe(201);
      for (const file of ['events.sqlite-wal', 'keys.sqlite-wal', 'api.sqlite-wal']) expect(existsSync(join(dataDir, file))).toBe(true);

      expect(await server.stop(20_000)).toBe('SIGTERM'); // ended by the signal, as a stopped process is, not killed after the grace
      for (const file of ['events.sqlite-wal', 'keys.sqlite-wal', 'api.sqlite-wal', 'read.sqlite-wal', 'snapshots.sqlite-wal', 'audit.sqlite-wal'])
        expect({ file, left: existsSync(join(dataDir, file)) }).toEqual({ file, left: false });

      // and the data is all there for the next start: the same key answers the same organization
      const again = await startServer({ dataDir });
      try {
        const replay = await again.api.request('POST', '/v1/organizations', {
          key: SYSTEM_KEY,
          body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } },
          headers: { 'Idempotency-Key': 'org-acme-1' },
        });
        expect(replay.status).toBe(201);
        expect(replay.body).toEqual(org.body);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
