import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventStore } from '@rollcall/event-store';
import { READ_SIDE, type ReadSide } from '../../infrastructure/read-side';
import { WAIT_MS, checkMinPositionInLog } from './read-access';
import { declaresProblem } from '../http/openapi';
import { EVENT_STORE } from '../tokens';

/**
 * The reads under /v1 that answer no position (as OpenAPI names their paths: the document says so too): the feeds
 * (their `head` and `next` are positions) and the presence stream (its messages' ids are). Outside /v1 nothing reads
 * the log (the documents, the health check, the metrics).
 */
export const READS_WITHOUT_POSITION: ReadonlySet<string> = new Set(['/v1/events', '/v1/organizations/{org}/events', '/v1/workspaces/{ws}/presence/stream']);

/** where ReadPositionGuard leaves the position a read began at, for answeredReadPosition */
const READ_BEGAN_AT = Symbol('the read models\' position when the read began');
type PositionedRequest = FastifyRequest & { [READ_BEGAN_AT]?: bigint };

/**
 * `X-Position` on the API's reads (probe 82 F3): a log position such that the answer includes every change up to it —
 * the position every read model has reached when the read begins (ReadSide.position). A read answered from the decision
 * states or the log includes more; none includes less. An auditor pins a list or a download to it, and a later read
 * with `X-Min-Position: <it>` sees at least that much (a review's "as of position P"). Absent while a read model is
 * being rebuilt. A read asked with `X-Min-Position` answers at least it (the read models are waited for first).
 *
 * The last of the global guards (app.module.ts): after authentication, so a refused request reads no checkpoint. It
 * refuses only a malformed X-Min-Position or one past the log's end; the header is set on a success by
 * answeredReadPosition (http-app.ts's `onSend` hook).
 * Not a Nest interceptor: any global interceptor puts every HTTP request through Nest's RxJS chain, ~30–40 % of the
 * main thread's time per heartbeat at saturation (docs/adr/0010, nineteenth pass).
 */
@Injectable()
export class ReadPositionGuard implements CanActivate {
  constructor(
    @Inject(READ_SIDE) private readonly readSide: ReadSide,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<PositionedRequest>();
    const route = req.routeOptions.url;
    // (Fastify's `:org` is OpenAPI's `{org}`: the routes' parameters are named alike)
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !route?.startsWith('/v1/') || READS_WITHOUT_POSITION.has(route.replace(/:(\w+)/g, '{$1}'))) return true;
    // a read asked with X-Min-Position: the position checked at once (malformed or past the log's end: 400, on every
    // read, also those answered from the decision states: probe 92 F5, one CSV took it and its sibling ignored it).
    // A read of the read models (it documents READ_MODEL_BEHIND) waits for them here, before the position it began at
    // is read, so that it is at least that one; not reached in time, it goes on, to be refused for what it is (a bad
    // field, no authority: probe 96 F1 got 503 for those) and then, by its handler's own check (ReadAccess.caughtUp,
    // at once over HTTP: this was the wait), 503 READ_MODEL_BEHIND — one wait, not two (probe 95 F3: 10 s). A read of
    // the decision states or the log waits for nothing (it holds every write up to the log's head, past the position
    // asked: probe 96 F3 waited 5 s for read models it does not read) and answers at least the position asked.
    const asked = req.headers['x-min-position'];
    let atLeast: bigint | undefined;
    if (asked !== undefined) {
      const [position] = await checkMinPositionInLog(Array.isArray(asked) ? asked.join(', ') : asked, this.events);
      if (!declaresProblem(context.getHandler(), 'READ_MODEL_BEHIND')) atLeast = BigInt(position);
      else if (!(await this.readSide.waitFor(BigInt(position), WAIT_MS))) return true;
    }
    const began = await this.readSide.position();
    if (began !== undefined && began >= 0n) req[READ_BEGAN_AT] = atLeast !== undefined && atLeast > began ? atLeast : began;
    return true;
  }
}

/** A read that succeeded answers the position ReadPositionGuard noted (a refusal answers none). */
export function answeredReadPosition(req: FastifyRequest, reply: FastifyReply): void {
  const began = (req as PositionedRequest)[READ_BEGAN_AT];
  if (began !== undefined && reply.statusCode < 400) void reply.header('X-Position', began.toString());
}
