import type { ServerResponse } from 'node:http';
import type { EventStore } from '@rollcall/event-store';
import { DomainException } from '../shared/command-path/stream-handler';
import { ProblemException, problem } from '../shared/http/problem';
import type { AuthorityChangeSeen, PresenceFeed } from './feed';
import { DEFAULT_REPLAY_SECONDS, PresenceStreamSession } from './sse';

/** Who reads a stream; `authorize` throws the refusal (a DomainException, or a 401 for a revoked key) when they may not (rule 1: the user list's permission). */
export interface StreamReader {
  organizationId: string;
  workspaceId: string;
  authorize(): Promise<void>;
}

/**
 * false only when the reader is refused now (a domain refusal, or their key revoked: a 401): another failure (a store
 * unreachable) is no reason to end a stream
 */
const mayStillRead = (reader: StreamReader): Promise<boolean> =>
  reader.authorize().then(
    () => true,
    (error: unknown) => !(error instanceof DomainException || (error instanceof ProblemException && error.problem.status === 401)),
  );

interface Open {
  session: PresenceStreamSession;
  reader: StreamReader;
}

/** How many streams may be open at once: per organization, and in all (config.ts presenceStreams*). */
export interface StreamLimits {
  perOrganization: number;
  max: number;
}

/**
 * The open SSE responses of this process: ended on shutdown (or the HTTP server would wait for them forever), and
 * when their reader loses the authority to read the workspace (revoked, demoted, deleted: the feed reports every
 * change of access, and the streams of that workspace check their reader again). A closed EventSource reconnects
 * with its ticket and is refused then.
 */
export class PresenceStreams {
  private readonly open = new Set<Open>();
  /** the streams open per organization (with those being authorized: counted from the moment they are listed) */
  private readonly perOrganization = new Map<string, number>();
  /** closeAll was called (the process stops): a stream that arrives later is refused, not held open */
  private closing = false;

  constructor(
    readonly feed: PresenceFeed,
    private readonly store: EventStore,
    private readonly keepAliveMs: number,
    private readonly limits: StreamLimits = { perOrganization: Number.POSITIVE_INFINITY, max: Number.POSITIVE_INFINITY },
    /** how far back a resumed stream replays transitions (ROLLCALL_PRESENCE_REPLAY_SECONDS) */
    private readonly replayWindowMs = DEFAULT_REPLAY_SECONDS * 1000,
  ) {
    feed.onAuthorityChanged = (change) => void this.checkReaders(change);
  }

  /**
   * `takeOver` is called once the stream is to be written on `res` itself (Fastify: `reply.hijack()`, so that it does
   * not answer the request too); a refusal before that is answered by the framework as any other.
   */
  async start(res: ServerResponse, reader: StreamReader, lastEventId: bigint | undefined, takeOver: () => void = () => {}): Promise<void> {
    // stopping: an empty stream that asks the client to come back (EventSource reconnects, to another replica, with
    // its Last-Event-ID), not one held open while the process waits for its connections to end
    if (this.closing) {
      takeOver();
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store, no-transform' }).end('retry: 2000\n\n');
      return;
    }
    this.refuseBeyondLimits(reader.organizationId);
    const session = new PresenceStreamSession(res, this.feed, this.store, reader.workspaceId, lastEventId, this.keepAliveMs, this.replayWindowMs);
    const entry = { session, reader };
    this.list(entry);
    res.on('close', () => this.unlist(entry));
    // authorized once the stream is listed: a change of access since the caller's check is either seen here or
    // reported to checkReaders, never lost in between
    try {
      await reader.authorize();
    } catch (error) {
      this.unlist(entry);
      throw error;
    }
    takeOver();
    try {
      await session.start();
    } catch (error) {
      // the headers are out: a failed catch-up read ends the stream; the client resumes with Last-Event-ID
      session.close();
      if (!res.headersSent) throw error;
    }
  }

  get count(): number {
    return this.open.size;
  }

  closeAll(): void {
    this.closing = true;
    for (const { session } of this.open) session.close();
    this.open.clear();
    this.perOrganization.clear();
  }

  /**
   * A stream is a socket held for as long as its client wants: one organization may not hold more than its share of
   * this process's (429, its own doing), nor all of them together more than the process can (503: another replica may
   * have room). Probe 37 F3: one key's 1,300 streams took every file descriptor, and every tenant's requests and
   * /health were reset.
   */
  private refuseBeyondLimits(organizationId: string): void {
    const held = this.perOrganization.get(organizationId) ?? 0;
    if (held >= this.limits.perOrganization)
      throw new ProblemException(
        problem(429, 'TOO_MANY_STREAMS', `Your organization holds ${held} presence streams open on this server, its limit: close one (an EventSource per console page and workspace is enough) or retry later.`),
      );
    if (this.open.size >= this.limits.max)
      throw new ProblemException(problem(503, 'STREAMS_AT_CAPACITY', `This server holds ${this.open.size} presence streams open, its limit: retry later, or on another replica.`));
  }

  private list(entry: Open): void {
    this.open.add(entry);
    const org = entry.reader.organizationId;
    this.perOrganization.set(org, (this.perOrganization.get(org) ?? 0) + 1);
  }

  /** once per entry (a stream refused, then closed, is unlisted once) */
  private unlist(entry: Open): void {
    if (!this.open.delete(entry)) return;
    const org = entry.reader.organizationId;
    const left = (this.perOrganization.get(org) ?? 1) - 1;
    if (left > 0) this.perOrganization.set(org, left);
    else this.perOrganization.delete(org);
  }

  /** the streams the change concerns check their reader; those refused now are closed */
  private async checkReaders(change: AuthorityChangeSeen): Promise<void> {
    const concerned = [...this.open].filter(({ reader }) =>
      'workspaceId' in change ? reader.workspaceId === change.workspaceId : reader.organizationId === change.organizationId,
    );
    for (const entry of concerned)
      if (!(await mayStillRead(entry.reader))) {
        entry.session.close();
        this.unlist(entry);
      }
  }
}
