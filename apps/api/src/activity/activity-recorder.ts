import { type CallHandler, type CanActivate, type ExecutionContext, Inject, Injectable, Logger, type NestInterceptor, type OnApplicationShutdown } from '@nestjs/common';
import { activeUser } from '@rollcall/domain';
import { type Observable, tap } from 'rxjs';
import type { AuthedRequest, Principal } from '../shared/auth';
import { CALLER } from '../shared/caller';
import { foldIdCase } from '../shared/http/dtos';
import { StreamStates } from '../shared/command-path/stream-states';
import { ACTIVITY_STORE, type ActivityKind, type ActivityMark, type ActivityStore } from './activity-store';

/** how often the marks of new days are written (a process that dies loses at most these: the next request marks again) */
const FLUSH_EVERY_MS = 2_000;
/** an acting user's id as a request names it: an id, never an address (as the request log takes it: shared/caller.ts) */
const ACTOR_ID = /^[\w.:-]{1,128}$/;

const DAY_MS = 86_400_000;
let day = { on: '', endsAt: 0 };
/** the UTC day, its text made once a day (every request asks: a Date and its ISO text each time showed in profiles) */
const today = (): string => {
  const now = Date.now();
  if (now >= day.endsAt || now < day.endsAt - DAY_MS) day = { on: new Date(now).toISOString().slice(0, 10), endsAt: (Math.floor(now / DAY_MS) + 1) * DAY_MS };
  return day.on;
};

/**
 * Marks the day a key was used and the day a user acted (activity-store.ts, docs/adr/0036): once per key or user per
 * day and process — a Map lookup on every request, a write on the first of each day, gathered every 2 s. A user's
 * mark is kept only for a request that succeeded and a user of the key's organization (a made-up X-Actor-Id marks
 * nobody).
 */
@Injectable()
export class ActivityRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('ActivityRecorder');
  /** `kind:org:id` → the day marked by this process */
  private readonly marked = new Map<string, string>();
  /** the day `marked` is of */
  private day = '';
  private pending: ActivityMark[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    @Inject(ACTIVITY_STORE) private readonly store: ActivityStore,
    @Inject(StreamStates) private readonly states: StreamStates,
  ) {}

  keyUsed(organizationId: string, keyId: string): void {
    this.mark('key', organizationId, keyId);
  }

  userActed(organizationId: string, userId: string): void {
    if (ACTOR_ID.test(userId)) this.mark('user', organizationId, userId);
  }

  /**
   * the last day of each of `ids` (none: never, or not since session 54); `reader`: the user whose authorized request
   * reads it. The marks not written yet are written first: an org admin who acted, then lists the users, sees their own day, not null for up to 2 s (a list
   * over HTTP and the same over TCP a moment later disagreed: CI127)
   */
  async lastOn(organizationId: string, kind: ActivityKind, ids: readonly string[], reader?: string): Promise<Map<string, string>> {
    // the read's own reader, authorized by now: their request counts in its own answer (probe 84 F3: an org admin's
    // first read of the users showed them not active that day, their mark made only once the read had answered)
    if (reader !== undefined) this.userActed(organizationId, reader);
    // (a microtask when nothing is gathered; one in flight is waited for)
    await this.flush();
    return this.store.lastOn(organizationId, kind, ids);
  }

  /** writes the marks gathered so far (tests, shutdown) */
  async flush(): Promise<void> {
    await this.flushing;
    const marks = this.pending;
    this.pending = [];
    if (marks.length === 0) return;
    this.flushing = this.write(marks);
    await this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    await this.store.close();
  }

  private mark(kind: ActivityKind, organizationId: string, id: string): void {
    const on = today();
    // a new day: yesterday's marks are no use (and the Map holds one day's keys and users, not every one ever seen)
    if (on !== this.day) {
      this.marked.clear();
      this.day = on;
    }
    const key = `${kind}:${organizationId}:${id}`;
    if (this.marked.get(key) === on) return;
    this.marked.set(key, on);
    this.pending.push({ organizationId, kind, id, on });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_EVERY_MS).unref();
  }

  private async write(marks: ActivityMark[]): Promise<void> {
    try {
      const kept: ActivityMark[] = [];
      for (const m of marks) if (m.kind === 'key' || activeUser(await this.states.organizationCached(m.organizationId), m.id)) kept.push(m);
      await this.store.record(kept);
    } catch (error) {
      // marked again by the next request of each (a store unreachable for a moment loses no day for good)
      for (const m of marks) this.marked.delete(`${m.kind}:${m.organizationId}:${m.id}`);
      this.logger.warn(`activity marks not written (${(error as Error).message}): the next request of each marks its day again`);
    }
  }
}

/** who made a request or a message, as the API key check left it, and the user it names */
function callerOf(context: ExecutionContext): { principal: Principal | undefined; actor: unknown } {
  if (context.getType() === 'http') {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    return { principal: req.principal, actor: req.headers['x-actor-id'] };
  }
  const payload = context.switchToRpc().getData<({ actorId?: unknown } & Record<symbol, unknown>) | undefined>();
  return typeof payload === 'object' && payload !== null ? { principal: payload[CALLER] as Principal | undefined, actor: payload.actorId } : { principal: undefined, actor: undefined };
}

/** the acting user of a request that succeeded, as it was authorized: an id in capitals is the lower-case one (probe 84 F1) */
function markActed(recorder: ActivityRecorder, principal: Principal | undefined, actor: unknown): void {
  if (principal?.kind === 'organization' && typeof actor === 'string') recorder.userActed(principal.organizationId, foldIdCase(actor));
}

/**
 * Every request and message past the API key check (and the declared-input check: the global guard after them, in
 * app.module.ts): its key marked used. Before the handler, so a read of the keys counts the key reading them.
 */
@Injectable()
export class KeyUseGuard implements CanActivate {
  constructor(@Inject(ActivityRecorder) private readonly recorder: ActivityRecorder) {}

  canActivate(context: ExecutionContext): boolean {
    const { principal } = callerOf(context);
    if (principal?.kind === 'organization') this.recorder.keyUsed(principal.organizationId, principal.keyId);
    return true;
  }
}

/**
 * An HTTP request's acting user marked once it succeeded (http-app.ts's `onSend` hook: the answer is about to be
 * written, as a Nest interceptor's success would see it). Not an interceptor: docs/adr/0010, nineteenth pass.
 */
export function markHttpActivity(recorder: ActivityRecorder, req: AuthedRequest, statusCode: number): void {
  if (statusCode < 400) markActed(recorder, req.principal, req.headers['x-actor-id']);
}

/** A message's acting user marked once it succeeded (message patterns only: shared/http/message-route.ts). */
@Injectable()
export class MessageActivityInterceptor implements NestInterceptor {
  constructor(@Inject(ActivityRecorder) private readonly recorder: ActivityRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { principal, actor } = callerOf(context);
    if (principal?.kind !== 'organization' || typeof actor !== 'string') return next.handle();
    return next.handle().pipe(tap({ next: () => markActed(this.recorder, principal, actor) }));
  }
}
