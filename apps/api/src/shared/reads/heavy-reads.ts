import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor, SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { Config } from '../../config';
import type { Principal } from '../auth';
import { ApiProblems } from '../http/openapi';
import { ProblemException, problem } from '../http/problem';
import { APP_CONFIG } from '../tokens';

/**
 * The reads that hold this process's event loop for a long time — CSV downloads of a whole list, answers replayed from
 * the log (the roster, a member's access: now or as of a past time) — run at most `ROLLCALL_HEAVY_READS_PER_ORGANIZATION` at once per organization in a
 * process (default 2); another is `429 TOO_MANY_HEAVY_READS` (`Retry-After: 2`). The API is one event loop shared by
 * every organization: 8 connections of one organization's key downloading its 19,000-member list (470 ms each) held
 * every other organization's invitations 2.8–4.2 s, and point-in-time rosters 0.6–1.1 s (probe 59). Two at a time
 * leave a console's export or audit to wait a second, and another organization a heavy read's length at most per
 * request. The system key (the operator) is not counted; no message pattern (TCP, NATS) offers one of these reads.
 */
@Injectable()
export class HeavyReads {
  private readonly running = new Map<string, number>();
  readonly perOrganization: number;

  constructor(@Inject(APP_CONFIG) config: Pick<Config, 'heavyReadsPerOrganization'>) {
    this.perOrganization = config.heavyReadsPerOrganization;
  }

  /** a slot for the organization, and its release (idempotent); undefined when it holds them all */
  enter(organizationId: string): (() => void) | undefined {
    const held = this.running.get(organizationId) ?? 0;
    if (held >= this.perOrganization) return undefined;
    this.running.set(organizationId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(organizationId) ?? 1) - 1;
      if (left > 0) this.running.set(organizationId, left);
      else this.running.delete(organizationId);
    };
  }

  /** how many run now for the organization (tests, diagnostics) */
  heldBy(organizationId: string): number {
    return this.running.get(organizationId) ?? 0;
  }
}

const HEAVY_READ = 'rollcall:heavy-read';
type Heavy = (query: Record<string, unknown>) => boolean;

/** Holds a slot of HeavyReads for the request until its answer ends (sent whole, or the connection closed). */
@Injectable()
export class HeavyReadLimiter implements NestInterceptor {
  constructor(
    @Inject(HeavyReads) private readonly reads: HeavyReads,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const heavy = this.reflector.get<Heavy | undefined>(HEAVY_READ, context.getHandler());
    const req = context.switchToHttp().getRequest<{ principal?: Principal; query?: Record<string, unknown> }>();
    const principal = req.principal;
    if (principal?.kind !== 'organization' || !heavy?.(req.query ?? {})) return next.handle();
    const release = this.reads.enter(principal.organizationId);
    if (!release)
      throw new ProblemException(
        problem(
          429,
          'TOO_MANY_HEAVY_READS',
          `Your organization runs ${this.reads.perOrganization} downloads or point-in-time reads on this server already, its limit: retry once one has ended.`,
        ),
      );
    // Node's response (Fastify's reply wraps it) emits 'close' after the last byte of the answer (a streamed CSV's
    // too), or when the client went away before it
    const reply = context.switchToHttp().getResponse<{ raw: NodeJS.EventEmitter }>();
    reply.raw.once('close', release);
    return next.handle();
  }
}

/**
 * Marks a read as heavy (HeavyReads): always, or when `when` says so of its query (`format=csv` of a list that is
 * otherwise paged). Documents the 429.
 */
export const HeavyRead = (when: Heavy = () => true) =>
  applyDecorators(SetMetadata(HEAVY_READ, when), UseInterceptors(HeavyReadLimiter), ApiProblems('TOO_MANY_HEAVY_READS'));

/** the query of a list asked as CSV */
export const asCsv: Heavy = (query) => query.format === 'csv';
