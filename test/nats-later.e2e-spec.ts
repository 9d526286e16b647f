// NATS down when the API starts (probe 41 F5: the API exited 1 with a ConnectionError stack and served nothing, though
// NATS carries only integration events and message patterns): HTTP and TCP serve at once, and the message patterns
// over NATS are taken once NATS answers.
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../apps/api/src/config';
import { captureLogLines } from '../apps/api/src/shared/testing/log-capture';
import { SYSTEM_KEY, startTestApp } from './support/app';
import { freePort, natsBinary, startNats } from './support/nats';

const root = resolve(__dirname, '..');

if (natsBinary) {
  describe('NATS down at start', () => {
    const logs = captureLogLines();

    it('the API starts and serves HTTP; the message patterns over NATS are answered once NATS is up', async () => {
      const port = await freePort();
      const url = `nats://127.0.0.1:${port}`;
      const app = await startTestApp({ NATS_URL: url, LOG_LEVEL: 'warn' }, logs.stream);
      let nats: Awaited<ReturnType<typeof startNats>> | undefined;
      const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url], waitOnFirstConnect: true } });
      try {
        const health = await app.api.request('GET', '/health');
        expect(health.status).toBe(200);
        const org = await app.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } } });
        expect(org.status).toBe(201);
        // said once, naming the setting
        const deadline = Date.now() + 5_000;
        while (!logs.lines.some((l) => String(l.msg).includes('NATS_URL')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(logs.lines.find((l) => String(l.msg).includes('NATS_URL'))?.msg).toContain('does not answer yet');

        nats = await startNats([], port);
        // the API tries NATS every second: until it has subscribed, NATS answers "no responders" (nothing ran)
        const send = () => lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Beta', admin: { email: 'bo@beta.test', displayName: 'Bo' } }));
        let answer: { organizationId?: unknown } | undefined;
        for (const deadline = Date.now() + 10_000; answer === undefined && Date.now() < deadline; )
          answer = await send().catch(async (error: Error) => {
            if (!/no subscribers|Empty response/i.test(error.message)) throw error;
            await new Promise((r) => setTimeout(r, 200));
            return undefined;
          });
        expect(answer?.organizationId).toEqual(expect.any(String));
      } finally {
        await client.close();
        await app.stop();
        nats?.process.kill();
      }
    }, 30_000);

    it('NATS up but refusing its credentials: the API does not start, exit 78 with one sentence naming NATS_URL, without the password (probe 41b F5)', async () => {
      const port = await freePort();
      const nats = await startNats(['--user', 'rc', '--pass', 'right'], port);
      const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-nats-auth-'));
      try {
        // the API's own entry point, as an operator starts it (its exit code is the point)
        const started = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/api/src/main.ts')], {
          cwd: root,
          env: { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY, PORT: '0', ROLLCALL_TCP_PORT: '0', LOG_LEVEL: 'silent', NATS_URL: `nats://rc:wrong-secret@127.0.0.1:${port}` },
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect({ code: started.status, said: started.stderr.includes(`NATS_URL nats://127.0.0.1:${port}: NATS refused this process`) }).toEqual({ code: 78, said: true });
        expect(started.stderr).not.toContain('wrong-secret');
      } finally {
        nats.process.kill();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 60_000);

    it("NATS with a user and password: NATS_URL's credentials are used, the patterns answered and the events published (probe 54 F4: the client ignored them)", async () => {
      const port = await freePort();
      const nats = await startNats(['--user', 'rc', '--pass', 'p@ss/word'], port);
      const app = await startTestApp({ NATS_URL: `nats://rc:${encodeURIComponent('p@ss/word')}@127.0.0.1:${port}`, LOG_LEVEL: 'warn' });
      const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [`nats://127.0.0.1:${port}`], user: 'rc', pass: 'p@ss/word' } });
      try {
        const events: string[] = [];
        const created = lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Gamma', admin: { email: 'gi@gamma.test', displayName: 'Gi' } }));
        expect((await created).organizationId).toEqual(expect.any(String));
        // and the integration events reach NATS under the same credentials (the publisher's own client)
        const subscriber = await (client as unknown as { connect(): Promise<{ subscribe(subject: string, o: { callback(e: unknown, m: { subject: string }): void }): void }> }).connect();
        subscriber.subscribe('rollcall.events.>', { callback: (_e, m) => events.push(m.subject) });
        await lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Delta', admin: { email: 'di@delta.test', displayName: 'Di' } }));
        for (const deadline = Date.now() + 10_000; !events.includes('rollcall.events.OrganizationCreated') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        expect(events).toContain('rollcall.events.OrganizationCreated');
      } finally {
        await client.close();
        await app.stop();
        nats.process.kill();
      }
    }, 60_000);

    it('probe 55 F4: a NATS server that stalls (SIGSTOP) does not take the checkpoint past what it never confirmed; what was published meanwhile reaches a subscriber once it answers', async () => {
      const nats = await startNats();
      const app = await startTestApp({ NATS_URL: nats.url, LOG_LEVEL: 'error' });
      const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [nats.url] } });
      const health = async () => (await app.api.request('GET', '/health')).body.info.integrationEvents;
      try {
        const got: number[] = [];
        const subscriber = await (client as unknown as { connect(): Promise<{ subscribe(subject: string, o: { callback(e: unknown, m: { json(): { data: { position: string } } }): void }): void; flush(): Promise<void> }> }).connect();
        subscriber.subscribe('rollcall.events.>', { callback: (_e, m) => got.push(Number(m.json().data.position)) });
        await subscriber.flush();
        await app.api.organization();
        for (const deadline = Date.now() + 10_000; (await health()).behind !== 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        const before = (await health()).checkpoint as string;
        nats.process.kill('SIGSTOP');
        try {
          const stalled = await app.api.organization();
          expect(stalled.organizationId).toEqual(expect.any(String));
          await new Promise((r) => setTimeout(r, 1_500));
          // still at or before the first event the server did not confirm, and /health says it is behind
          const during = await health();
          expect(BigInt(during.checkpoint)).toBe(BigInt(before));
          expect(during.behind).toBeGreaterThan(0);
        } finally {
          nats.process.kill('SIGCONT');
        }
        const head = Number((await app.api.request('GET', '/v1/events?limit=1000', { key: SYSTEM_KEY })).body.head);
        for (const deadline = Date.now() + 15_000; !got.includes(head) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        // every event of the second organization reached the subscriber (some may come twice: consumers dedupe)
        const after = Number(before);
        const pushed = (await app.api.request('GET', `/v1/events?after=${after}&limit=1000`, { key: SYSTEM_KEY })).body.items.map((e: { position: string }) => Number(e.position));
        expect(pushed.length).toBeGreaterThan(0);
        for (const position of pushed) expect(got).toContain(position);
        // the checkpoint moves once the server confirmed the batch (a flush, then a turn of the loop for a refusal to
        // arrive: nats-publish-refusals.ts), which may come after the subscriber got it (CI 210, under load: behind 3)
        for (const deadline = Date.now() + 10_000; (await health()).behind !== 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        expect((await health()).behind).toBe(0);
      } finally {
        await client.close();
        await app.stop();
        nats.process.kill();
      }
    }, 60_000);
  });
} else {
  describe('NATS down at start', () => {
    it('nats-server is not installed here (apt-get install nats-server to run this test); a NATS_URL with credentials is still read', () => {
      expect(loadConfig({ NATS_URL: 'nats://rc:p%40ss@127.0.0.1:4222' }).natsUrl).toBe('nats://rc:p%40ss@127.0.0.1:4222');
    });
  });
}

