import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_KEY } from './support/api';
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

  it('answers requests it took before the signal, and each one answered 201 was done', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-shutdown-drain-'));
    try {
      const server = await startServer({ dataDir });
      const org = await server.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
      const { apiKey: key, adminUserId: admin, organizationId } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
      const ws = await server.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } });
      // 40 invitations on 40 connections, each sent whole before the signal (and given time to be read)
      const sent = Array.from({ length: 40 }, (_, i) => {
        const body = JSON.stringify({ email: `drain-${i}@acme.test` });
        let flushed!: () => void;
        const written = new Promise<void>((r) => (flushed = r));
        const answer = new Promise<number | string>((resolve) => {
          const req = httpRequest(
            `${server.url}/v1/workspaces/${ws.body.workspaceId}/invitations`,
            {
              method: 'POST',
              agent: false,
              headers: { authorization: `Bearer ${key}`, 'x-actor-id': admin, 'content-type': 'application/json', 'idempotency-key': `drain-${i}`, 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            },
          );
          req.on('error', (error: NodeJS.ErrnoException) => resolve(String(error.code)));
          req.on('finish', flushed);
          req.end(body);
        });
        return { written, answer };
      });
      await Promise.all(sent.map((s) => s.written));
      await new Promise((r) => setTimeout(r, 100));
      const stopped = server.stop(20_000);
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(await stopped).toBe('SIGTERM');
      // Which connections the server had taken when the signal came cannot be told from here: those still in the
      // listen backlog (a busy CI machine) are reset, and that is all a reset may be. What was answered 201 is in the
      // log (checked after a restart); a connection refused or reset wrote nothing half.
      expect(answers.every((a) => a === 201 || a === 'ECONNRESET' || a === 'ECONNREFUSED' || (typeof a === 'number' && a >= 400))).toBe(true);
      const done = answers.flatMap((a, i) => (a === 201 ? [i] : []));
      expect(done.length).toBeGreaterThan(0);
      const again = await startServer({ dataDir });
      try {
        for (const i of done) {
          const replay = await again.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, {
            key,
            actor: admin,
            body: { email: `drain-${i}@acme.test` },
            headers: { 'Idempotency-Key': `drain-${i}` },
          });
          expect({ i, status: replay.status, replayed: replay.headers.get('idempotency-replayed') }).toEqual({ i, status: 201, replayed: 'true' });
        }
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('with ROLLCALL_SHUTDOWN_GRACE_MS, /health answers 503 SHUTTING_DOWN after the signal while every other request is still answered; then it stops', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-shutdown-grace-'));
    try {
      const server = await startServer({ dataDir, env: { ROLLCALL_SHUTDOWN_GRACE_MS: '3000' } });
      const before = await server.api.request('GET', '/health');
      expect([before.status, before.headers.get('connection')]).toEqual([200, 'keep-alive']);
      const org = await server.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
      const { apiKey: key, adminUserId: admin, organizationId } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
      const signalled = Date.now();
      const stopped = server.stop(20_000);
      // the signal reaches the process asynchronously: /health says so once it has
      let health = await server.api.request('GET', '/health');
      while (health.status === 200 && Date.now() - signalled < 2_000) health = await server.api.request('GET', '/health');
      expect([health.status, health.body]).toEqual([503, expect.objectContaining({ code: 'SHUTTING_DOWN' })]);
      // a new connection is still taken and a write still done; every answer now closes its connection (no request of
      // the client's is written on a kept-alive one that the drain closes under it)
      const create = { key, actor: admin, body: { name: 'Support' }, headers: { 'Idempotency-Key': 'ws-during-grace' } };
      const ws = await server.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, create);
      expect(ws.status).toBe(201);
      expect([health.headers.get('connection'), ws.headers.get('connection')]).toEqual(['close', 'close']);
      expect(await stopped).toBe('SIGTERM');
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(3_000);
      // an expected answer: not an error line (the server logs errors only here)
      expect(server.output()).not.toMatch(/"url":"\/health"[^\n]*"status":503/);
      const again = await startServer({ dataDir });
      try {
        // it was done: the same key answers the same workspace, from the log
        const replay = await again.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, create);
        expect([replay.status, replay.body, replay.headers.get('idempotency-replayed')]).toEqual([201, ws.body, 'true']);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
