// The SSE session on a real HTTP server and a real embedded log: comment lines keep an idle stream open, and
// shutdown ends the open streams.
import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PresenceChanged, toStored } from '@rollcall/domain';
import { SqliteEventStore } from '@rollcall/event-store';
import { SseClient } from '../../../../test/support/presence-sse';
import { StreamStates } from '../shared/stream-states';
import { PresenceFeed } from './feed';
import { PresenceStreams } from './presence-streams';

describe('rule 13: the presence stream session', () => {
  let dir: string;
  let store: SqliteEventStore;
  let feed: PresenceFeed;
  let streams: PresenceStreams;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-sse-'));
    store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    feed = new PresenceFeed(store, new StreamStates(store));
    await feed.start();
    streams = new PresenceStreams(feed, store, 50);
    server = createServer((req, res) => void streams.start(res, { organizationId: 'org-1', workspaceId: 'ws-1', authorize: async () => undefined }, undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    streams.closeAll();
    await new Promise((r) => server.close(r));
    await feed.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a comment line every keep-alive period while nothing happens', async () => {
    const client = await SseClient.open(url);
    try {
      await client.until((c) => c.comments.filter((x) => x === 'keep-alive').length >= 3, 2000);
      expect(client.messages).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a fan-out to 250 subscribers gives every subscriber every transition, once, in log order', async () => {
    const clients = await Promise.all(Array.from({ length: 250 }, () => SseClient.open(url)));
    try {
      await Promise.all(clients.map((c) => c.until((x) => x.comments.length > 0)));
      const changed = (i: number): PresenceChanged => ({
        type: 'PresenceChanged',
        version: 1,
        data: { workspaceId: 'ws-1', organizationId: 'org-1', userId: `u${i}`, status: 'online', previous: 'offline', reason: 'heartbeat', lastSeenAt: null, changedAt: new Date(0).toISOString() },
      });
      // five transitions appended at once: the feed delivers the next one while the first is still fanning out
      await Promise.all([0, 1, 2, 3, 4].map((i) => store.append(`presence-ws-1-u${i}`, [{ id: `00000000-0000-4000-8000-00000000000${i}`, ...toStored(changed(i), {}) }], 'no_stream')));
      await Promise.all(clients.map((c) => c.until((x) => x.messages.length >= 5)));
      const expected = clients[0]!.messages.map((m) => m.id);
      expect(expected.map(Number)).toEqual(expected.map(Number).sort((x, y) => x - y));
      for (const c of clients) expect(c.messages.map((m) => m.id)).toEqual(expected);
    } finally {
      for (const c of clients) c.close();
    }
  }, 20_000);

  it('ends every open stream on shutdown (closeAll), so the HTTP server can close', async () => {
    const client = await SseClient.open(url);
    await client.until((c) => c.comments.length > 0);
    expect(streams.count).toBe(1);
    streams.closeAll();
    await expect(client.until(() => false, 2000)).rejects.toThrow(/stream ended/);
    expect(streams.count).toBe(0);
  });
});
