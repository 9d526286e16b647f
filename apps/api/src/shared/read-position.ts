import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Observable, tap } from 'rxjs';
import { READ_SIDE, type ReadSide } from '../infrastructure/read-side';

/**
 * The reads that answer no position: the feeds (their `head` and `next` are positions), the presence stream (its
 * messages' ids are), and what reads nothing of the log (the documents, the health check, the metrics)
 */
const NO_POSITION = /^\/v1\/(?:events|organizations\/[^/]+\/events|workspaces\/[^/]+\/presence\/stream)$/;

/**
 * `X-Position` on the API's reads (probe 82 F3): a log position such that the answer includes every change up to it —
 * the position every read model has reached when the read begins (ReadSide.position). A read answered from the decision
 * states or the log includes more; none includes less. An auditor pins a list or a download to it, and a later read
 * with `X-Min-Position: <it>` sees at least that much (a review's "as of position P"). Absent while a read model is
 * being rebuilt. A read asked with `X-Min-Position` answers at least it (the read waited for it). After
 * authentication (an interceptor runs after the guards): a refused request reads no checkpoint.
 */
@Injectable()
export class ReadPositionInterceptor implements NestInterceptor {
  constructor(@Inject(READ_SIDE) private readonly readSide: ReadSide) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const route = req.routeOptions.url;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !route?.startsWith('/v1/') || NO_POSITION.test(route.replace(/:[^/]+/g, 'x'))) return next.handle();
    const before = await this.readSide.position();
    // a read asked with X-Min-Position waited for it (or, from the decision states, read past it) before answering
    const asked = req.headers['x-min-position'];
    const min = typeof asked === 'string' && /^\d{1,19}$/.test(asked) ? BigInt(asked) : undefined;
    return next.handle().pipe(
      tap(() => {
        const position = before === undefined ? undefined : min !== undefined && min > before ? min : before;
        if (position !== undefined && position >= 0n) void http.getResponse<FastifyReply>().header('X-Position', position.toString());
      }),
    );
  }
}
