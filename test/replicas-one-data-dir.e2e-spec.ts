// Two API processes over one embedded data dir (docs/adr/0011), on two ports, both configured to publish integration
// events: one publishes at a time (here over TCP: the `publisher_tcp` lease), every event is published once, also an event the other
// process appended while the publisher had nothing to do (its subscription wakes only for its own appends); and both
// sign the one log under one name (the data dir's `audit-origin`), whichever holds the notary's lease.
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, type MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { SYSTEM_KEY } from './support/api';
import { type ServerProcess, startServer } from './support/server-process';

const received: { eventId: string; type: string; position: string }[] = [];

type Received = (typeof received)[number];
const take = (event: Received) =>
  received.push({ eventId: event.eventId, type: event.type, position: event.position });

@Controller()
class Consumer {
  @EventPattern('rollcall.events.OrganizationCreated')
  organization(@Payload() event: Received) {
    take(event);
  }
  @EventPattern('rollcall.events.WorkspaceCreated')
  workspace(@Payload() event: Received) {
    take(event);
  }
  @EventPattern('rollcall.events.UserInvited')
  invited(@Payload() event: Received) {
    take(event);
  }
}
@Module({ controllers: [Consumer] })
class ConsumerModule {}

/** ports free now (each taken by a listener, then let go) */
const freePorts = async (n: number): Promise<number[]> => {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
};

const until = async (what: string, done: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms; received ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('two processes over one data dir, on two ports', () => {
  let dataDir: string;
  let servers: ServerProcess[] = [];
  let listener: Awaited<ReturnType<typeof NestFactory.createMicroservice>>;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-publisher-'));
    listener = await NestFactory.createMicroservice<MicroserviceOptions>(ConsumerModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: 0 },
      logger: false,
    });
    await listener.listen();
    const port = listener.unwrap<{ address(): { port: number } }>().address().port;
    // two ports, and the public URL left to its default (http://localhost:$PORT): what differs between replicas
    const [p1, p2] = await freePorts(2);
    const env = (httpPort: number) => ({
      PORT: String(httpPort),
      ROLLCALL_PUBLIC_URL: '',
      ROLLCALL_EVENTS_TCP_TARGET: `127.0.0.1:${port}`,
      ROLLCALL_AUDIT_CHECKPOINT_MS: '100',
    });
    servers = await Promise.all([
      startServer({ dataDir, env: env(p1!) }),
      startServer({ dataDir, env: env(p2!) }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await listener.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('each event once, whichever process appended it, also while the publishing process is idle', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const org = await a.api.request('POST', '/v1/organizations', {
      key: SYSTEM_KEY,
      body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } },
    });
    const {
      apiKey: key,
      adminUserId: admin,
      organizationId,
    } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
    const ws = await b.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, {
      key,
      actor: admin,
      body: { name: 'Support' },
    });
    const positions: string[] = [];
    // one invitation at a time through each process, after a pause: one of the two is not the publisher, and the
    // publisher has nothing of its own to wake it
    for (const [i, server] of [a, b, a, b].entries()) {
      await new Promise((r) => setTimeout(r, 400));
      const invited = await server.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, {
        key,
        actor: admin,
        body: { email: `p${i}@acme.test` },
      });
      expect(invited.status).toBe(201);
      positions.push(String(invited.body.position));
      await until(
        `the invitation through process ${i % 2 === 0 ? 'a' : 'b'}`,
        () => received.some((e) => e.position === String(invited.body.position)),
        5000,
      );
    }
    await until('the organization and the workspace', () =>
      ['OrganizationCreated', 'WorkspaceCreated'].every((t) => received.some((e) => e.type === t)),
    );
    // time for a second publisher to send them again, if there were one
    await new Promise((r) => setTimeout(r, 1500));
    const ids = received.map((e) => e.eventId);
    expect(received.map((e) => e.type)).toEqual([
      'OrganizationCreated',
      'WorkspaceCreated',
      'UserInvited',
      'UserInvited',
      'UserInvited',
      'UserInvited',
    ]);
    expect(received.slice(2).map((e) => e.position)).toEqual(positions);
    expect(new Set(ids).size).toBe(ids.length);
    const order = received.map((e) => BigInt(e.position));
    expect(order).toEqual([...order].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  }, 60_000);

  it('verifiable history: both publish one verifier key, and the checkpoints name the log as it does, whichever process signed them', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const keys = await Promise.all(
      [a, b].map(async (s) => (await s.api.request('GET', '/v1/audit/public-key')).body.trim() as string),
    );
    expect(keys[1]).toBe(keys[0]);
    const name = keys[0]!.split('+')[0]!;
    const checkpoint = async (s: ServerProcess) => {
      for (let i = 0; i < 50; i++) {
        const reply = await s.api.request('GET', '/v1/audit/checkpoint', { key: SYSTEM_KEY });
        if (reply.status === 200) return String(reply.body);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no checkpoint');
    };
    for (const s of [a, b]) expect((await checkpoint(s)).split('\n')[0]).toBe(name);
  }, 30_000);
});
