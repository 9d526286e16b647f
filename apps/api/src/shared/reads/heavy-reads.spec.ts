import { EventEmitter } from 'node:events';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { of } from 'rxjs';
import { HeavyReadLimiter, HeavyReads, asCsv } from './heavy-reads';
import { ProblemException } from '../http/problem';

/** a request of `principal` to a handler marked heavy `when`, its answer an emitter that closes when the test says */
function request(limiter: HeavyReadLimiter, principal: unknown, query: Record<string, unknown> = {}) {
  const raw = new EventEmitter();
  const context = {
    getType: () => 'http',
    getHandler: () => 'handler',
    switchToHttp: () => ({ getRequest: () => ({ principal, query }), getResponse: () => ({ raw }) }),
  } as unknown as ExecutionContext;
  const next: CallHandler = { handle: () => of('answer') };
  return { run: () => limiter.intercept(context, next), close: () => raw.emit('close') };
}

const limiterOf = (perOrganization: number, when: (query: Record<string, unknown>) => boolean = () => true) => {
  const reads = new HeavyReads({ heavyReadsPerOrganization: perOrganization });
  const reflector = { get: () => when } as unknown as Reflector;
  return { reads, limiter: new HeavyReadLimiter(reads, reflector) };
};

const org = (organizationId: string) => ({ kind: 'organization', organizationId, keyId: 'k' });
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof ProblemException ? { status: error.problem.status, code: error.problem.code, detail: error.problem.detail } : error;
  }
  return 'not refused';
};

describe('heavy reads (CSV downloads, point-in-time answers): at most ROLLCALL_HEAVY_READS_PER_ORGANIZATION at once per organization (probe 59)', () => {
  it('the next one of the same organization is 429 TOO_MANY_HEAVY_READS until one has ended (its answer closed); another organization is not held', () => {
    const { reads, limiter } = limiterOf(2);
    const [a, b, c] = [request(limiter, org('o1')), request(limiter, org('o1')), request(limiter, org('o1'))];
    a.run();
    b.run();
    expect(refusal(() => c.run())).toEqual({
      status: 429,
      code: 'TOO_MANY_HEAVY_READS',
      detail: 'Your organization runs 2 downloads or point-in-time reads on this server already, its limit: retry once one has ended.',
    });
    expect(refusal(() => request(limiter, org('o2')).run())).toBe('not refused');
    a.close();
    a.close(); // a second close releases nothing more
    expect(reads.heldBy('o1')).toBe(1);
    expect(refusal(() => c.run())).toBe('not refused');
    expect(refusal(() => request(limiter, org('o1')).run())).toMatchObject({ code: 'TOO_MANY_HEAVY_READS' });
    b.close();
    c.close();
    expect(reads.heldBy('o1')).toBe(0);
  });

  it('the system key is not counted, nor a read its query does not make heavy (a paged history, not its CSV)', () => {
    const { reads, limiter } = limiterOf(1, asCsv);
    for (let i = 0; i < 3; i++) expect(refusal(() => request(limiter, { kind: 'system' }, { format: 'csv' }).run())).toBe('not refused');
    for (let i = 0; i < 3; i++) expect(refusal(() => request(limiter, org('o1'), { limit: '50' }).run())).toBe('not refused');
    expect(reads.heldBy('o1')).toBe(0);
    request(limiter, org('o1'), { format: 'csv' }).run();
    expect(refusal(() => request(limiter, org('o1'), { format: 'csv' }).run())).toMatchObject({ status: 429 });
  });
});
