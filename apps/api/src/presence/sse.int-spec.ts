// The SSE session on a real HTTP server and a real embedded log: comment lines keep an idle stream open, and
// shutdown ends the open streams.
import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'express';
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
    server = createServer((req, res) => void streams.open(res as unknown as Response, 'ws-1', undefined));
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

  it('ends every open stream on shutdown (closeAll), so the HTTP server can close', async () => {
    const client = await SseClient.open(url);
    await client.until((c) => c.comments.length > 0);
    expect(streams.count).toBe(1);
    streams.closeAll();
    await expect(client.until(() => false, 2000)).rejects.toThrow(/stream ended/);
    expect(streams.count).toBe(0);
  });
});
