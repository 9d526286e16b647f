// The SSE session on a real HTTP server and a real embedded log: comment lines keep an idle stream open, and
// shutdown ends the open streams.
import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PresenceChanged, toStored } from '@rollcall/domain';
import { SqliteEventStore } from '@rollcall/event-store';
import { SseClient } from '../../../../test/support/presence-sse';
import { StreamStates } from '../shared/command-path/stream-states';
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
    // a replay window of an hour, as by default
    streams = new PresenceStreams(feed, store, 50, undefined, 3600_000);
    server = createServer((req, res) => {
      const resume = new URL(req.url ?? '/', 'http://x').searchParams.get('lastEventId');
      void streams.start(res, { organizationId: 'org-1', workspaceId: 'ws-1', authorize: async () => undefined }, resume === null ? undefined : BigInt(resume));
    });
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

  it('probe 76 F4: a resumed stream replays the last hour only (a resync event first when older ones are left out), and nothing of a user deleted since', async () => {
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const changed = (userId: string, changedAt: string): PresenceChanged => ({
      type: 'PresenceChanged',
      version: 1,
      data: { workspaceId: 'ws-1', organizationId: 'org-1', userId, status: 'online', previous: 'offline', reason: 'heartbeat', lastSeenAt: null, changedAt },
    });
    const head = await store.headPosition();
    let n = 0;
    const append = (stream: string, event: Parameters<typeof toStored>[0]) =>
      store.append(stream, [{ id: `00000000-0000-4000-8000-1000000000${String(n++).padStart(2, '0')}`, ...toStored(event, {}) }], 'any');
    await append('presence-ws-1-old', changed('old', at(2 * 3600_000)));
    await append('presence-ws-1-kept', changed('kept', at(60_000)));
    await append('presence-ws-1-gone', changed('gone', at(30_000)));
    await append('presence-ws-1-gone', { type: 'MembershipEnded', version: 1, data: { workspaceId: 'ws-1', organizationId: 'org-1', userId: 'gone', reason: 'deleted', endedAt: at(10_000) } });
    const ended = changed('gone', at(10_000));
    await append('presence-ws-1-gone', { ...ended, data: { ...ended.data, status: 'offline', previous: 'online', reason: 'deleted' } });
    const last = await store.headPosition();

    const resumed = await SseClient.open(`${url}?lastEventId=${head}`);
    try {
      await resumed.until((c) => c.messages.length >= 3);
      await resumed.until((c) => c.comments.includes('keep-alive'));
      // the deleted user's trail is left out; their last transition (gone: reason deleted) says they left
      expect(resumed.messages.map((m) => [m.event ?? m.data.reason, m.data.userId ?? m.data.reason])).toEqual([
        ['resync', expect.stringMatching(/^transitions older than the replay window/)],
        ['heartbeat', 'kept'],
        ['deleted', 'gone'],
      ]);
      // the resync carries no id (one ahead of the transitions after it would lose them to a cut: probe 77 F6); the
      // last position read comes after them, so a client resuming later starts from there
      expect(resumed.messages.map((m) => m.id)).toEqual([undefined, String(last - 3n), String(last)]);
      expect(resumed.lastEventId).toBe(String(last));
    } finally {
      resumed.close();
    }
    // resumed within the window: no resync
    const recent = await SseClient.open(`${url}?lastEventId=${last - 4n}`);
    try {
      await recent.until((c) => c.comments.includes('keep-alive'));
      expect(recent.messages.map((m) => m.event ?? m.data.userId)).toEqual(['kept', 'gone']);
    } finally {
      recent.close();
    }
  });

  it('probe 119 F1: of a user revoked and deleted later, a resumed stream replays the last transition only (offline, revoked), as of one deleted while a member', async () => {
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const changed = (userId: string, status: 'online' | 'away' | 'offline', reason: 'heartbeat' | 'revoked', msAgo: number): PresenceChanged => ({
      type: 'PresenceChanged',
      version: 1,
      data: { workspaceId: 'ws-1', organizationId: 'org-1', userId, status, previous: 'offline', reason, lastSeenAt: null, changedAt: at(msAgo) },
    });
    const head = await store.headPosition();
    let n = 0;
    const append = (stream: string, event: Parameters<typeof toStored>[0]) =>
      store.append(stream, [{ id: `00000000-0000-4000-8000-2000000000${String(n++).padStart(2, '0')}`, ...toStored(event, {}) }], 'any');
    await append('presence-ws-1-left', changed('left', 'online', 'heartbeat', 50_000));
    await append('presence-ws-1-stays', changed('stays', 'online', 'heartbeat', 45_000));
    await append('presence-ws-1-left', changed('left', 'away', 'heartbeat', 40_000));
    await append('presence-ws-1-left', { type: 'MembershipEnded', version: 1, data: { workspaceId: 'ws-1', organizationId: 'org-1', userId: 'left', reason: 'revoked', endedAt: at(30_000) } });
    await append('presence-ws-1-left', changed('left', 'offline', 'revoked', 30_000));
    // the deletion, later: no membership of theirs ends, nothing in their presence stream; the workspace's stream says it
    await append('workspace-ws-1', { type: 'UserDeletedFromWorkspace', version: 1, data: { workspaceId: 'ws-1', organizationId: 'org-1', userId: 'left', invitationIds: [], deletedAt: at(10_000) } });
    // another workspace's deletion of a user of the same id says nothing of this one's
    await append('workspace-ws-2', { type: 'UserDeletedFromWorkspace', version: 1, data: { workspaceId: 'ws-2', organizationId: 'org-1', userId: 'stays', invitationIds: [], deletedAt: at(10_000) } });
    const resumed = await SseClient.open(`${url}?lastEventId=${head}`);
    try {
      await resumed.until((c) => c.messages.length >= 2);
      await resumed.until((c) => c.comments.includes('keep-alive'));
      expect(resumed.messages.map((m) => [m.data.userId, m.data.status, m.data.reason])).toEqual([
        ['stays', 'online', 'heartbeat'],
        ['left', 'offline', 'revoked'],
      ]);
    } finally {
      resumed.close();
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
