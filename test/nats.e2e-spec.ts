import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientProxyFactory, type ClientProxy, Transport } from '@nestjs/microservices';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { lastValueFrom } from 'rxjs';
import { loadConfig } from '../apps/api/src/config';
import { captureLogLines } from '../apps/api/src/shared/testing/log-capture';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';
import { natsBinary, startNats } from './support/nats';

if (natsBinary || process.env.NATS_URL) {
  describe('commands and integration events over NATS', () => {
    let nats: ChildProcess | undefined;
    let url: string;
    let app: TestApp;
    let client: ClientProxy;
    // the app's warnings and errors, one JSON line each
    const logs = captureLogLines();

    beforeAll(async () => {
      if (process.env.NATS_URL) url = process.env.NATS_URL;
      else {
        // a max_payload of 100 KiB (1 MiB by default): above the body limit, and an answer past it is cheap to make
        const conf = join(mkdtempSync(join(tmpdir(), 'rollcall-nats-')), 'nats.conf');
        writeFileSync(conf, 'max_payload: 102400\n');
        ({ url, process: nats } = await startNats(['-c', conf]));
      }
      // every event on the operator's subject and on its organization's (ROLLCALL_NATS_EVENT_SUBJECTS)
      app = await startTestApp({ NATS_URL: url, LOG_LEVEL: 'warn', ROLLCALL_NATS_EVENT_SUBJECTS: 'both' }, logs.stream);
      client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
      await client.connect();
    }, 20_000);
    afterAll(async () => {
      await client?.close();
      await app?.stop();
      nats?.kill();
    });

    it('accepts a command pattern and publishes rollcall.events.<Type>', async () => {
      const seen: string[] = [];
      const bodies: unknown[] = [];
      // a raw NATS subscriber, as a consumer in another language would be
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      const sub = nc.subscribe('rollcall.events.>');
      void (async () => {
        for await (const m of sub) {
          seen.push(m.subject);
          bodies.push(JSON.parse(new TextDecoder().decode(m.data)));
        }
      })();
      const org = await lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } }));
      expect(org.organizationId).toEqual(expect.any(String));
      const deadline = Date.now() + 5000;
      while (!seen.includes('rollcall.events.UserJoinedOrganization') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(expect.arrayContaining(['rollcall.events.OrganizationCreated', 'rollcall.events.UserJoinedOrganization']));
      // each message as the AsyncAPI document describes it: the envelope, the event in `data` (it described the bare
      // event, which no message matched: probe 13)
      const doc = (await app.api.request('GET', '/docs/asyncapi.json')).body;
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema({ components: doc.components }, 'doc');
      const validate = ajv.compile(JSON.parse(JSON.stringify(doc.components.messages.IntegrationEvent.payload).replaceAll('"#/components/', '"doc#/components/')));
      for (const [i, body] of bodies.entries()) {
        expect({ body, errors: validate(body) ? null : validate.errors }).toEqual({ body, errors: null });
        expect((body as { pattern: string }).pattern).toBe(seen[i]);
      }
      await nc.close();
    });

    it("ROLLCALL_NATS_EVENT_SUBJECTS=both: a subscriber to one organization's subjects gets its events and no other organization's, each following the one before it there", async () => {
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      const acme = await lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ops@acme.test', displayName: 'Ops' } }));
      const own: { subject: string; body: { pattern: string; data: { organizationId: string; type: string; position: string; previousPosition: string | null } } }[] = [];
      const sub = nc.subscribe(`rollcall.org.${acme.organizationId}.>`);
      void (async () => {
        for await (const m of sub) own.push({ subject: m.subject, body: JSON.parse(new TextDecoder().decode(m.data)) });
      })();
      await nc.flush();
      // another organization's events, between two of Acme's
      await lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Globex', admin: { email: 'ops@globex.test', displayName: 'Ops' } }));
      const workspace = await lastValueFrom(client.send('workspaces.create', { apiKey: acme.apiKey, actorId: acme.adminUserId, organizationId: acme.organizationId, name: 'Support' }));
      const deadline = Date.now() + 5000;
      while (!own.some((m) => m.body.data.type === 'WorkspaceCreated') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(own.map((m) => m.subject)).toEqual([`rollcall.org.${acme.organizationId}.events.WorkspaceCreated`]);
      const [created] = own;
      expect(created!.body.pattern).toBe(created!.subject);
      expect(created!.body.data).toMatchObject({ organizationId: acme.organizationId, type: 'WorkspaceCreated', data: expect.objectContaining({ workspaceId: workspace.workspaceId }) });
      // it follows Acme's last event before it (its admin joining), not Globex's in between
      const feed = (await app.api.request('GET', `/v1/organizations/${acme.organizationId}/events?limit=100`, { key: SYSTEM_KEY })).body as { items: { position: string; type: string }[] };
      const before = feed.items.filter((e) => BigInt(e.position) < BigInt(created!.body.data.position)).at(-1)!;
      expect(before.type).toBe('UserJoinedOrganization');
      expect(created!.body.data.previousPosition).toBe(before.position);
      await nc.close();
    });

    it('a request larger than the body limit is 413 PAYLOAD_TOO_LARGE, as over HTTP and TCP (probe 12)', async () => {
      const org = await lastValueFrom(client.send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } }));
      const base = { apiKey: org.apiKey, actorId: org.adminUserId };
      const ws = await lastValueFrom(client.send('workspaces.create', { ...base, organizationId: org.organizationId, name: 'S' }));
      await expect(lastValueFrom(client.send('teams.create', { ...base, workspaceId: ws.workspaceId, name: 'x'.repeat(70_000) }))).rejects.toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      await expect(lastValueFrom(client.send('teams.create', { ...base, workspaceId: ws.workspaceId, name: 'x'.repeat(1_000) }))).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    });

    it('a plain NATS request gets a reply: a payload without Nest\'s id is run as a request, one that is no JSON is 400 MALFORMED_JSON', async () => {
      // a console backend in another language: `request` on the pattern's subject, the pattern's message as the payload
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      const ask = async (subject: string, payload: string) => JSON.parse(new TextDecoder().decode((await nc.request(subject, payload, { timeout: 5_000 })).data));
      try {
        const created = await ask('organizations.create', JSON.stringify({ apiKey: SYSTEM_KEY, name: 'Plain', admin: { email: 'pia@plain.test', displayName: 'Pia' } }));
        expect(created).toMatchObject({ response: { organizationId: expect.any(String), adminUserId: expect.any(String) }, isDisposed: true });
        const { apiKey, adminUserId, organizationId } = created.response;
        const ws = await ask('workspaces.create', JSON.stringify({ apiKey, actorId: adminUserId, organizationId, name: 'Studio' }));
        expect(ws).toMatchObject({ response: { workspaceId: expect.any(String) } });
        // what it answered is what the HTTP API reads
        const read = { key: apiKey, actor: adminUserId, headers: { 'x-min-position': String(ws.response.position) } };
        expect((await app.api.request('GET', `/v1/workspaces/${ws.response.workspaceId}/members`, read)).status).toBe(200);
        // a refusal comes back as the same problem as over HTTP
        expect(await ask('workspaces.create', JSON.stringify({ apiKey, actorId: adminUserId, organizationId, name: '' }))).toMatchObject({ isDisposed: true, err: { status: 400, code: 'VALIDATION_FAILED' } });
        expect(await ask('workspaces.create', '{"apiKey": ')).toMatchObject({ isDisposed: true, err: { status: 400, code: 'MALFORMED_JSON' } });
        expect(await ask('workspaces.create', 'x'.repeat(70_000))).toMatchObject({ isDisposed: true, err: { status: 413, code: 'PAYLOAD_TOO_LARGE' } });
      } finally {
        await nc.close();
      }
    });

    it("an answer larger than the NATS server's max_payload is 422 ANSWER_TOO_LARGE, not silence until the timeout (probe 30 F2)", async () => {
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      try {
        const max = nc.info!.max_payload;
        const o = await app.api.organization();
        const as = { key: o.key, actor: o.admin };
        const team = (await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: 'Everyone' } })).body.teamId as string;
        // each invitee ~2 KB (a long avatar URL, within the documented limits): the lookup's answer outgrows max_payload
        const avatarUrl = `https://avatars.test/${'a'.repeat(2000)}`;
        let position = '0';
        for (let i = 0; i < Math.ceil(max / 2000) + 5; i++) {
          const user = await app.api.member({ ...as, workspaceId: o.workspaceId }, `big${i}@acme.test`);
          expect((await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${user}`, { ...as, body: { avatarUrl } })).status).toBe(200);
          position = (await app.api.request('PUT', `/v1/workspaces/${o.workspaceId}/teams/${team}/members/${user}`, as)).body.position as string;
        }
        const http = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams/${team}/invitees`, { ...as, headers: { 'x-min-position': position } });
        expect(http.status).toBe(200);
        expect(JSON.stringify(http.body).length).toBeGreaterThan(max);
        const asked = await nc.request('teams.invitees', JSON.stringify({ apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId, teamId: team }), { timeout: 5_000 });
        expect(JSON.parse(new TextDecoder().decode(asked.data))).toMatchObject({ isDisposed: true, err: { status: 422, code: 'ANSWER_TOO_LARGE' } });
        // and its log line says so (probe 30b F1: it said `status: 200`, "message teams.invitees ok")
        const logged = logs.lines.filter((l) => String(l.msg).startsWith('message teams.invitees'));
        expect(logged.map((l) => ({ msg: l.msg, status: l.status, code: l.code }))).toEqual([{ msg: 'message teams.invitees 422 ANSWER_TOO_LARGE', status: 422, code: 'ANSWER_TOO_LARGE' }]);
        // asked in pages (probe 42 F5), it comes whole over NATS, as over HTTP: the same invitees in the same order
        // (each page well within max_payload: ~2 KB an invitee)
        const limit = Math.floor(max / 4_000);
        for (const transport of ['nats', 'http'] as const) {
          const paged: unknown[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page =
              transport === 'nats'
                ? JSON.parse(new TextDecoder().decode((await nc.request('teams.invitees', JSON.stringify({ apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId, teamId: team, limit, ...(cursor && { cursor }) }), { timeout: 5_000 })).data)).response
                : (await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams/${team}/invitees?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, as)).body;
            expect(page.items.length).toBeLessThanOrEqual(limit);
            paged.push(...page.items);
            cursor = page.nextCursor;
            pages++;
          } while (cursor !== undefined);
          expect(pages).toBe(Math.ceil(http.body.items.length / limit));
          expect(paged).toEqual(http.body.items);
        }
      } finally {
        await nc.close();
      }
    }, 120_000);
  });
} else {
  describe('NATS transport', () => {
    it('nats-server is not installed here (apt-get install nats-server to run the NATS e2e test); NATS_URL is still validated', () => {
      expect(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' }).natsUrl).toBe('nats://127.0.0.1:4222');
      expect(() => loadConfig({ NATS_URL: 'http://x' })).toThrow(/NATS_URL/);
    });
  });
}
