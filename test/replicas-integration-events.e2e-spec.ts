// Integration events with two API processes over one embedded data dir (docs/adr/0011), both configured to publish:
// one publishes at a time (the `publisher` lease), every event is published once, also an event the other process
// appended while the publisher had nothing to do (its subscription wakes only for its own appends).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, type MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { SYSTEM_KEY } from './support/app';
import { type ServerProcess, startServers } from './support/server-process';

const received: { eventId: string; type: string; position: string }[] = [];

type Received = (typeof received)[number];
const take = (event: Received) => received.push({ eventId: event.eventId, type: event.type, position: event.position });

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

const until = async (what: string, done: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; received ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('integration events from two processes over one data dir', () => {
  let dataDir: string;
  let servers: ServerProcess[] = [];
  let listener: Awaited<ReturnType<typeof NestFactory.createMicroservice>>;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-publisher-'));
    listener = await NestFactory.createMicroservice<MicroserviceOptions>(ConsumerModule, { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 }, logger: false });
    await listener.listen();
    const port = listener.unwrap<{ address(): { port: number } }>().address().port;
    servers = await startServers(2, { dataDir, env: { ROLLCALL_EVENTS_TCP_TARGET: `127.0.0.1:${port}` } });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await listener.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('each event once, whichever process appended it, also while the publishing process is idle', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const org = await a.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
    const { apiKey: key, adminUserId: admin, organizationId } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
    const ws = await b.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } });
    const positions: string[] = [];
    // one invitation at a time through each process, after a pause: one of the two is not the publisher, and the
    // publisher has nothing of its own to wake it
    for (const [i, server] of [a, b, a, b].entries()) {
      await new Promise((r) => setTimeout(r, 400));
      const invited = await server.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, { key, actor: admin, body: { email: `p${i}@acme.test` } });
      expect(invited.status).toBe(201);
      positions.push(String(invited.body.position));
      await until(`the invitation through process ${i % 2 === 0 ? 'a' : 'b'}`, () => received.some((e) => e.position === String(invited.body.position)), 5000);
    }
    await until('the organization and the workspace', () => ['OrganizationCreated', 'WorkspaceCreated'].every((t) => received.some((e) => e.type === t)));
    // time for a second publisher to send them again, if there were one
    await new Promise((r) => setTimeout(r, 1500));
    const ids = received.map((e) => e.eventId);
    expect(received.map((e) => e.type)).toEqual(['OrganizationCreated', 'WorkspaceCreated', 'UserInvited', 'UserInvited', 'UserInvited', 'UserInvited']);
    expect(received.slice(2).map((e) => e.position)).toEqual(positions);
    expect(new Set(ids).size).toBe(ids.length);
    const order = received.map((e) => BigInt(e.position));
    expect(order).toEqual([...order].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  }, 60_000);
});
