import type { ServerResponse } from 'node:http';
import { PRESENCE_EVENT_TYPES, fromStored, presenceStreamPrefix } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { workspaceStream } from '../shared/command-path/stream-states';
import { type PresenceBatch, type PresenceFeed, type PresenceMessage, presenceMessage } from './feed';

/** A comment line this often keeps proxies from closing an idle stream (docs/rules.md#presence-details). */
export const KEEP_ALIVE_MS = 15_000;
/** A subscriber that reads slower than this much is dropped; it resumes with Last-Event-ID and loses nothing. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How far back a resumed stream replays transitions by default (ROLLCALL_PRESENCE_REPLAY_SECONDS): an hour. */
export const DEFAULT_REPLAY_SECONDS = 3600;

/**
 * Sent first on a resumed stream when transitions it would replay are older than the replay window: the console reads
 * the member list again (the statuses as they are), then applies the transitions that follow. No `id`: the client's
 * last id moves with the transitions after it, then to the last position the catch-up read (`idFrame`) — an id ahead
 * of them would lose them to a connection cut between (probe 77 F6).
 */
const RESYNC_FRAME =
  'event: resync\ndata: {"reason":"transitions older than the replay window are not sent again: read the member list for the statuses as they are"}\n\n';
/** a frame of an id alone: EventSource takes it as its last event id and dispatches nothing (the HTML standard's "dispatch the event") */
const idFrame = (id: bigint): string => `id: ${id}\n\n`;

/**
 * One `text/event-stream` response of a workspace's presence transitions. Without `lastEventId`, transitions from
 * now on. With it, first the workspace's transitions after that position read from the log, then the live ones: the
 * live ones are collected from before the log is read, and each position is sent once, in order, so a client that
 * reconnects within the replay window loses nothing and sees nothing twice. Older transitions are not replayed (a
 * `resync` event says so), nor those of a user deleted since but the last (offline, reason `deleted`, or `revoked` when
 * they had left before: probe 119 F1) (probe 76 F4: `lastEventId=1` replayed every transition
 * since the workspace began, a deleted user's second-by-second trail among them — rule 12 keeps daily sums only).
 */
export class PresenceStreamSession {
  private sent: bigint;
  private unlisten: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly feed: PresenceFeed,
    private readonly store: EventStore,
    private readonly workspaceId: string,
    private readonly lastEventId: bigint | undefined,
    private readonly keepAliveMs = KEEP_ALIVE_MS,
    private readonly replayWindowMs = DEFAULT_REPLAY_SECONDS * 1000,
  ) {
    this.sent = lastEventId ?? -1n;
  }

  /** Streams until the client goes away or `close` is called; resolves once the live phase began. */
  async start(): Promise<void> {
    this.res.on('close', () => this.close());
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
      // nginx and friends: do not buffer the stream
      'X-Accel-Buffering': 'no',
      // a console page opens it from its own origin with a ticket (no cookies, nothing ambient): any origin may read
      'Access-Control-Allow-Origin': '*',
    });
    // HEAD (a balancer's or a proxy's probe): the stream's status and headers, and the answer ends. Node sends a HEAD's
    // headers only when its answer ends: it hung, its connection held, until the client gave up (probe 36 F2)
    if (this.res.req.method === 'HEAD') {
      this.closed = true;
      this.res.end();
      return;
    }
    this.res.write(': presence transitions\nretry: 2000\n\n');
    const pending: PresenceMessage[] = [];
    let live = false;
    this.unlisten = this.feed.listen(this.workspaceId, (batch) => (live ? this.sendBatch(batch) : pending.push(...batch.messages)));
    if (this.lastEventId !== undefined) {
      const missed = await this.catchUp(this.lastEventId);
      if (!missed) return;
      if (missed.tooOld) this.write(RESYNC_FRAME);
      for (const m of missed.messages) this.send(m);
      // past what the catch-up left out: a later resume starts there, not from the same old id again
      if (missed.lastRead !== undefined && missed.lastRead > this.sent) {
        this.sent = missed.lastRead;
        this.write(idFrame(missed.lastRead));
      }
    }
    for (const m of pending) this.send(m);
    live = true;
    // closed meanwhile (the client left, its reader lost authority, the process stops): no timer to leak
    if (this.closed) return;
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), this.keepAliveMs);
  }

  /**
   * The workspace's transitions after `after`, within the replay window and of users not deleted since; undefined when
   * the stream closed meanwhile. Held until the read ends (the window bounds them): a deletion read later drops its
   * user's earlier transitions.
   */
  private async catchUp(after: bigint): Promise<{ messages: PresenceMessage[]; tooOld: boolean; lastRead: bigint | undefined } | undefined> {
    const since = new Date(Date.now() - this.replayWindowMs).toISOString();
    const kept: { userId: string; message: PresenceMessage }[] = [];
    const deleted = new Set<string>();
    let tooOld = false;
    let lastRead: bigint | undefined;
    // the deletions are read from the workspace's stream too: a user revoked before being deleted ends no membership
    // there (no MembershipEnded in the presence streams), and their trail was replayed whole (probe 119 F1)
    const missed = this.store.readAll({
      fromPosition: after,
      filter: { eventTypes: [...PRESENCE_EVENT_TYPES, 'UserDeletedFromWorkspace'], streamPrefixes: [presenceStreamPrefix(this.workspaceId), workspaceStream(this.workspaceId)] },
    });
    for await (const recorded of missed) {
      if (this.closed) return undefined;
      lastRead = recorded.position;
      const event = fromStored(recorded);
      if (event?.type === 'UserDeletedFromWorkspace' && event.data.workspaceId === this.workspaceId) deleted.add(event.data.userId);
      if (event?.type === 'MembershipEnded' && event.data.reason === 'deleted') deleted.add(event.data.userId);
      if (event?.type !== 'PresenceChanged') continue;
      if (event.data.changedAt < since) tooOld = true;
      else {
        const message = presenceMessage(recorded, this.workspaceId);
        if (message) kept.push({ userId: event.data.userId, message });
      }
    }
    // a deleted user's last transition tells the console they are gone (offline, reason `deleted`; `revoked` when they
    // left before their deletion): kept, the rest of their trail not
    const last = new Map<string, PresenceMessage>();
    for (const k of kept) if (deleted.has(k.userId)) last.set(k.userId, k.message);
    return { messages: kept.filter((k) => !deleted.has(k.userId) || last.get(k.userId) === k.message).map((k) => k.message), tooOld, lastRead };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten?.();
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (!this.res.writableEnded) this.res.end();
  }

  private sendBatch(batch: PresenceBatch): void {
    if (batch.messages[0]!.position <= this.sent) {
      for (const m of batch.messages) this.send(m);
      return;
    }
    this.sent = batch.messages[batch.messages.length - 1]!.position;
    this.write(batch.frames);
  }

  private send(m: PresenceMessage): void {
    if (m.position <= this.sent) return;
    this.sent = m.position;
    this.write(m.frame);
  }

  private write(chunk: string | Buffer): void {
    if (this.closed) return;
    // A response corks its socket on a write and writes on the next tick. Corked here and uncorked at once, the
    // socket is written now: the fan-out's time slice (fanout.ts) then includes the system call it pays for.
    const socket = this.res.socket;
    socket?.cork();
    this.res.write(chunk);
    socket?.uncork();
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.close();
  }
}
