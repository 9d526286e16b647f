// Two transports, one checkpoint each (probe 38 F3, docs/adr/0022-one-checkpoint-per-transport.md): a TCP consumer that is
// down holds only the TCP transport. A real nats-server and a raw NATS subscriber; a TCP consumer that is at first not
// there, then a raw TCP server reading Nest's frames (`<length>#<json>`), as a consumer in another language would.
import type { ChildProcess } from 'node:child_process';
import { type Server, createServer } from 'node:net';
import { loadConfig } from '../apps/api/src/config';
import { type TestApp, startTestApp } from './support/app';
import { freePort, natsBinary, startNats } from './support/nats';

const waitFor = async (what: string, condition: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** a TCP consumer: the event ids of the frames it read, and each frame's position and previousPosition */
function tcpConsumer(port: number): Promise<{ ids: string[]; chain: [position: string, previous: string | null][]; server: Server }> {
  const ids: string[] = [];
  const chain: [string, string | null][] = [];
  const server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let hash = buffer.indexOf('#'); hash > 0; hash = buffer.indexOf('#')) {
        const length = Number(buffer.slice(0, hash));
        if (buffer.length < hash + 1 + length) break;
        const message = JSON.parse(buffer.slice(hash + 1, hash + 1 + length)) as { data: { eventId: string; position: string; previousPosition: string | null } };
        ids.push(message.data.eventId);
        chain.push([message.data.position, message.data.previousPosition]);
        buffer = buffer.slice(hash + 1 + length);
      }
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ ids, chain, server })));
}

if (natsBinary) {
  describe('integration events on NATS and TCP: each transport has its own checkpoint', () => {
    let nats: ChildProcess;
    let url: string;
    let tcpPort: number;
    let app: TestApp;
    let consumer: Awaited<ReturnType<typeof tcpConsumer>> | undefined;

    beforeAll(async () => {
      ({ url, process: nats } = await startNats());
      tcpPort = await freePort();
      app = await startTestApp({ NATS_URL: url, ROLLCALL_EVENTS_TCP_TARGET: `127.0.0.1:${tcpPort}` });
    }, 20_000);
    afterAll(async () => {
      await app?.stop();
      consumer?.server.close();
      nats?.kill();
    });

    it('probe 38 F3: while the TCP consumer is down NATS consumers get every event; the TCP consumer gets them all when it is back', async () => {
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      const overNats: string[] = [];
      const sub = nc.subscribe('rollcall.events.>');
      void (async () => {
        for await (const m of sub) overNats.push((JSON.parse(new TextDecoder().decode(m.data)) as { data: { eventId: string } }).data.eventId);
      })();
      await nc.flush();
      await app.api.organization();
      const head = (await app.api.request('GET', '/v1/events?limit=1000', { key: 'rk_system_e2e-test-system-key-0123456789' })).body;
      const published = (head.items as { eventId: string }[]).map((e) => e.eventId);
      expect(published.length).toBeGreaterThanOrEqual(3);

      // NATS went on past the event the TCP transport is stuck on
      await waitFor('every event over NATS', () => published.every((id) => overNats.includes(id)));
      const health = async () => (await app.api.request('GET', '/health')).body.info.integrationEvents;
      await waitFor('the TCP transport refused twice', async () => (await health()).transports.tcp.failedSends >= 2);
      const stuck = await health();
      expect(stuck.transports.nats).toEqual({ state: 'running', consecutiveFailures: 0, failedSends: 0, checkpoint: head.head, behind: 0 });
      // (none yet: nothing of this fresh log was taken over TCP)
      const tcpAt: string | undefined = stuck.transports.tcp.checkpoint;
      expect(tcpAt === undefined || BigInt(tcpAt) < BigInt(head.head)).toBe(true);
      expect(stuck.transports.tcp.behind).toBeGreaterThan(0);
      // the whole: the transport furthest behind; a transport refusing is retrying (probe 39c F2)
      expect(stuck.transports.tcp.state).toBe('retrying');
      expect(stuck).toMatchObject({ status: 'up', state: 'retrying', behind: stuck.transports.tcp.behind });
      expect(stuck.checkpoint).toBe(tcpAt);

      // the TCP consumer comes up: it gets what it missed, in log order
      consumer = await tcpConsumer(tcpPort);
      await waitFor('every event over TCP', () => published.every((id) => consumer!.ids.includes(id)), 15_000);
      expect(consumer.ids.filter((id) => published.includes(id))).toEqual(published);
      // each frame names the one this transport sent before it (its start: nothing, on this fresh log), as over NATS
      // (docs/api.md "A consumer that mirrors Rollcall": a gap shows at the next event)
      expect(consumer.chain.map(([, previous]) => previous)).toEqual([null, ...consumer.chain.slice(0, -1).map(([position]) => position)]);
      await waitFor('the TCP transport caught up', async () => (await health()).transports.tcp.behind === 0);
      expect((await health()).transports.tcp).toEqual({ state: 'running', consecutiveFailures: 0, failedSends: 0, checkpoint: head.head, behind: 0 });
      await nc.close();
    }, 30_000);
  });
} else {
  describe('integration events on NATS and TCP', () => {
    it('nats-server is not installed here (apt-get install nats-server to run this e2e test); both transports are still configurable together', () => {
      const config = loadConfig({ NATS_URL: 'nats://127.0.0.1:4222', ROLLCALL_EVENTS_TCP_TARGET: '127.0.0.1:4100' });
      expect([config.natsUrl, config.eventsTcpTarget]).toEqual(['nats://127.0.0.1:4222', { host: '127.0.0.1', port: 4100 }]);
    });
  });
}
