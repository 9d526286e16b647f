import type { Response } from 'express';
import type { EventStore } from '@rollcall/event-store';
import type { PresenceFeed } from './feed';
import { PresenceStreamSession } from './sse';

/** The open SSE responses of this process: ended on shutdown, or the HTTP server would wait for them forever. */
export class PresenceStreams {
  private readonly sessions = new Set<PresenceStreamSession>();

  constructor(
    readonly feed: PresenceFeed,
    private readonly store: EventStore,
    private readonly keepAliveMs: number,
  ) {}

  async open(res: Response, workspaceId: string, lastEventId: bigint | undefined): Promise<void> {
    const session = new PresenceStreamSession(res, this.feed, this.store, workspaceId, lastEventId, this.keepAliveMs);
    this.sessions.add(session);
    res.on('close', () => this.sessions.delete(session));
    try {
      await session.start();
    } catch (error) {
      // the headers are out: a failed catch-up read ends the stream; the client resumes with Last-Event-ID
      session.close();
      if (!res.headersSent) throw error;
    }
  }

  get count(): number {
    return this.sessions.size;
  }

  closeAll(): void {
    for (const session of this.sessions) session.close();
    this.sessions.clear();
  }
}
